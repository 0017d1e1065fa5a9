//! The admins' policy page: when the AI answers and when it hands off. The
//! confidence threshold, sensitive categories, rules, the generator and
//! support hours, with a replay of past decisions under the edited policy
//! before it is saved.

mod actions;
mod api;
mod categories;
mod conditions;
mod generator;
mod hours;
mod human_request;
mod replay;
mod rules;
mod threshold;
mod waiting;

use actions::*;
pub use api::*;
use categories::*;
use conditions::*;
use generator::*;
use hours::*;
use human_request::*;
use replay::*;
use rules::*;
use threshold::*;
use waiting::*;

use leptos::prelude::*;
use leptos_router::components::{Redirect, A};
use uuid::Uuid;

use crate::error::DeskError;
use crate::knowledge::{AdminOnly, BUTTON, INPUT, SMALL_BUTTON};
use crate::types::policy::{
    is_pattern, pattern_in_words, Condition, GeneratorSettings, Policy, Priority, Replay,
    ReplayRow, Rule, RuleAction, SensitiveCategory, SupportHours, Unsure,
};
use crate::types::Confidence;

/// The policy page, for admins.
#[component]
pub fn PolicyPage() -> impl IntoView {
    view! { <AdminOnly section="policy"><PolicyEditor/></AdminOnly> }
}

const SECTION: &str = "flex flex-col gap-3 rounded-lg border border-slate-200 bg-white p-4";
const HEADING: &str = "text-lg font-semibold";
const HELP: &str = "text-xs text-slate-500";
const LABEL: &str = "text-sm font-medium";
const ERROR: &str = "rounded border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800";
/// An input or select that shares a row with others.
const INLINE_INPUT: &str = "min-w-0 flex-1 rounded border border-slate-300 bg-white px-2 py-1 text-sm focus:border-amber-500 focus:ring-2 focus:ring-amber-200";
const SELECT: &str = "rounded border border-slate-300 bg-white px-2 py-1 text-sm focus:border-amber-500 focus:ring-2 focus:ring-amber-200";

/// Loads the policy once; the form edits a copy until it is saved.
#[component]
fn PolicyEditor() -> impl IntoView {
    let loaded = Resource::new(|| (), |_| get_policy());
    view! {
        <Suspense fallback=|| view! { <p class="p-6 text-sm text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    Ok(policy) => view! { <PolicyForm initial=policy/> }.into_any(),
                    Err(DeskError::NotSignedIn) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(err) => view! { <p role="alert" class="p-6 text-red-700">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The editable policy (form on the left, replay on the right).
#[component]
fn PolicyForm(initial: Policy) -> impl IntoView {
    let policy = RwSignal::new(initial);
    let save = ServerAction::<SavePolicy>::new();
    let outcome = move || match save.value().get() {
        Some(Ok(())) => Some(
            view! { <p role="status" class="text-sm text-emerald-700">"Saved."</p> }.into_any(),
        ),
        Some(Err(err)) => {
            Some(view! { <p role="alert" class=ERROR>{err.to_string()}</p> }.into_any())
        }
        None => None,
    };
    view! {
        <main class="mx-auto grid w-full max-w-6xl gap-6 p-4 lg:grid-cols-[1fr_24rem]">
            <div class="flex min-w-0 flex-col gap-4">
                <div>
                    <h1 class="text-xl font-semibold">"Handoff policy"</h1>
                    <p class="text-sm text-slate-600">"When the AI answers by itself and when a person takes over. Nothing changes until you save."</p>
                </div>
                <ThresholdSection policy=policy/>
                <UnsureSection policy=policy/>
                <WaitingSection policy=policy/>
                <HumanRequestSection policy=policy/>
                <CategoriesSection policy=policy/>
                <RulesSection policy=policy/>
                <GeneratorSection policy=policy/>
                <HoursSection policy=policy/>
                <div class="flex flex-wrap items-center gap-3">
                    <button id="save-policy" type="button" class=BUTTON disabled=move || save.pending().get()
                        on:click=move |_| { save.dispatch(SavePolicy { policy: policy.get_untracked() }); }>
                        "Save policy"
                    </button>
                    {outcome}
                </div>
            </div>
            <ReplayPanel policy=policy/>
        </main>
    }
}

// Reading and editing one part of the policy. Rows are keyed by position, so
// a row may briefly outlive the item it shows: reads fall back to a default
// and edits to a missing item do nothing.

fn read_category<T: Default>(
    policy: RwSignal<Policy>,
    index: usize,
    read: impl FnOnce(&SensitiveCategory) -> T,
) -> T {
    policy.with(|p| p.categories.get(index).map(read).unwrap_or_default())
}

fn edit_category(
    policy: RwSignal<Policy>,
    index: usize,
    edit: impl FnOnce(&mut SensitiveCategory),
) {
    policy.update(|p| {
        if let Some(category) = p.categories.get_mut(index) {
            edit(category);
        }
    });
}

fn read_rule<T: Default>(
    policy: RwSignal<Policy>,
    index: usize,
    read: impl FnOnce(&Rule) -> T,
) -> T {
    policy.with(|p| p.rules.get(index).map(read).unwrap_or_default())
}

fn edit_rule(policy: RwSignal<Policy>, index: usize, edit: impl FnOnce(&mut Rule)) {
    policy.update(|p| {
        if let Some(rule) = p.rules.get_mut(index) {
            edit(rule);
        }
    });
}

fn edit_condition(
    policy: RwSignal<Policy>,
    rule: usize,
    index: usize,
    edit: impl FnOnce(&mut Condition),
) {
    edit_rule(policy, rule, |r| {
        if let Some(condition) = r.conditions.get_mut(index) {
            edit(condition);
        }
    });
}

fn edit_hours(policy: RwSignal<Policy>, edit: impl FnOnce(&mut SupportHours)) {
    policy.update(|p| {
        if let Some(hours) = p.support_hours.as_mut() {
            edit(hours);
        }
    });
}

/// A textarea's lines, trimmed, without the empty ones.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// "about 12 %" for a share in 0..=1.
fn percent(share: f32) -> String {
    format!("{:.0} %", share * 100.0)
}
