//! The dashboard: conversations per day by outcome, the AI-resolved rate,
//! handoffs by reason, time to a person's first reply, thumbs, and each
//! fix's handoff rate before and after it.

use std::collections::HashMap;

use app::types::review::{duration, Chart, Dashboard, Outcome, Rate, ReasonKind};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::chart::{horizontal_bars, short, stacked_bars, Bar, Series};
use super::metrics::{self, Facts};
use super::topics;

const OUTCOMES: [(Outcome, &str); 5] = [
    (Outcome::AiResolved, "#16a34a"),
    (Outcome::AiSoFar, "#86efac"),
    (Outcome::AiUnresolved, "#f59e0b"),
    (Outcome::HandedOff, "#475569"),
    (Outcome::NoAnswer, "#cbd5e1"),
];

/// Fixes whose topics' centres are this similar are fixes of one topic
/// (multilingual-e5-small: paraphrases score about 0.92 and up).
const SAME_TOPIC: f32 = 0.9;

fn day_labels(days: &[NaiveDate]) -> Vec<String> {
    days.iter().map(|d| d.format("%m-%d").to_string()).collect()
}

/// The column of the day `f` started on, in `days` (consecutive, oldest first).
fn day_of(f: &Facts, days: &[NaiveDate]) -> Option<usize> {
    let first = *days.first()?;
    let i = usize::try_from((f.started_at.date_naive() - first).num_days()).ok()?;
    (i < days.len()).then_some(i)
}

fn per_day<F: Fn(&Facts) -> f64>(facts: &[Facts], days: &[NaiveDate], value: F) -> Vec<f64> {
    let mut out = vec![0.0; days.len()];
    for f in facts {
        if let Some(i) = day_of(f, days) {
            out[i] += value(f);
        }
    }
    out
}

