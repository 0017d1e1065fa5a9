//! A rule's action: hand off (to a team, with a priority) or answer first.

use super::*;

/// Each kind of action: its serde tag and what the admin reads.
pub(super) const ACTION_KINDS: [(&str, &str); 5] = [
    ("hand_off", "Hand off"),
    ("hand_off_to_team", "Hand off to team"),
    ("tag", "Tag"),
    ("priority", "Priority"),
    ("answer_without_handoff", "Answer without hand-off"),
];

pub(super) const PRIORITIES: [Priority; 4] = [
    Priority::Low,
    Priority::Normal,
    Priority::High,
    Priority::Urgent,
];

pub(super) fn action_kind(action: &RuleAction) -> &'static str {
    match action {
        RuleAction::HandOff => "hand_off",
        RuleAction::HandOffToTeam { .. } => "hand_off_to_team",
        RuleAction::Tag { .. } => "tag",
        RuleAction::Priority { .. } => "priority",
        RuleAction::AnswerWithoutHandoff => "answer_without_handoff",
    }
}

/// A fresh action of `kind` (a plain hand-off for an unknown kind).
pub(super) fn default_action(kind: &str) -> RuleAction {
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

pub(super) fn parse_priority(text: &str) -> Option<Priority> {
    PRIORITIES.into_iter().find(|p| p.as_str() == text)
}

#[component]
pub(super) fn ActionPicker(policy: RwSignal<Policy>, rule: usize) -> impl IntoView {
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
