//! The admins' policy page: when the AI answers and when it hands off. The
//! confidence threshold, sensitive categories, rules, the generator and
//! support hours, with a replay of past decisions under the edited policy
//! before it is saved.

mod api;

pub use api::*;

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

#[component]
fn ThresholdSection(policy: RwSignal<Policy>) -> impl IntoView {
    let threshold = move || format!("{:.2}", policy.with(|p| p.threshold.value()));
    let target = move || policy.with(|p| p.handoff_target);
    // The trade at the current setting, from the workspace's calibration.
    let trade = move || {
        policy.with(|p| {
            let calibration = p.calibration.as_ref()?;
            let point = match p.handoff_target {
                Some(t) => calibration.threshold_for(t)?,
                None => calibration.at(p.threshold.value())?,
            };
            Some((point, calibration.answerable, calibration.unanswerable))
        })
    };
    view! {
        <section class=SECTION aria-labelledby="threshold-title">
            <h2 id="threshold-title" class=HEADING>"When the AI is unsure"</h2>
            <label for="handoff-target" class=LABEL>"Hand off at most this share of the questions your content answers"</label>
            <div class="flex items-center gap-2">
                <input id="handoff-target" type="number" min="0" max="50" step="1" class="w-24 rounded border border-slate-300 px-2 py-1"
                    aria-describedby="target-help"
                    prop:value=move || target().map(|t| format!("{:.0}", t * 100.0)).unwrap_or_default()
                    on:input=move |ev| {
                        let typed = event_target_value(&ev);
                        let chosen = typed.trim().parse::<f32>().ok().filter(|v| (0.0..=50.0).contains(v));
                        policy.update(|p| {
                            p.handoff_target = chosen.map(|v| v / 100.0);
                            if let Some(point) = p.handoff_target.zip(p.calibration.as_ref()).and_then(|(t, c)| c.threshold_for(t)) {
                                p.threshold = Confidence::clamped(point.threshold);
                            }
                        });
                    }/>
                <span aria-hidden="true">"%"</span>
            </div>
            <p id="target-help" class=HELP>"Tandem asks your content its own questions after every crawl (questions made from your pages, and off-topic ones) and sets the confidence threshold so that no more than this share of the answerable ones goes to a person. Leave empty to set the threshold yourself."</p>
            <p class="expected-trade text-sm text-slate-700" role="status">
                {move || match trade() {
                    Some((point, answerable, off_topic)) => format!(
                        "At this setting (threshold {:.2}): about {} of the questions your content answers go to a person, and {} of off-topic questions get an answer anyway. Measured on {answerable} questions made from your content and {off_topic} off-topic ones; real visitors' questions are harder to tell apart when they are close to your content but not in it.",
                        point.threshold, percent(point.answerable_handoff), percent(point.unanswerable_answered)
                    ),
                    None if target().is_some() => "Not measured yet: Tandem calibrates once your content has been crawled. Until then the default threshold applies.".to_owned(),
                    None => String::new(),
                }}
            </p>
            <details class="mt-1">
                <summary class="cursor-pointer text-sm text-slate-700">"Set the confidence threshold yourself"</summary>
                <label for="threshold" class=LABEL>"Confidence threshold"</label>
                <div class="flex items-center gap-3">
                    <input id="threshold" type="range" min="0" max="1" step="0.01" class="w-full accent-amber-600"
                        aria-describedby="threshold-help"
                        prop:value=threshold
                        on:input=move |ev| {
                            let typed = event_target_value(&ev).parse::<f32>().ok();
                            if let Some(chosen) = typed.and_then(|v| Confidence::new(v).ok()) {
                                policy.update(|p| {
                                    p.threshold = chosen;
                                    p.handoff_target = None;
                                });
                            }
                        }/>
                    <output for="threshold" class="w-12 text-right font-mono text-sm">{threshold}</output>
                </div>
                <p id="threshold-help" class=HELP>"Answers the AI is less confident about than this go to a person instead of the visitor. Moving it replaces the target above."</p>
            </details>
        </section>
    }
}

#[component]
fn HumanRequestSection(policy: RwSignal<Policy>) -> impl IntoView {
    let examples = Memo::new(move |_| policy.with(|p| p.human_request.examples.join("\n")));
    view! {
        <section class=SECTION aria-labelledby="human-title">
            <h2 id="human-title" class=HEADING>"Requests for a person"</h2>
            <p class=HELP>"A visitor who asks for a person gets one, in any wording and any language: Tandem recognises the request by meaning from built-in examples in many languages, and the widget's button is always there. Add how your own visitors ask, in any language, if Tandem misses it."</p>
            <div class="grid gap-3 md:grid-cols-2">
                <div class="flex flex-col gap-1">
                    <label for="human-examples" class="text-xs font-medium">"Your examples, one per line"</label>
                    <textarea id="human-examples" class=INPUT rows="4"
                        prop:value=move || examples.get()
                        on:input=move |ev| {
                            let typed = lines(&event_target_value(&ev));
                            policy.update(move |p| p.human_request.examples = typed);
                        }></textarea>
                    <p class=HELP>"Messages close in meaning to these count too. Replay shows the effect before you save."</p>
                </div>
                <PhraseFields id="human-phrases"
                    phrases=Signal::derive(move || policy.with(|p| p.human_request.phrases.clone()))
                    set=Callback::new(move |typed: Vec<String>| policy.update(move |p| p.human_request.phrases = typed))/>
            </div>
        </section>
    }
}

