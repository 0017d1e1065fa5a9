//! What each conversation came to, and the dashboard's measures.
//!
//! Definitions (also on the dashboard and in the README):
//! - a conversation **starts** with the visitor's first message or request
//!   for the team (a visitor who only opened the chat is not counted);
//! - **handed off**: a person was needed at some point (the conversation
//!   waited for the team, an agent claimed it, or an agent replied);
//! - **reopened**: the visitor wrote again within [`SETTLES`] after it was
//!   resolved, or came back to it after [`CAME_BACK`] of quiet within
//!   [`SETTLES`] of its start;
//! - **AI-resolved**: the AI answered, nobody was needed, it was not
//!   reopened and no answer was rated down, and [`SETTLES`] have passed
//!   since it started. Before that it is "AI so far", counted apart.

use app::types::review::{Outcome, Rate};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::Scope;

/// How long a conversation may still be reopened before its outcome counts.
pub const SETTLES: Duration = Duration::days(7);
/// A visitor message after this much quiet is the visitor coming back.
pub const CAME_BACK: Duration = Duration::minutes(30);

/// What happened in one conversation.
#[derive(Clone, Debug, Default, PartialEq, sqlx::FromRow)]
pub struct Facts {
    pub conversation_id: Uuid,
    /// The visitor's first message or request for the team.
    pub started_at: DateTime<Utc>,
    pub status: String,
    pub visitor_messages: i64,
    pub ai_answers: i64,
    /// Times the AI said it was unsure and offered the team (no handoff).
    pub unsure_offers: i64,
    pub human_replies: i64,
    /// When a person was first needed (waiting for the team, or claimed).
    pub handed_off_at: Option<DateTime<Utc>>,
    /// When it first waited for the team.
    pub escalated_at: Option<DateTime<Utc>>,
    /// Why, as stored (`HandoffReason`'s trigger), for the first handoff.
    pub first_reason: Option<String>,
    /// A person's first reply after it first waited for the team.
    pub first_human_reply_at: Option<DateTime<Utc>>,
    pub reopened: bool,
    pub came_back: bool,
    pub thumbs_up: i64,
    pub thumbs_down: i64,
    pub page_url: Option<String>,
    pub team: Option<String>,
    pub tags: Vec<String>,
    pub assignee: Option<String>,
}

impl Facts {
    pub fn handed_off(&self) -> bool {
        self.handed_off_at.is_some() || self.human_replies > 0
    }

    /// Seconds from waiting for the team to a person's first reply.
    pub fn first_reply_secs(&self) -> Option<f64> {
        let (from, to) = (self.escalated_at?, self.first_human_reply_at?);
        Some(((to - from).num_milliseconds().max(0)) as f64 / 1000.0)
    }
}

/// What a conversation came to, seen at `now`.
pub fn outcome(facts: &Facts, now: DateTime<Utc>) -> Outcome {
    if facts.handed_off() {
        Outcome::HandedOff
    } else if facts.ai_answers == 0 {
        Outcome::NoAnswer
    } else if facts.reopened || facts.came_back || facts.thumbs_down > 0 || facts.unsure_offers > 0
    {
        // A miss the AI owned up to counts against it, even when the
        // visitor then got an answer by asking another way.
        Outcome::AiUnresolved
    } else if now - facts.started_at < SETTLES {
        Outcome::AiSoFar
    } else {
        Outcome::AiResolved
    }
}

/// The start of a window of `days` days ending now: midnight (UTC) of its
/// first day.
pub fn window_start(days: u32, now: DateTime<Utc>) -> DateTime<Utc> {
    (now - Duration::days(i64::from(days.max(1)) - 1))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
}

/// The AI-resolved rate of a window starting at `since`: among the
/// conversations that started in a window as long, [`SETTLES`] earlier (so
/// every one has settled); and, apart, among the window's own conversations
/// as they stand. `all` must reach back to `since - SETTLES`.
pub fn ai_resolved_rate(all: &[Facts], since: DateTime<Utc>, now: DateTime<Utc>) -> (Rate, Rate) {
    let (mut settled, mut so_far) = (Rate::default(), Rate::default());
    for f in all {
        let o = outcome(f, now);
        if f.started_at >= since {
            so_far.total += 1;
            so_far.count += u32::from(matches!(o, Outcome::AiResolved | Outcome::AiSoFar));
        }
        if f.started_at >= since - SETTLES && now - f.started_at >= SETTLES {
            settled.total += 1;
            settled.count += u32::from(o == Outcome::AiResolved);
        }
    }
    (settled, so_far)
}

