//! When a visitor asks for a person: the phrases that count as asking.

use super::*;

#[component]
pub(super) fn HumanRequestSection(policy: RwSignal<Policy>) -> impl IntoView {
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
pub(super) fn PhraseFields(
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