/// Phrases as a support lead reads them: plain words by default; `/regex/`
/// patterns read out as the words they match, the expressions themselves
/// behind "Advanced".
#[component]
fn PhraseFields(
    #[prop(into)] id: String,
    phrases: Signal<Vec<String>>,
    set: Callback<Vec<String>>,
) -> impl IntoView {
    let of_kind = move |patterns: bool| {
        phrases.with(|p| {
            p.iter()
                .filter(|p| is_pattern(p) == patterns)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    // Memos, so a keystroke that leaves the list as it was does not rewrite
    // the textarea under the cursor.
    let words = Memo::new(move |_| of_kind(false).join("\n"));
    let patterns = Memo::new(move |_| of_kind(true).join("\n"));
    let read_out = Memo::new(move |_| {
        of_kind(true)
            .iter()
            .map(|p| {
                pattern_in_words(p, 6)
                    .unwrap_or_else(|| "a pattern (open Advanced to see it)".to_owned())
            })
            .collect::<Vec<_>>()
    });
    let words_id = format!("{id}-words");
    let patterns_id = format!("{id}-patterns");
    view! {
        <div class="flex flex-col gap-1">
            <label for=words_id.clone() class="text-xs font-medium">"Words and phrases that always count, one per line"</label>
            <textarea id=words_id class=INPUT rows="4"
                prop:value=move || words.get()
                on:input=move |ev| {
                    let mut typed = lines(&event_target_value(&ev));
                    typed.extend(of_kind(true));
                    set.run(typed);
                }></textarea>
            <p class=HELP>"In any case, anywhere in a message."</p>
            {move || {
                let read = read_out.get();
                (!read.is_empty()).then(|| view! {
                    <ul class="pattern-words flex flex-col gap-0.5 text-xs text-slate-700">
                        {read.into_iter().map(|r| view! { <li>"Also counts: "{r}</li> }).collect::<Vec<_>>()}
                    </ul>
                })
            }}
            <details class="text-xs">
                <summary class="cursor-pointer text-slate-600">"Advanced: patterns"</summary>
                <div class="mt-1 flex flex-col gap-1">
                    <label for=patterns_id.clone() class="font-medium">"Patterns (regular expressions)"</label>
                    <textarea id=patterns_id class=INPUT rows="3" placeholder="/\\brefund(ed)?\\b/"
                        prop:value=move || patterns.get()
                        on:input=move |ev| {
                            let mut typed = of_kind(false);
                            typed.extend(lines(&event_target_value(&ev)));
                            set.run(typed);
                        }></textarea>
                    <p class=HELP>"One per line, each between slashes, e.g. /\\bcharged (twice|double)\\b/."</p>
                </div>
            </details>
        </div>
    }
}

#[component]
fn WaitingSection(policy: RwSignal<Policy>) -> impl IntoView {
    view! {
        <section class=SECTION aria-labelledby="waiting-title">
            <h2 id="waiting-title" class=HEADING>"While the visitor waits for a person"</h2>
            <label class="flex items-center gap-2 text-sm">
                <input id="answer-while-waiting" type="checkbox" class="accent-amber-600"
                    prop:checked=move || policy.with(|p| p.answer_while_waiting)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        policy.update(|p| p.answer_while_waiting = on);
                    }/>
                "The AI keeps answering follow-up questions from the content"
            </label>
            <p class=HELP>"Its answers are labelled as the AI's. It stops as soon as an agent claims the conversation or starts typing in it."</p>
        </section>
    }
}

#[component]
fn UnsureSection(policy: RwSignal<Policy>) -> impl IntoView {
    view! {
        <section class=SECTION aria-labelledby="unsure-title">
            <h2 id="unsure-title" class=HEADING>"What an unsure AI does"</h2>
            <label for="unsure-choice" class="text-sm font-medium">"What the AI does with a question it cannot answer reliably"</label>
            <select id="unsure-choice" class="mt-1 block w-full max-w-md rounded border border-slate-300 px-2 py-1 text-sm"
                on:change=move |ev| {
                    let choice = Unsure::parse(&event_target_value(&ev));
                    policy.update(|p| p.unsure = choice);
                }>
                <option value="hand_off" selected=move || policy.with(|p| p.unsure == Unsure::HandOff)>
                    "Hand the conversation to the team at once"
                </option>
                <option value="offer" selected=move || policy.with(|p| p.unsure == Unsure::Offer)>
                    "Say so and offer the team; the visitor may rephrase"
                </option>
            </select>
            <p class=HELP>"With the offer, one miss does not send the conversation to the queue: the visitor is told the AI is not sure and can ask another way or choose Talk to the team. A second miss in a row (or one after a thumbs-down) hands off. Requests for a person, sensitive topics and your rules hand off as ever; the dashboard counts each offer."</p>
        </section>
    }
}

/// `billing dispute` or `Billing-Dispute` as the snake_case name it stands for.
fn category_name(typed: &str) -> String {
    typed
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// Why `name` cannot be a new category, if it cannot (the server's rules).
fn check_category_name(name: &str, existing: &[SensitiveCategory]) -> Result<(), String> {
    if name.is_empty() {
        return Err("Name the category first, e.g. billing_dispute.".into());
    }
    let valid = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err("Use lowercase letters, digits and _, starting with a letter.".into());
    }
    if existing.iter().any(|c| c.name == name) {
        return Err(format!("There is already a category named {name}."));
    }
    Ok(())
}

#[component]
fn CategoriesSection(policy: RwSignal<Policy>) -> impl IntoView {
    let count = Memo::new(move |_| policy.with(|p| p.categories.len()));
    let new_name = RwSignal::new(String::new());
    let add_error = RwSignal::new(None::<String>);
    let add = move || {
        let name = category_name(&new_name.get_untracked());
        if let Err(err) = policy.with_untracked(|p| check_category_name(&name, &p.categories)) {
            add_error.set(Some(err));
            return;
        }
        policy.update(|p| {
            p.categories.push(SensitiveCategory {
                name,
                enabled: true,
                phrases: Vec::new(),
                examples: Vec::new(),
            });
        });
        new_name.set(String::new());
        add_error.set(None);
    };
    view! {
        <section class=SECTION aria-labelledby="categories-title">
            <h2 id="categories-title" class=HEADING>"Sensitive topics"</h2>
            <p class=HELP>"A message about an enabled topic goes to a person. Tandem knows the topics below from built-in examples in many languages; your examples (any language) teach it your visitors' wording, and your phrases always count."</p>
            <ul class="flex flex-col gap-3" aria-label="Sensitive categories">
                <For each=move || 0..count.get() key=|i| *i children=move |i| view! { <CategoryCard policy=policy index=i/> }/>
            </ul>
            <form class="flex flex-col gap-1" on:submit=move |ev| { ev.prevent_default(); add(); }>
                <label for="new-category" class=LABEL>"New category"</label>
                <div class="flex gap-2">
                    <input id="new-category" class=INLINE_INPUT placeholder="billing_dispute"
                        prop:value=move || new_name.get()
                        on:input=move |ev| new_name.set(event_target_value(&ev))/>
                    <button type="submit" class=SMALL_BUTTON>"Add category"</button>
                </div>
                {move || add_error.get().map(|err| view! { <p role="alert" class="text-sm text-red-700">{err}</p> })}
            </form>
        </section>
    }
}

#[component]
fn CategoryCard(policy: RwSignal<Policy>, index: usize) -> impl IntoView {
    let name = Memo::new(move |_| read_category(policy, index, |c| c.name.replace('_', " ")));
    // Memos, so a keystroke that leaves the list as it was (a new line, a
    // trailing space) does not rewrite the textarea under the cursor.
    let examples = Memo::new(move |_| read_category(policy, index, |c| c.examples.join("\n")));
    let phrases_id = format!("category-{index}-phrases");
    let examples_id = format!("category-{index}-examples");
    view! {
        <li class="category rounded border border-slate-200 p-3">
            <div class="flex items-center justify-between gap-2">
                <label class="flex items-center gap-2 font-medium">
                    <input type="checkbox"
                        prop:checked=move || read_category(policy, index, |c| c.enabled)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            edit_category(policy, index, move |c| c.enabled = on);
                        }/>
                    <span class="category-name">{move || name.get()}</span>
                </label>
                <button type="button" class=format!("{SMALL_BUTTON} text-red-700")
                    on:click=move |_| policy.update(|p| {
                        if index < p.categories.len() {
                            p.categories.remove(index);
                        }
                    })>
                    "Remove"
                </button>
            </div>
            <div class="mt-2 grid gap-3 md:grid-cols-2">
                <PhraseFields id=phrases_id
                    phrases=Signal::derive(move || read_category(policy, index, |c| c.phrases.clone()))
                    set=Callback::new(move |typed: Vec<String>| edit_category(policy, index, move |c| c.phrases = typed))/>
                <div class="flex flex-col gap-1">
                    <label for=examples_id.clone() class="text-xs font-medium">"Example messages, one per line"</label>
                    <textarea id=examples_id class=INPUT rows="4"
                        prop:value=move || examples.get()
                        on:input=move |ev| {
                            let typed = lines(&event_target_value(&ev));
                            edit_category(policy, index, move |c| c.examples = typed);
                        }></textarea>
                    <p class=HELP>"A message close in meaning to one of these counts too."</p>
                </div>
            </div>
        </li>
    }
}

fn new_rule() -> Rule {
    Rule {
        id: Uuid::new_v4(),
        name: "New rule".into(),
        enabled: true,
        conditions: vec![default_condition("phrase")],
        action: RuleAction::HandOff,
    }
}

#[component]
fn RulesSection(policy: RwSignal<Policy>) -> impl IntoView {
    let count = Memo::new(move |_| policy.with(|p| p.rules.len()));
    view! {
        <section class=SECTION aria-labelledby="rules-title">
            <h2 id="rules-title" class=HEADING>"Rules"</h2>
            <p class=HELP>"Every enabled rule whose conditions all hold takes its action. When several hand off, the one highest in the list gives the reason. A visitor who asks for a person always gets one."</p>
            <ol class="flex flex-col gap-3" aria-label="Rules">
                <For each=move || 0..count.get() key=|i| *i children=move |i| view! { <RuleCard policy=policy index=i/> }/>
            </ol>
            {move || (count.get() == 0).then(|| view! { <p class="text-sm text-slate-500">"No rules yet."</p> })}
            <div>
                <button type="button" class=SMALL_BUTTON on:click=move |_| policy.update(|p| p.rules.push(new_rule()))>
                    "Add rule"
                </button>
            </div>
        </section>
    }
}

#[component]
fn RuleCard(policy: RwSignal<Policy>, index: usize) -> impl IntoView {
    let conditions = Memo::new(move |_| read_rule(policy, index, |r| r.conditions.len()));
    let name_id = format!("rule-{index}-name");
    view! {
        <li class="rule flex flex-col gap-2 rounded border border-slate-200 p-3">
            <div class="flex flex-wrap items-center gap-2">
                <label for=name_id.clone() class="sr-only">"Rule name"</label>
                <input id=name_id class=INLINE_INPUT
                    prop:value=move || read_rule(policy, index, |r| r.name.clone())
                    on:input=move |ev| {
                        let typed = event_target_value(&ev);
                        edit_rule(policy, index, move |r| r.name = typed);
                    }/>
                <label class="flex items-center gap-1 text-sm">
                    <input type="checkbox"
                        prop:checked=move || read_rule(policy, index, |r| r.enabled)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            edit_rule(policy, index, move |r| r.enabled = on);
                        }/>
                    "enabled"
                </label>
                <button type="button" class=SMALL_BUTTON disabled={index == 0}
                    on:click=move |_| policy.update(|p| {
                        if index > 0 && index < p.rules.len() {
                            p.rules.swap(index - 1, index);
                        }
                    })>
                    "Move up"
                </button>
                <button type="button" class=format!("{SMALL_BUTTON} text-red-700")
                    on:click=move |_| policy.update(|p| {
                        if index < p.rules.len() {
                            p.rules.remove(index);
                        }
                    })>
                    "Remove rule"
                </button>
            </div>
            <p class=HELP>"When all of these hold:"</p>
            <ul class="flex flex-col gap-2" aria-label="Conditions">
                <For each=move || 0..conditions.get() key=|j| *j children=move |j| view! { <ConditionRow policy=policy rule=index index=j/> }/>
            </ul>
            <div>
                <button type="button" class=SMALL_BUTTON
                    on:click=move |_| edit_rule(policy, index, |r| r.conditions.push(default_condition("phrase")))>
                    "Add condition"
                </button>
            </div>
            <ActionPicker policy=policy rule=index/>
        </li>
    }
}