/// The facts of the workspace's conversations that started since `since`.
pub async fn facts(
    pool: &PgPool,
    workspace_id: Uuid,
    since: DateTime<Utc>,
) -> Result<Vec<Facts>, sqlx::Error> {
    // `updated_at` moves with every event, so it narrows the scan first.
    sqlx::query_as::<_, Facts>(
        "select c.conversation_id, a.started_at, c.status,
                a.visitor_messages, a.ai_answers, a.unsure_offers, a.human_replies,
                a.handed_off_at, a.escalated_at, a.first_reason,
                (select min(r.created_at) from event r
                  where r.conversation_id = c.conversation_id and r.kind = 'human_reply'
                    and r.created_at >= a.escalated_at) as first_human_reply_at,
                a.reopened_by_reason or exists (
                  select 1 from event v
                   where v.conversation_id = c.conversation_id and v.kind = 'visitor_message'
                     and v.created_at > a.resolved_at and v.created_at < a.resolved_at + $4
                ) as reopened,
                a.came_back,
                f.thumbs_up, f.thumbs_down,
                c.page_url, c.team, c.tags, m.name as assignee
           from conversation c
           cross join lateral (
             select least(min(created_at) filter (where kind = 'visitor_message'),
                          min(created_at) filter (where kind = 'status_change'
                                and payload->>'status' = 'waiting_human')) as started_at,
                    count(*) filter (where kind = 'visitor_message') as visitor_messages,
                    count(*) filter (where kind = 'ai_answer') as ai_answers,
                    count(*) filter (where kind = 'ai_unsure') as unsure_offers,
                    count(*) filter (where kind = 'human_reply') as human_replies,
                    min(created_at) filter (where kind = 'status_change'
                          and payload->>'status' in ('waiting_human', 'open')) as handed_off_at,
                    min(created_at) filter (where kind = 'status_change'
                          and payload->>'status' = 'waiting_human') as escalated_at,
                    min(created_at) filter (where kind = 'status_change'
                          and payload->>'status' = 'resolved') as resolved_at,
                    (array_agg(payload->'reason'->>'trigger' order by seq)
                       filter (where kind = 'status_change' and payload->>'status' = 'waiting_human'
                                 and payload->'reason' is not null))[1] as first_reason,
                    coalesce(bool_or(kind = 'status_change'
                          and payload->'reason'->>'trigger' = 'reopened'), false) as reopened_by_reason,
                    coalesce(bool_or(kind = 'visitor_message' and created_at > first_asked
                          and gap > $3 and created_at < first_asked + $4), false) as came_back
               from (select kind, payload, seq, created_at,
                            created_at - lag(created_at) over (order by seq) as gap,
                            min(created_at) filter (where kind = 'visitor_message') over () as first_asked
                       from event where conversation_id = c.conversation_id) e
           ) a
           cross join lateral (
             select count(*) filter (where helpful) as thumbs_up,
                    count(*) filter (where not helpful) as thumbs_down
               from answer_feedback where conversation_id = c.conversation_id
           ) f
           left join account m on m.account_id = c.assignee_id
          where c.workspace_id = $1 and c.updated_at >= $2 and a.started_at >= $2
          order by a.started_at",
    )
    .bind(workspace_id)
    .bind(since)
    .bind(pg_interval(CAME_BACK))
    .bind(pg_interval(SETTLES))
    .fetch_all(pool.ws(workspace_id))
    .await
}

fn pg_interval(d: Duration) -> sqlx::postgres::types::PgInterval {
    sqlx::postgres::types::PgInterval {
        months: 0,
        days: 0,
        microseconds: d.num_microseconds().unwrap_or(i64::MAX),
    }
}

