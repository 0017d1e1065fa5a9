use app::types::policy::{
    Condition, GeneratorSettings, Policy, Priority, Rule, RuleAction, SensitiveMatch, Signals,
};
use app::types::{Confidence, HandoffReason};
use uuid::Uuid;

use super::{defaults, outcome};

fn policy(rules: Vec<Rule>) -> Policy {
    Policy {
        threshold: Confidence::new(0.5).unwrap(),
        categories: defaults::categories(),
        rules,
        generator: GeneratorSettings::Builtin,
        support_hours: None,
        answer_while_waiting: true,
        human_request: Default::default(),
        handoff_target: None,
        calibration: None,
        unsure: Default::default(),
    }
}

fn rule(name: &str, conditions: Vec<Condition>, action: RuleAction) -> Rule {
    Rule {
        id: Uuid::new_v4(),
        name: name.into(),
        enabled: true,
        conditions,
        action,
    }
}

fn confident() -> Signals {
    Signals {
        confidence: 0.9,
        topic: Some("Refunds › Timing".into()),
        page_url: Some("https://shop.example/checkout".into()),
        ..Signals::default()
    }
}

#[test]
fn answers_when_nothing_holds_it_back() {
    let o = outcome(&confident(), &policy(vec![]), "how long do refunds take");
    assert_eq!(o.handoff, None);
}

#[test]
fn low_confidence_hands_off_with_the_threshold() {
    let signals = Signals {
        confidence: 0.3,
        ..confident()
    };
    let o = outcome(&signals, &policy(vec![]), "q");
    assert!(
        matches!(o.handoff, Some(HandoffReason::LowConfidence { threshold, .. }) if threshold.value() == 0.5)
    );
}

#[test]
fn the_visitor_asking_for_a_person_wins_over_everything() {
    let signals = Signals {
        human_request: Some("talk to a person".into()),
        ..confident()
    };
    let answer_anyway = rule(
        "always answer",
        vec![Condition::Phrase {
            pattern: "person".into(),
        }],
        RuleAction::AnswerWithoutHandoff,
    );
    let o = outcome(&signals, &policy(vec![answer_anyway]), "talk to a person");
    assert!(matches!(
        o.handoff,
        Some(HandoffReason::HumanRequested { .. })
    ));
}

#[test]
fn sensitive_topics_hand_off_unless_the_category_is_disabled() {
    let signals = Signals {
        sensitive: Some(SensitiveMatch {
            category: "billing_dispute".into(),
            matched: "charged twice".into(),
            score: 1.0,
        }),
        ..confident()
    };
    let mut p = policy(vec![]);
    assert!(matches!(
        outcome(&signals, &p, "q").handoff,
        Some(HandoffReason::Sensitive { ref category, .. }) if category == "billing_dispute"
    ));
    p.categories
        .iter_mut()
        .for_each(|c| c.enabled = c.name != "billing_dispute");
    assert_eq!(outcome(&signals, &p, "q").handoff, None);
}

#[test]
fn rules_combine_conditions_and_actions() {
    let checkout_to_sales = rule(
        "checkout questions go to sales",
        vec![
            Condition::PageUrl {
                contains: "/checkout".into(),
            },
            Condition::Phrase {
                pattern: r"/\b(discount|coupon)\b/".into(),
            },
        ],
        RuleAction::HandOffToTeam {
            team: "sales".into(),
        },
    );
    let tag_refunds = rule(
        "tag refunds",
        vec![Condition::Topic {
            contains: "refund".into(),
        }],
        RuleAction::Tag {
            tag: "refunds".into(),
        },
    );
    let urgent_vip = rule(
        "VIPs first",
        vec![Condition::Attribute {
            key: "plan".into(),
            equals: "enterprise".into(),
        }],
        RuleAction::Priority {
            level: Priority::Urgent,
        },
    );
    let p = policy(vec![checkout_to_sales, tag_refunds, urgent_vip]);
    let mut signals = confident();
    signals
        .attributes
        .insert("plan".into(), serde_json::json!("enterprise"));

    let o = outcome(&signals, &p, "Do you have a coupon code?");
    assert_eq!(
        o.handoff,
        Some(HandoffReason::Rule {
            rule: "checkout questions go to sales".into(),
            team: Some("sales".into())
        })
    );
    assert_eq!(o.effects.tags, vec!["refunds".to_owned()]);
    assert_eq!(o.effects.priority, Some(Priority::Urgent));
    assert_eq!(o.rules.len(), 3);

    // Both conditions must hold: the phrase alone is not enough elsewhere.
    signals.page_url = Some("https://shop.example/blog".into());
    assert_eq!(
        outcome(&signals, &p, "Do you have a coupon code?").handoff,
        None
    );
}

#[test]
fn answer_without_handoff_overrides_sensitive_and_low_confidence() {
    let signals = Signals {
        confidence: 0.1,
        sensitive: Some(SensitiveMatch {
            category: "legal".into(),
            matched: "court".into(),
            score: 1.0,
        }),
        ..confident()
    };
    let p = policy(vec![rule(
        "the legal page answers court questions",
        vec![Condition::Category {
            name: "legal".into(),
        }],
        RuleAction::AnswerWithoutHandoff,
    )]);
    assert_eq!(outcome(&signals, &p, "q").handoff, None);
}

#[test]
fn unhelpful_streaks_and_hours_are_conditions() {
    let p = policy(vec![
        rule(
            "two strikes",
            vec![Condition::UnhelpfulInARow { at_least: 2 }],
            RuleAction::HandOff,
        ),
        rule(
            "night",
            vec![Condition::OutsideSupportHours],
            RuleAction::Tag {
                tag: "after-hours".into(),
            },
        ),
    ]);
    let mut signals = confident();
    signals.unhelpful_in_a_row = 1;
    assert_eq!(outcome(&signals, &p, "q").handoff, None);
    signals.unhelpful_in_a_row = 2;
    signals.outside_hours = true;
    let o = outcome(&signals, &p, "q");
    assert!(
        matches!(o.handoff, Some(HandoffReason::Rule { ref rule, .. }) if rule == "two strikes")
    );
    assert_eq!(o.effects.tags, vec!["after-hours".to_owned()]);
}

#[test]
fn phrases_and_categories_are_bounded_since_every_message_compiles_them() {
    let mut p = policy(Vec::new());
    assert!(super::settings::validate(&p).is_ok());
    p.human_request.phrases = vec!["x".repeat(201)];
    assert!(super::settings::validate(&p)
        .unwrap_err()
        .contains("requests for a person"));
    p.human_request.phrases = (0..101).map(|i| format!("phrase {i}")).collect();
    assert!(super::settings::validate(&p).is_err());
    p.human_request.phrases.clear();
    p.categories = (0..31)
        .map(|i| app::types::policy::SensitiveCategory {
            name: format!("topic_{i}"),
            enabled: true,
            phrases: Vec::new(),
            examples: Vec::new(),
        })
        .collect();
    assert!(super::settings::validate(&p)
        .unwrap_err()
        .contains("at most 30"));
}