/// Each kind of condition: its serde tag and what the admin reads.
const CONDITION_KINDS: [(&str, &str); 8] = [
    ("phrase", "Phrase/pattern"),
    ("category", "Sensitive category"),
    ("topic", "Topic contains"),
    ("page_url", "Page URL contains"),
    ("attribute", "Visitor attribute equals"),
    ("unhelpful_in_a_row", "Unhelpful answers in a row"),
    ("outside_support_hours", "Outside support hours"),
    ("like", "Means the same as"),
];

fn condition_kind(condition: &Condition) -> &'static str {
    match condition {
        Condition::Phrase { .. } => "phrase",
        Condition::Category { .. } => "category",
        Condition::Topic { .. } => "topic",
        Condition::PageUrl { .. } => "page_url",
        Condition::Attribute { .. } => "attribute",
        Condition::UnhelpfulInARow { .. } => "unhelpful_in_a_row",
        Condition::OutsideSupportHours => "outside_support_hours",
        Condition::Like { .. } => "like",
    }
}

/// A fresh condition of `kind` (a phrase for an unknown kind).
fn default_condition(kind: &str) -> Condition {
    match kind {
        "category" => Condition::Category { name: "any".into() },
        "topic" => Condition::Topic {
            contains: String::new(),
        },
        "page_url" => Condition::PageUrl {
            contains: String::new(),
        },
        "attribute" => Condition::Attribute {
            key: String::new(),
            equals: String::new(),
        },
        "unhelpful_in_a_row" => Condition::UnhelpfulInARow { at_least: 2 },
        "outside_support_hours" => Condition::OutsideSupportHours,
        "like" => Condition::Like {
            questions: Vec::new(),
        },
        _ => Condition::Phrase {
            pattern: String::new(),
        },
    }
}

