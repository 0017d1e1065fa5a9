//! The replay: the edited policy over past decisions, before it is saved.

use super::*;

#[component]
pub(super) fn ReplayPanel(policy: RwSignal<Policy>) -> impl IntoView {
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
pub(super) fn ReplayResult(outcome: Replay) -> impl IntoView {
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
pub(super) fn ReplayRowItem(row: ReplayRow) -> impl IntoView {
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
