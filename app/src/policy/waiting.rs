//! What the visitor is told while waiting, and what an unsure AI does.

use super::*;

#[component]
pub(super) fn WaitingSection(policy: RwSignal<Policy>) -> impl IntoView {
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
pub(super) fn UnsureSection(policy: RwSignal<Policy>) -> impl IntoView {
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