/// Where a text field sits in a condition, if the condition has it.
type ConditionField = fn(&mut Condition) -> Option<&mut String>;

fn pattern_field(condition: &mut Condition) -> Option<&mut String> {
    match condition {
        Condition::Phrase { pattern } => Some(pattern),
        _ => None,
    }
}

fn contains_field(condition: &mut Condition) -> Option<&mut String> {
    match condition {
        Condition::Topic { contains } | Condition::PageUrl { contains } => Some(contains),
        _ => None,
    }
}

fn attribute_key_field(condition: &mut Condition) -> Option<&mut String> {
    match condition {
        Condition::Attribute { key, .. } => Some(key),
        _ => None,
    }
}

fn attribute_value_field(condition: &mut Condition) -> Option<&mut String> {
    match condition {
        Condition::Attribute { equals, .. } => Some(equals),
        _ => None,
    }
}

#[component]
fn ConditionRow(policy: RwSignal<Policy>, rule: usize, index: usize) -> impl IntoView {
    let condition =
        Memo::new(move |_| read_rule(policy, rule, |r| r.conditions.get(index).cloned()));
    let kind = Memo::new(move |_| condition.with(|c| c.as_ref().map_or("phrase", condition_kind)));
    let select_id = format!("rule-{rule}-condition-{index}");
    view! {
        <li class="condition flex flex-wrap items-center gap-2">
            <label for=select_id.clone() class="sr-only">"Condition"</label>
            <select id=select_id class=SELECT
                on:change=move |ev| {
                    let chosen = event_target_value(&ev);
                    if chosen != kind.get_untracked() {
                        let fresh = default_condition(&chosen);
                        edit_condition(policy, rule, index, move |c| *c = fresh);
                    }
                }>
                {CONDITION_KINDS.iter().map(|&(value, label)| view! {
                    <option value=value prop:selected=move || kind.get() == value>{label}</option>
                }).collect::<Vec<_>>()}
            </select>
            {move || condition_fields(policy, (rule, index), condition, kind.get())}
            <button type="button" class=SMALL_BUTTON
                on:click=move |_| edit_rule(policy, rule, |r| {
                    if index < r.conditions.len() {
                        r.conditions.remove(index);
                    }
                })>
                "Remove"
            </button>
        </li>
    }
}

