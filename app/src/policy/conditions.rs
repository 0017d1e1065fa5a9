//! A rule's conditions: each kind and the inputs it needs.

use super::*;

/// Each kind of condition: its serde tag and what the admin reads.
pub(super) const CONDITION_KINDS: [(&str, &str); 8] = [
    ("phrase", "Phrase/pattern"),
    ("category", "Sensitive category"),
    ("topic", "Topic contains"),
    ("page_url", "Page URL contains"),
    ("attribute", "Visitor attribute equals"),
    ("unhelpful_in_a_row", "Unhelpful answers in a row"),
    ("outside_support_hours", "Outside support hours"),
    ("like", "Means the same as"),
];

pub(super) fn condition_kind(condition: &Condition) -> &'static str {
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
pub(super) fn default_condition(kind: &str) -> Condition {
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

pub(super) fn pattern_field(condition: &mut Condition) -> Option<&mut String> {
    match condition {
        Condition::Phrase { pattern } => Some(pattern),
        _ => None,
    }
}

pub(super) fn contains_field(condition: &mut Condition) -> Option<&mut String> {
    match condition {
        Condition::Topic { contains } | Condition::PageUrl { contains } => Some(contains),
        _ => None,
    }
}

pub(super) fn attribute_key_field(condition: &mut Condition) -> Option<&mut String> {
    match condition {
        Condition::Attribute { key, .. } => Some(key),
        _ => None,
    }
}

pub(super) fn attribute_value_field(condition: &mut Condition) -> Option<&mut String> {
    match condition {
        Condition::Attribute { equals, .. } => Some(equals),
        _ => None,
    }
}

#[component]
pub(super) fn ConditionRow(policy: RwSignal<Policy>, rule: usize, index: usize) -> impl IntoView {
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
pub(super) fn condition_fields(
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
pub(super) fn condition_text(
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
pub(super) fn CategoryPicker(
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