pub async fn dashboard(
    pool: &PgPool,
    workspace_id: Uuid,
    days: u32,
    now: DateTime<Utc>,
) -> Result<Dashboard, sqlx::Error> {
    let since = metrics::window_start(days, now);
    // From 7 days earlier: the settled AI-resolved rate looks a week back.
    let reach = metrics::facts(pool, workspace_id, since - metrics::SETTLES).await?;
    let (ai_resolved, ai_resolved_so_far) = metrics::ai_resolved_rate(&reach, since, now);
    let facts: Vec<Facts> = reach
        .into_iter()
        .filter(|f| f.started_at >= since)
        .collect();
    let calendar = metrics::days(since, now);
    let labels = day_labels(&calendar);
    let mut charts = Vec::new();

    // Conversations per day, by outcome.
    let series: Vec<Series> = OUTCOMES
        .iter()
        .map(|(o, colour)| Series {
            name: o.label(),
            colour,
            values: per_day(&facts, &calendar, |f| {
                f64::from(u8::from(metrics::outcome(f, now) == *o))
            }),
        })
        .collect();
    let mut counts: HashMap<Outcome, u32> = HashMap::new();
    for f in &facts {
        *counts.entry(metrics::outcome(f, now)).or_default() += 1;
    }
    charts.push(Chart {
        title: "Conversations per day".into(),
        caption: format!(
            "{} conversations: {}.",
            facts.len(),
            OUTCOMES
                .iter()
                .map(|(o, _)| format!("{} {}", counts.get(o).copied().unwrap_or(0), o.label()))
                .collect::<Vec<_>>()
                .join(" · ")
        ),
        svg: stacked_bars("Conversations per day", &labels, &series, "", true),
    });

    // Handoffs by reason, as a share of the conversations.
    let handed_off = Rate {
        count: facts.iter().filter(|f| f.handed_off()).count() as u32,
        total: facts.len() as u32,
    };
    let mut by_reason: HashMap<ReasonKind, u32> = HashMap::new();
    for f in facts.iter().filter(|f| f.handed_off()) {
        // A person who stepped in without a handoff (a claim, a reply) has no
        // reason stored: counted as "the team stepped in".
        let kind = f.first_reason.as_deref().map(ReasonKind::of_trigger);
        if let Some(kind) = kind {
            *by_reason.entry(kind).or_default() += 1;
        }
    }
    let stepped_in = handed_off.count - by_reason.values().sum::<u32>();
    let total = handed_off.total.max(1) as f64;
    // Ties keep the kinds' declared order (unsure first), not the filters'.
    let mut kinds = ReasonKind::ALL;
    kinds.sort();
    let mut bars: Vec<Bar> = kinds
        .iter()
        .filter_map(|k| by_reason.get(k).map(|n| (k.label().to_owned(), *n)))
        .chain((stepped_in > 0).then(|| ("the team stepped in".to_owned(), stepped_in)))
        .map(|(label, n)| Bar {
            label,
            value: 100.0 * n as f64 / total,
            text: format!("{:.0} % ({n})", 100.0 * n as f64 / total),
            colour: "#475569",
        })
        .collect();
    bars.sort_by(|a, b| b.value.total_cmp(&a.value));
    charts.push(Chart {
        title: "Handoff rate by reason".into(),
        caption: {
            let offered: Vec<&Facts> = facts.iter().filter(|f| f.unsure_offers > 0).collect();
            let then_handed_off = offered.iter().filter(|f| f.handed_off()).count();
            let mut caption = format!(
                "{} of {} conversations were handed off ({}).",
                handed_off.count,
                handed_off.total,
                handed_off.share()
            );
            if !offered.is_empty() {
                caption.push_str(&format!(
                    " The AI said it was unsure and offered the team in {} conversations ({} times); {} of them then went to the team.",
                    offered.len(),
                    offered.iter().map(|f| f.unsure_offers).sum::<i64>(),
                    then_handed_off
                ));
            }
            caption
        },
        svg: horizontal_bars("Handoff rate by reason", &bars, 100.0),
    });

    // Time to a person's first reply after a handoff.
    let mut waits: Vec<f64> = facts.iter().filter_map(Facts::first_reply_secs).collect();
    let (median, p90) = metrics::median_p90(&mut waits);
    let mut by_day: Vec<Vec<f64>> = vec![Vec::new(); calendar.len()];
    for f in &facts {
        if let (Some(secs), Some(i)) = (f.first_reply_secs(), day_of(f, &calendar)) {
            by_day[i].push(secs / 60.0);
        }
    }
    let mut medians: Vec<f64> = by_day
        .iter_mut()
        .map(|v| metrics::median_p90(v).0.unwrap_or(0.0))
        .collect();
    // Minutes, or seconds when every median is under two minutes.
    let in_seconds = medians.iter().all(|m| *m < 2.0);
    if in_seconds {
        medians.iter_mut().for_each(|m| *m *= 60.0);
    }
    let unit = if in_seconds { " s" } else { " min" };
    charts.push(Chart {
        title: "Time to first human reply (median per day)".into(),
        caption: match (median, p90) {
            (Some(m), Some(p)) => format!(
                "{} answered: median {}, 90 % within {}.",
                if waits.len() == 1 {
                    "1 handoff".to_owned()
                } else {
                    format!("{} handoffs", waits.len())
                },
                duration(m),
                duration(p)
            ),
            _ => "No handoff was answered in this period.".into(),
        },
        svg: stacked_bars(
            "Time to first human reply",
            &labels,
            &[Series {
                name: "median",
                colour: "#0ea5e9",
                values: medians,
            }],
            unit,
            false,
        ),
    });

    // Thumbs up and down on AI answers.
    let (up, down): (i64, i64) = facts
        .iter()
        .fold((0, 0), |(u, d), f| (u + f.thumbs_up, d + f.thumbs_down));
    charts.push(Chart {
        title: "Answers rated by visitors".into(),
        caption: format!("{up} thumbs up, {down} thumbs down."),
        svg: stacked_bars(
            "Answers rated by visitors",
            &labels,
            &[
                Series {
                    name: "thumbs up",
                    colour: "#16a34a",
                    values: per_day(&facts, &calendar, |f| f.thumbs_up as f64),
                },
                Series {
                    name: "thumbs down",
                    colour: "#dc2626",
                    values: per_day(&facts, &calendar, |f| f.thumbs_down as f64),
                },
            ],
            "",
            true,
        ),
    });

    // Each topic's handoff rate before and after its last fix.
    let mut fixes = Vec::new();
    let mut seen: Vec<Vec<f32>> = Vec::new();
    for fix in topics::fixes(pool, workspace_id).await? {
        // Only the newest fix of each topic (centres this close are one topic).
        if seen
            .iter()
            .any(|c| crate::embed::cosine(c, &fix.centre) >= SAME_TOPIC)
        {
            continue;
        }
        seen.push(fix.centre.clone());
        fixes.push(topics::effect(pool, workspace_id, &fix).await?);
        if fixes.len() == 10 {
            break;
        }
    }
    let mut bars = Vec::new();
    for f in &fixes {
        for (when, rate, colour) in [
            ("before", f.before, "#94a3b8"),
            ("after", f.after, "#16a34a"),
        ] {
            bars.push(Bar {
                label: format!("{} — {when}", short(&f.topic, 24)),
                value: f64::from(rate.percent().unwrap_or(0.0)),
                text: format!("{} of {} · {}", rate.share(), rate.total, f.fix.kind),
                colour,
            });
        }
    }
    charts.push(Chart {
        title: "Handoff rate per topic, before and after its last fix".into(),
        caption: if fixes.is_empty() {
            "No fix made from a topic yet.".into()
        } else {
            format!(
                "Questions like each fixed topic's, handed off in the 30 days before its last fix and since ({} topics).",
                fixes.len()
            )
        },
        svg: horizontal_bars("Handoff rate per topic before and after its fix", &bars, 100.0),
    });

    Ok(Dashboard {
        days,
        conversations: facts.len() as u32,
        ai_resolved,
        ai_resolved_so_far,
        handed_off,
        first_reply_median_secs: median,
        first_reply_p90_secs: p90,
        thumbs_up: up as u32,
        thumbs_down: down as u32,
        charts,
        fixes,
    })
}

#[cfg(test)]
mod tests {
    use app::types::{Confidence, HandoffReason, RequestChannel};

    use super::*;

    #[test]
    fn stored_triggers_map_to_the_kinds_of_their_reasons() {
        let c = Confidence::clamped(0.1);
        for reason in [
            HandoffReason::HumanRequested {
                via: RequestChannel::Message,
                matched: None,
            },
            HandoffReason::Sensitive {
                category: "x".into(),
                matched: "y".into(),
            },
            HandoffReason::LowConfidence {
                confidence: c,
                threshold: c,
            },
            HandoffReason::Rule {
                rule: "r".into(),
                team: None,
            },
            HandoffReason::NotGrounded,
            HandoffReason::GeneratorFailed { error: "e".into() },
            HandoffReason::Reopened,
        ] {
            let stored = serde_json::to_value(&reason).unwrap();
            let trigger = stored["trigger"].as_str().unwrap();
            assert_eq!(
                ReasonKind::of_trigger(trigger),
                ReasonKind::of(&reason),
                "{trigger}"
            );
            assert!(
                ReasonKind::of(&reason).triggers().contains(&trigger),
                "{trigger}"
            );
        }
    }
}