/// The inputs a condition of `kind` needs.
fn condition_fields(
    policy: RwSignal<Policy>,
    at: (usize, usize),
    condition: Memo<Option<Condition>>,
    kind: &'static str,
) -> AnyView {
    let (rule, index) = at;
    match kind {
        "phrase" => {
            let (label, placeholder) = ("Phrase or /regex/", "refund, or /refund(ed)?/");
            // A pattern, read out in words beside it.
            let read = move || {
                condition.with(|c| match c {
                    Some(Condition::Phrase { pattern }) if is_pattern(pattern) => Some(
                        pattern_in_words(pattern, 4)
                            .map_or_else(|| "a pattern".to_owned(), |w| format!("matches {w}")),
                    ),
                    _ => None,
                })
            };
            view! {
                {condition_text(policy, at, condition, label, placeholder, pattern_field)}
                {move || read().map(|r| view! { <span class="pattern-words text-xs text-slate-600">{r}</span> })}
            }
            .into_any()
        }
        "topic" => {
            let (label, placeholder) = ("Topic contains", "Billing");
            condition_text(policy, at, condition, label, placeholder, contains_field).into_any()
        }
        "page_url" => {
            let (label, placeholder) = ("Page URL contains", "/pricing");
            condition_text(policy, at, condition, label, placeholder, contains_field).into_any()
        }
        "attribute" => view! {
            {condition_text(policy, at, condition, "Attribute", "plan", attribute_key_field)}
            <span class="text-sm text-slate-500">"equals"</span>
            {condition_text(policy, at, condition, "Value", "enterprise", attribute_value_field)}
        }
        .into_any(),
        "like" => view! {
            <textarea rows="3" class=format!("{INLINE_INPUT} min-w-72") aria-label="Questions, one per line"
                placeholder="One question per line"
                prop:value=move || condition.with(|c| match c {
                    Some(Condition::Like { questions }) => questions.join("\n"),
                    _ => String::new(),
                })
                on:change=move |ev| {
                    let typed: Vec<String> = event_target_value(&ev)
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned)
                        .collect();
                    edit_condition(policy, rule, index, move |c| {
                        if let Condition::Like { questions } = c {
                            *questions = typed;
                        }
                    });
                }></textarea>
        }
        .into_any(),
        "category" => view! { <CategoryPicker policy=policy rule=rule index=index condition=condition/> }.into_any(),
        "unhelpful_in_a_row" => view! {
            <span class="text-sm text-slate-500">"at least"</span>
            <input type="number" min="1" max="50" class=format!("{SELECT} w-20") aria-label="Unhelpful answers in a row, at least"
                prop:value=move || condition.with(|c| match c {
                    Some(Condition::UnhelpfulInARow { at_least }) => at_least.to_string(),
                    _ => String::new(),
                })
                on:input=move |ev| {
                    let typed = event_target_value(&ev).trim().parse::<u32>().ok().filter(|n| *n >= 1);
                    if let Some(n) = typed {
                        edit_condition(policy, rule, index, move |c| {
                            if let Condition::UnhelpfulInARow { at_least } = c {
                                *at_least = n;
                            }
                        });
                    }
                }/>
        }
        .into_any(),
        _ => view! {
            <span class=HELP>
                {move || policy.with(|p| p.support_hours.is_none()).then_some("Set support hours below; without them this never holds.")}
            </span>
        }
        .into_any(),
    }
}

/// A text input bound to one text field of a condition.
fn condition_text(
    policy: RwSignal<Policy>,
    (rule, index): (usize, usize),
    condition: Memo<Option<Condition>>,
    label: &'static str,
    placeholder: &'static str,
    field: ConditionField,
) -> impl IntoView {
    let value = move || {
        condition
            .get()
            .and_then(|mut c| field(&mut c).map(std::mem::take))
            .unwrap_or_default()
    };
    view! {
        <input class=INLINE_INPUT aria-label=label placeholder=placeholder
            prop:value=value
            on:input=move |ev| {
                let typed = event_target_value(&ev);
                edit_condition(policy, rule, index, move |c| {
                    if let Some(text) = field(c) {
                        *text = typed;
                    }
                });
            }/>
    }
}

/// The sensitive category a condition asks for: any, or one of the policy's.
#[component]
fn CategoryPicker(
    policy: RwSignal<Policy>,
    rule: usize,
    index: usize,
    condition: Memo<Option<Condition>>,
) -> impl IntoView {
    let current = Memo::new(move |_| {
        condition.with(|c| match c {
            Some(Condition::Category { name }) => name.clone(),
            _ => String::new(),
        })
    });
    let names = Memo::new(move |_| {
        policy.with(|p| {
            p.categories
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        })
    });
    let options = move || {
        let mut names = names.get();
        // A category removed since keeps its option until the admin picks another.
        let chosen = current.get();
        if !chosen.is_empty() && chosen != "any" && !names.contains(&chosen) {
            names.push(chosen);
        }
        names
            .into_iter()
            .map(|name| {
                let label = name.replace('_', " ");
                view! {
                    <option value=name.clone() prop:selected=move || current.with(|c| *c == name)>{label}</option>
                }
            })
            .collect::<Vec<_>>()
    };
    view! {
        <select class=SELECT aria-label="Category"
            on:change=move |ev| {
                let chosen = event_target_value(&ev);
                edit_condition(policy, rule, index, move |c| {
                    if let Condition::Category { name } = c {
                        *name = chosen;
                    }
                });
            }>
            <option value="any" prop:selected=move || current.with(|c| c == "any")>"any sensitive topic"</option>
            {options}
        </select>
    }
}

/// Each kind of action: its serde tag and what the admin reads.
const ACTION_KINDS: [(&str, &str); 5] = [
    ("hand_off", "Hand off"),
    ("hand_off_to_team", "Hand off to team"),
    ("tag", "Tag"),
    ("priority", "Priority"),
    ("answer_without_handoff", "Answer without hand-off"),
];

const PRIORITIES: [Priority; 4] = [
    Priority::Low,
    Priority::Normal,
    Priority::High,
    Priority::Urgent,
];

