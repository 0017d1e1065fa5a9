//! The confidence threshold section, with the calibration behind its default.

use super::*;

#[component]
pub(super) fn ThresholdSection(policy: RwSignal<Policy>) -> impl IntoView {
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