/// The median and 90th percentile of `values` (sorted in place).
pub fn median_p90(values: &mut [f64]) -> (Option<f64>, Option<f64>) {
    if values.is_empty() {
        return (None, None);
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    (Some(at(0.5)), Some(at(0.9)))
}

/// The UTC days from `since` to `now`, oldest first.
pub fn days(since: DateTime<Utc>, now: DateTime<Utc>) -> Vec<NaiveDate> {
    let (first, last) = (since.date_naive(), now.date_naive());
    first.iter_days().take_while(|d| *d <= last).collect()
}

/// One CSV field, quoted when needed; a leading `= + - @` (a formula to a
/// spreadsheet) is neutralised with an apostrophe.
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// The CSV export's columns.
pub const CSV_HEADER: &str =
    "conversation_id,started_at,status,outcome,visitor_messages,ai_answers,\
human_replies,handed_off,handoff_reason,first_human_reply_secs,reopened,thumbs_up,thumbs_down,\
page_url,team,tags,assignee";

/// One conversation as a CSV line (without its line break).
pub fn csv_line(f: &Facts, now: DateTime<Utc>) -> String {
    let outcome = serde_json::to_value(outcome(f, now))
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    [
        f.conversation_id.to_string(),
        f.started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        f.status.clone(),
        outcome,
        f.visitor_messages.to_string(),
        f.ai_answers.to_string(),
        f.human_replies.to_string(),
        f.handed_off().to_string(),
        f.first_reason.clone().unwrap_or_default(),
        f.first_reply_secs()
            .map(|s| format!("{s:.0}"))
            .unwrap_or_default(),
        (f.reopened || f.came_back).to_string(),
        f.thumbs_up.to_string(),
        f.thumbs_down.to_string(),
        f.page_url.clone().unwrap_or_default(),
        f.team.clone().unwrap_or_default(),
        f.tags.join(" "),
        f.assignee.clone().unwrap_or_default(),
    ]
    .iter()
    .map(|v| csv_field(v))
    .collect::<Vec<_>>()
    .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(now: DateTime<Utc>, age_days: i64) -> Facts {
        Facts {
            started_at: now - Duration::days(age_days),
            status: "ai".into(),
            visitor_messages: 2,
            ai_answers: 2,
            ..Facts::default()
        }
    }

    #[test]
    fn an_answered_conversation_is_resolved_only_once_settled() {
        let now = Utc::now();
        assert_eq!(outcome(&answered(now, 8), now), Outcome::AiResolved);
        assert_eq!(outcome(&answered(now, 2), now), Outcome::AiSoFar);
    }

    #[test]
    fn a_reopened_conversation_is_not_resolved() {
        let now = Utc::now();
        let came_back = Facts {
            came_back: true,
            ..answered(now, 10)
        };
        assert_eq!(outcome(&came_back, now), Outcome::AiUnresolved);
        let reopened = Facts {
            reopened: true,
            ..answered(now, 10)
        };
        assert_eq!(outcome(&reopened, now), Outcome::AiUnresolved);
        let rated_down = Facts {
            thumbs_down: 1,
            thumbs_up: 3,
            ..answered(now, 10)
        };
        assert_eq!(outcome(&rated_down, now), Outcome::AiUnresolved);
    }

    #[test]
    fn a_person_at_any_point_is_a_handoff() {
        let now = Utc::now();
        let replied = Facts {
            human_replies: 1,
            ..answered(now, 10)
        };
        assert_eq!(outcome(&replied, now), Outcome::HandedOff);
        let waited = Facts {
            handed_off_at: Some(now),
            ..answered(now, 10)
        };
        assert_eq!(outcome(&waited, now), Outcome::HandedOff);
        let silent = Facts {
            ai_answers: 0,
            ..answered(now, 10)
        };
        assert_eq!(outcome(&silent, now), Outcome::NoAnswer);
    }

    #[test]
    fn the_rate_counts_settled_conversations_only() {
        let now = Utc::now();
        let since = window_start(30, now);
        let all = vec![
            answered(now, 10),
            Facts {
                came_back: true,
                ..answered(now, 10)
            },
            answered(now, 1),
            // Settled, started in the 7 days before the window: in the rate only.
            answered(now, 33),
            // Too old for either.
            answered(now, 40),
        ];
        let (settled, so_far) = ai_resolved_rate(&all, since, now);
        assert_eq!((settled.count, settled.total), (2, 3));
        assert_eq!((so_far.count, so_far.total), (2, 3));
        // A 7-day window still has a settled rate: the week before it.
        let (week, _) = ai_resolved_rate(&all, window_start(7, now), now);
        assert_eq!((week.count, week.total), (1, 2));
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\"\nthen"), "\"say \"\"hi\"\"\nthen\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "'-1");
    }

    #[test]
    fn median_and_p90() {
        let mut v = vec![5.0, 1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 7.0, 8.0, 9.0, 100.0];
        assert_eq!(median_p90(&mut v), (Some(6.0), Some(10.0)));
        assert_eq!(median_p90(&mut []), (None, None));
    }
}