fn action_kind(action: &RuleAction) -> &'static str {
    match action {
        RuleAction::HandOff => "hand_off",
        RuleAction::HandOffToTeam { .. } => "hand_off_to_team",
        RuleAction::Tag { .. } => "tag",
        RuleAction::Priority { .. } => "priority",
        RuleAction::AnswerWithoutHandoff => "answer_without_handoff",
    }
}

/// A fresh action of `kind` (a plain hand-off for an unknown kind).
fn default_action(kind: &str) -> RuleAction {
    match kind {
        "hand_off_to_team" => RuleAction::HandOffToTeam {
            team: String::new(),
        },
        "tag" => RuleAction::Tag { tag: String::new() },
        "priority" => RuleAction::Priority {
            level: Priority::High,
        },
        "answer_without_handoff" => RuleAction::AnswerWithoutHandoff,
        _ => RuleAction::HandOff,
    }
}

fn parse_priority(text: &str) -> Option<Priority> {
    PRIORITIES.into_iter().find(|p| p.as_str() == text)
}

#[component]
fn ActionPicker(policy: RwSignal<Policy>, rule: usize) -> impl IntoView {
    let action = Memo::new(move |_| read_rule(policy, rule, |r| Some(r.action.clone())));
    let kind = Memo::new(move |_| action.with(|a| a.as_ref().map_or("hand_off", action_kind)));
    let select_id = format!("rule-{rule}-action");
    // The team of a hand-off to a team, or the tag of a tag.
    let text_input = move |label: &'static str, placeholder: &'static str| {
        view! {
            <input class=INLINE_INPUT aria-label=label placeholder=placeholder
                prop:value=move || action.with(|a| match a {
                    Some(RuleAction::HandOffToTeam { team: value } | RuleAction::Tag { tag: value }) => value.clone(),
                    _ => String::new(),
                })
                on:input=move |ev| {
                    let typed = event_target_value(&ev);
                    edit_rule(policy, rule, move |r| {
                        if let RuleAction::HandOffToTeam { team: value } | RuleAction::Tag { tag: value } = &mut r.action {
                            *value = typed;
                        }
                    });
                }/>
        }
    };
    let fields = move || {
        match kind.get() {
            "hand_off_to_team" => text_input("Team", "billing").into_any(),
            "tag" => text_input("Tag", "vip").into_any(),
            "priority" => view! {
                <select class=SELECT aria-label="Priority"
                    on:change=move |ev| {
                        if let Some(level) = parse_priority(&event_target_value(&ev)) {
                            edit_rule(policy, rule, move |r| r.action = RuleAction::Priority { level });
                        }
                    }>
                    {PRIORITIES.iter().map(|&level| view! {
                        <option value=level.as_str()
                            prop:selected=move || action.with(|a| matches!(a, Some(RuleAction::Priority { level: l }) if *l == level))>
                            {level.as_str()}
                        </option>
                    }).collect::<Vec<_>>()}
                </select>
            }
            .into_any(),
            _ => ().into_any(),
        }
    };
    view! {
        <div class="flex flex-wrap items-center gap-2">
            <label for=select_id.clone() class="text-xs font-medium text-slate-500">"Then"</label>
            <select id=select_id class=SELECT
                on:change=move |ev| {
                    let chosen = event_target_value(&ev);
                    if chosen != kind.get_untracked() {
                        let fresh = default_action(&chosen);
                        edit_rule(policy, rule, move |r| r.action = fresh);
                    }
                }>
                {ACTION_KINDS.iter().map(|&(value, label)| view! {
                    <option value=value prop:selected=move || kind.get() == value>{label}</option>
                }).collect::<Vec<_>>()}
            </select>
            {fields}
        </div>
    }
}

#[component]
fn GeneratorSection(policy: RwSignal<Policy>) -> impl IntoView {
    let builtin =
        Memo::new(move |_| policy.with(|p| matches!(p.generator, GeneratorSettings::Builtin)));
    // The endpoint's settings, kept while the built-in generator is chosen.
    let endpoint = StoredValue::new(policy.with_untracked(|p| match &p.generator {
        GeneratorSettings::Builtin => GeneratorSettings::OpenAi {
            base_url: "https://api.openai.com/v1".into(),
            model: String::new(),
            api_key: String::new(),
        },
        chosen => chosen.clone(),
    }));
    view! {
        <section class=SECTION aria-labelledby="generator-title">
            <h2 id="generator-title" class=HEADING>"Who writes the answers"</h2>
            <fieldset class="flex flex-col gap-2">
                <legend class="sr-only">"Answer generator"</legend>
                <label class="flex items-start gap-2 text-sm">
                    <input type="radio" name="generator" value="builtin" class="mt-1"
                        prop:checked=move || builtin.get()
                        on:change=move |_| policy.update(|p| {
                            if !matches!(p.generator, GeneratorSettings::Builtin) {
                                endpoint.set_value(std::mem::replace(&mut p.generator, GeneratorSettings::Builtin));
                            }
                        })/>
                    <span>
                        <span class="font-medium">"Built-in"</span>
                        <span class="block text-xs text-slate-500">"Offline and extractive: answers with sentences from your knowledge and cites every sentence."</span>
                    </span>
                </label>
                <label class="flex items-start gap-2 text-sm">
                    <input type="radio" name="generator" value="open_ai" class="mt-1"
                        prop:checked=move || !builtin.get()
                        on:change=move |_| policy.update(|p| {
                            if matches!(p.generator, GeneratorSettings::Builtin) {
                                p.generator = endpoint.get_value();
                            }
                        })/>
                    <span>
                        <span class="font-medium">"OpenAI-compatible endpoint"</span>
                        <span class="block text-xs text-slate-500">"Any chat-completions API, hosted or local (Ollama, vLLM, llama.cpp). It is given the same passages and must cite them."</span>
                    </span>
                </label>
            </fieldset>
            {move || (!builtin.get()).then(|| view! {
                <div class="flex flex-col gap-2">
                    {generator_text(policy, "generator-base-url", "Base URL", "url", "https://api.openai.com/v1", base_url_field)}
                    {generator_text(policy, "generator-model", "Model", "text", "gpt-4o-mini", model_field)}
                    {generator_text(policy, "generator-api-key", "API key", "password", "leave empty to keep the stored key", api_key_field)}
                </div>
            })}
        </section>
    }
}

