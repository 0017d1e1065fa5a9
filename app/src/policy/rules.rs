//! The admin's rules: a list of cards, each with its conditions and action.

use super::*;

pub(super) fn new_rule() -> Rule {
    Rule {
        id: Uuid::new_v4(),
        name: "New rule".into(),
        enabled: true,
        conditions: vec![default_condition("phrase")],
        action: RuleAction::HandOff,
    }
}

#[component]
pub(super) fn RulesSection(policy: RwSignal<Policy>) -> impl IntoView {
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
pub(super) fn RuleCard(policy: RwSignal<Policy>, index: usize) -> impl IntoView {
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