/// Where a text field sits in the generator settings, if they have it.
type GeneratorField = fn(&mut GeneratorSettings) -> Option<&mut String>;

fn base_url_field(generator: &mut GeneratorSettings) -> Option<&mut String> {
    match generator {
        GeneratorSettings::OpenAi { base_url, .. } => Some(base_url),
        GeneratorSettings::Builtin => None,
    }
}

fn model_field(generator: &mut GeneratorSettings) -> Option<&mut String> {
    match generator {
        GeneratorSettings::OpenAi { model, .. } => Some(model),
        GeneratorSettings::Builtin => None,
    }
}

fn api_key_field(generator: &mut GeneratorSettings) -> Option<&mut String> {
    match generator {
        GeneratorSettings::OpenAi { api_key, .. } => Some(api_key),
        GeneratorSettings::Builtin => None,
    }
}

/// A labelled input bound to one text field of the generator settings.
fn generator_text(
    policy: RwSignal<Policy>,
    id: &'static str,
    label: &'static str,
    input_type: &'static str,
    placeholder: &'static str,
    field: GeneratorField,
) -> impl IntoView {
    let value = move || {
        policy.with(|p| {
            let mut generator = p.generator.clone();
            field(&mut generator)
                .map(std::mem::take)
                .unwrap_or_default()
        })
    };
    view! {
        <div class="flex flex-col gap-1">
            <label for=id class=LABEL>{label}</label>
            <input id=id type=input_type class=INPUT placeholder=placeholder autocomplete="off"
                prop:value=value
                on:input=move |ev| {
                    let typed = event_target_value(&ev);
                    policy.update(|p| {
                        if let Some(text) = field(&mut p.generator) {
                            *text = typed;
                        }
                    });
                }/>
        </div>
    }
}

const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const OPENS: &str = "09:00";
const CLOSES: &str = "17:00";

/// Weekdays 09:00–17:00, UTC: where a new schedule starts.
fn default_hours() -> SupportHours {
    let weekday = || Some((OPENS.to_owned(), CLOSES.to_owned()));
    SupportHours {
        time_zone: "UTC".into(),
        days: [
            weekday(),
            weekday(),
            weekday(),
            weekday(),
            weekday(),
            None,
            None,
        ],
        holidays: Vec::new(),
    }
}

#[component]
fn HoursSection(policy: RwSignal<Policy>) -> impl IntoView {
    let enabled = Memo::new(move |_| policy.with(|p| p.support_hours.is_some()));
    // The schedule, kept while support hours are switched off.
    let kept = StoredValue::new(
        policy
            .with_untracked(|p| p.support_hours.clone())
            .unwrap_or_else(default_hours),
    );
    view! {
        <section class=SECTION aria-labelledby="hours-title">
            <h2 id="hours-title" class=HEADING>"Support hours "<span class="text-sm font-normal text-slate-500">"(optional)"</span></h2>
            <p class=HELP>"When the team answers. A rule can use the “Outside support hours” condition."</p>
            <label class="flex items-center gap-2 text-sm">
                <input type="checkbox"
                    prop:checked=move || enabled.get()
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        policy.update(|p| {
                            if on {
                                if p.support_hours.is_none() {
                                    p.support_hours = Some(kept.get_value());
                                }
                            } else if let Some(hours) = p.support_hours.take() {
                                kept.set_value(hours);
                            }
                        });
                    }/>
                "Set support hours"
            </label>
            {move || enabled.get().then(|| view! { <HoursFields policy=policy/> })}
        </section>
    }
}

#[component]
fn HoursFields(policy: RwSignal<Policy>) -> impl IntoView {
    view! {
        <div class="flex flex-col gap-1">
            <label for="time-zone" class=LABEL>"Time zone"</label>
            <input id="time-zone" class=INPUT placeholder="Europe/Berlin"
                prop:value=move || policy.with(|p| p.support_hours.as_ref().map(|h| h.time_zone.clone()).unwrap_or_default())
                on:input=move |ev| {
                    let typed = event_target_value(&ev);
                    edit_hours(policy, move |h| h.time_zone = typed);
                }/>
        </div>
        <ul class="flex flex-col gap-1" aria-label="Opening hours">
            {(0..DAYS.len()).map(|day| view! { <DayRow policy=policy day=day/> }).collect::<Vec<_>>()}
        </ul>
        <HolidayField policy=policy/>
    }
}

/// Whole days the team is closed, one `YYYY-MM-DD` per line.
#[component]
fn HolidayField(policy: RwSignal<Policy>) -> impl IntoView {
    let text = RwSignal::new(policy.with_untracked(|p| {
        p.support_hours
            .as_ref()
            .map(|h| {
                h.holidays
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }));
    let unreadable = Memo::new(move |_| {
        text.with(|t| {
            t.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && l.parse::<chrono::NaiveDate>().is_err())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
    });
    view! {
        <div class="flex flex-col gap-1">
            <label for="holidays" class=LABEL>"Holidays (closed all day; one date per line, like 2026-12-24)"</label>
            <textarea id="holidays" rows="3" class=INPUT
                prop:value=move || text.get()
                on:input=move |ev| {
                    let typed = event_target_value(&ev);
                    let mut days: Vec<chrono::NaiveDate> =
                        typed.lines().filter_map(|l| l.trim().parse().ok()).collect();
                    days.sort();
                    days.dedup();
                    text.set(typed);
                    edit_hours(policy, move |h| h.holidays = days);
                }></textarea>
            {move || (!unreadable.with(Vec::is_empty)).then(|| view! {
                <p class="text-sm text-red-700" role="alert">
                    {move || format!("Not a date (ignored): {}", unreadable.get().join(", "))}
                </p>
            })}
        </div>
    }
}

#[component]
fn DayRow(policy: RwSignal<Policy>, day: usize) -> impl IntoView {
    let name = DAYS[day];
    let hours = Memo::new(move |_| {
        policy.with(|p| {
            p.support_hours
                .as_ref()
                .and_then(|h| h.days.get(day).cloned().flatten())
        })
    });
    let open = move || hours.with(Option::is_some);
    let opens = move || hours.with(|h| h.as_ref().map_or(OPENS.to_owned(), |(o, _)| o.clone()));
    let closes = move || hours.with(|h| h.as_ref().map_or(CLOSES.to_owned(), |(_, c)| c.clone()));
    let set_time = move |closing: bool, typed: String| {
        edit_hours(policy, move |h| {
            if let Some(Some((open_at, close_at))) = h.days.get_mut(day) {
                if closing {
                    *close_at = typed;
                } else {
                    *open_at = typed;
                }
            }
        });
    };
    view! {
        <li class="day flex flex-wrap items-center gap-3 text-sm">
            <span class="w-24 font-medium">{name}</span>
            <label class="flex items-center gap-1">
                <input type="checkbox"
                    prop:checked=open
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        edit_hours(policy, move |h| {
                            if let Some(slot) = h.days.get_mut(day) {
                                *slot = on.then(|| (OPENS.to_owned(), CLOSES.to_owned()));
                            }
                        });
                    }/>
                "open"
            </label>
            <input type="time" class=SELECT aria-label=format!("{name} opens")
                disabled=move || !open()
                prop:value=opens
                on:input=move |ev| set_time(false, event_target_value(&ev))/>
            <span aria-hidden="true">"–"</span>
            <input type="time" class=SELECT aria-label=format!("{name} closes")
                disabled=move || !open()
                prop:value=closes
                on:input=move |ev| set_time(true, event_target_value(&ev))/>
        </li>
    }
}

#[component]
fn ReplayPanel(policy: RwSignal<Policy>) -> impl IntoView {
    let replay = ServerAction::<ReplayPolicy>::new();
    let result = move || {
        replay.value().get().map(|reply| match reply {
            Ok(outcome) => view! { <ReplayResult outcome=outcome/> }.into_any(),
            Err(err) => view! { <p role="alert" class=ERROR>{err.to_string()}</p> }.into_any(),
        })
    };
    view! {
        <aside aria-labelledby="replay-title"
            class="flex flex-col gap-3 self-start rounded-lg border border-slate-200 bg-white p-4 lg:sticky lg:top-4">
            <h2 id="replay-title" class=HEADING>"Replay on past conversations"</h2>
            <p class="text-sm text-slate-600">"Try the edited policy on the workspace's recent decisions before saving it."</p>
            <div>
                <button id="replay" type="button" class=BUTTON disabled=move || replay.pending().get()
                    on:click=move |_| { replay.dispatch(ReplayPolicy { policy: policy.get_untracked() }); }>
                    "Replay"
                </button>
            </div>
            <div class="flex flex-col gap-2" aria-live="polite">{result}</div>
        </aside>
    }
}

#[component]
fn ReplayResult(outcome: Replay) -> impl IntoView {
    let summary = format!(
        "{} {}: handed off before {} → after {}",
        outcome.decisions,
        if outcome.decisions == 1 {
            "decision"
        } else {
            "decisions"
        },
        outcome.handed_off_before,
        outcome.handed_off_after
    );
    let changed = if outcome.changed.is_empty() {
        view! { <p class="text-sm text-slate-500">"No decision would change."</p> }.into_any()
    } else {
        view! {
            <ul class="flex flex-col gap-2" aria-label="Changed decisions">
                {outcome.changed.into_iter().map(|row| view! { <ReplayRowItem row=row/> }).collect::<Vec<_>>()}
            </ul>
        }
        .into_any()
    };
    view! {
        <p id="replay-summary" class="text-sm font-medium">{summary}</p>
        {changed}
    }
}

#[component]
fn ReplayRowItem(row: ReplayRow) -> impl IntoView {
    let outcome = format!(
        "{} → {}",
        row.before.as_deref().unwrap_or("answered"),
        row.after.as_deref().unwrap_or("answered")
    );
    let confidence = format!("confidence {:.2}", row.confidence);
    let when = row.at.format("%Y-%m-%d %H:%M UTC").to_string();
    view! {
        <li class="replay-row rounded border border-slate-200 p-2 text-sm">
            <p class="line-clamp-2 text-slate-900" title=row.question.clone()>{row.question.clone()}</p>
            <p class="mt-1 text-xs">
                <span class="font-medium">{outcome}</span>
                <span class="text-slate-500">" · "{confidence}</span>
            </p>
            <p class="flex items-center justify-between gap-2 text-xs text-slate-500">
                <time datetime=row.at.to_rfc3339()>{when}</time>
                {row.conversation_id.map(|id| view! {
                    <A href=format!("/inbox/{id}") attr:class="text-amber-700 hover:underline">"Open conversation"</A>
                })}
            </p>
        </li>
    }
}
