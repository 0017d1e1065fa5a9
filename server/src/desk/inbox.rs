//! The inbox's server functions beyond the live thread: filtered lists and
//! search, a conversation, the directory (members with presence, teams,
//! canned replies, tags), tags on a conversation, and a suggested reply from
//! the answer engine.

use app::desk::SignedIn;
use app::error::DeskError;
use app::inbox::InboxDesk;
use app::types::inbox::{CannedReply, Directory, ListFilter, Member, Suggestion};
use app::types::{
    ConversationDetails, ConversationSummary, ConversationView, EventBody, ReasonKind,
};
use uuid::Uuid;

use super::{internal, EngineDesk};
use crate::answer::{self, generate};
use crate::db::Scope;
use crate::inbox::{queue_sql, summary, SummaryRow, SUMMARY_SELECT};
use crate::policy::{self, Message};
use crate::thread::hub::Change;
use crate::thread::presence;
use crate::thread::store;
use crate::Engines;

/// `%` and `_` taken literally in an `ilike` pattern.
fn like_pattern(words: &str) -> String {
    let escaped = words
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    account_id: Uuid,
    name: String,
    email: String,
    #[sqlx(try_from = "String")]
    role: app::types::Role,
    /// Seconds since their inbox was last heard from.
    seen_secs: Option<f64>,
    away: bool,
    teams: Vec<String>,
    assigned: i64,
    max_open: Option<i32>,
}

async fn members(engines: &Engines, workspace_id: Uuid) -> Result<Vec<Member>, sqlx::Error> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "select a.account_id, a.name, a.email, m.role,
                extract(epoch from now() - m.last_seen_at)::float8 as seen_secs, m.away,
                array(select t.name from team_member tm join team t using (team_id)
                       where tm.account_id = a.account_id and t.workspace_id = $1 order by t.name) as teams,
                (select count(*) from conversation c where c.workspace_id = $1
                   and c.assignee_id = a.account_id and c.status in ('waiting_human', 'open')) as assigned,
                m.max_open
           from membership m join account a using (account_id)
          where m.workspace_id = $1 order by a.name, a.account_id",
    )
    .bind(workspace_id)
    .fetch_all(engines.pool.ws(workspace_id))
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Member {
            account_id: r.account_id,
            name: r.name,
            email: r.email,
            role: r.role,
            presence: presence::of(r.seen_secs, r.away),
            teams: r.teams,
            assigned: r.assigned,
            max_open: r.max_open,
        })
        .collect())
}

/// A tag: trimmed, lower case, 1–40 characters, no commas.
fn clean_tag(tag: &str) -> Result<String, DeskError> {
    match app::types::text::plain_name(tag, 40) {
        Some(tag) if !tag.contains(',') => Ok(tag.to_lowercase()),
        _ => Err(DeskError::Invalid(
            "A tag is 1 to 40 characters, without commas or control characters.".into(),
        )),
    }
}

/// The visitor's messages since the team or the AI last replied (at most
/// the last five), as one question.
/// The visitor's messages before `events[..end]`'s last reply, the last three
/// (what a follow-up leans on).
fn earlier_questions(events: &[app::types::ThreadEvent], end: usize) -> Vec<String> {
    let mut earlier: Vec<String> = events[..end]
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::VisitorMessage { text } => Some(text.clone()),
            _ => None,
        })
        .collect();
    earlier.drain(..earlier.len().saturating_sub(3));
    earlier
}

/// Where the events after the last answer (a person's or the AI's) start.
fn since_last_reply(events: &[app::types::ThreadEvent]) -> usize {
    events
        .iter()
        .rposition(|e| {
            matches!(
                e.body,
                EventBody::HumanReply { .. } | EventBody::AiAnswer { .. }
            )
        })
        .map_or(0, |i| i + 1)
}

fn open_question(events: &[app::types::ThreadEvent]) -> Option<String> {
    let since_reply = since_last_reply(events);
    let mut asked: Vec<&str> = events[since_reply..]
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::VisitorMessage { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    if asked.is_empty() {
        // Everything was answered: suggest for the latest question anyway.
        asked.extend(events.iter().rev().find_map(|e| match &e.body {
            EventBody::VisitorMessage { text } => Some(text.as_str()),
            _ => None,
        }));
    }
    let from = asked.len().saturating_sub(5);
    (!asked.is_empty()).then(|| asked[from..].join("\n"))
}

/// A conversation of the agent's workspace: its list row and its whole log.
async fn thread_of(
    pool: &sqlx::PgPool,
    agent: &SignedIn,
    id: Uuid,
) -> Result<(ConversationSummary, Vec<app::types::ThreadEvent>), DeskError> {
    let summary = summary(pool, agent.workspace_id, agent.profile.account_id, id)
        .await
        .map_err(internal)?
        .ok_or(DeskError::NotFound)?;
    let events = store::events_after(pool.ws(agent.workspace_id), id, 0, 10_000)
        .await
        .map_err(internal)?;
    Ok((summary, events))
}

#[async_trait::async_trait]
impl InboxDesk for EngineDesk {
    async fn conversation(
        &self,
        agent: &SignedIn,
        id: Uuid,
    ) -> Result<ConversationView, DeskError> {
        let (summary, events) = thread_of(&self.engines.pool, agent, id).await?;
        let db = self.engines.pool.ws(agent.workspace_id);
        // What the AI detected on the latest message it weighed.
        let (page_url, language, email, priority, written): (Option<String>, Option<String>, Option<String>, String, Option<String>) =
            sqlx::query_as(
                "select c.page_url, c.language, coalesce(c.follow_up_email, v.email), c.priority,
                        (select d.record->'signals'->>'language' from decision d
                          where d.conversation_id = c.conversation_id
                            and d.record->'signals'->>'language' is not null
                          order by d.created_at desc limit 1)
                   from conversation c join visitor v using (visitor_id) where c.conversation_id = $1",
            )
            .bind(id)
            .fetch_one(db)
            .await
            .map_err(internal)?;
        // The visitor's own words tell best: their latest message long
        // enough to tell, else what the AI detected, else the widget's.
        let own = events.iter().rev().find_map(|e| match &e.body {
            app::types::EventBody::VisitorMessage { text } => crate::lang::Language::detect(text),
            _ => None,
        });
        let details = ConversationDetails {
            page_url,
            language: own
                .map(|l| l.code())
                .or(written.as_deref())
                .and_then(crate::lang::name_of_code)
                .map(|name| format!("writes in {name}"))
                .or_else(|| {
                    language
                        .as_deref()
                        .and_then(app::types::widget::Language::parse)
                        .map(|l| l.name().to_owned())
                }),
            email,
            priority,
        };
        Ok(ConversationView {
            summary,
            events,
            details,
        })
    }

    async fn conversations(
        &self,
        agent: &SignedIn,
        filter: ListFilter,
    ) -> Result<Vec<ConversationSummary>, DeskError> {
        let engines = &self.engines;
        let (condition, order) = queue_sql(filter.queue);
        let reasons: Option<Vec<String>> = match filter.reason.as_deref() {
            Some(reason) => Some(
                ReasonKind::from_label(reason)
                    .map(ReasonKind::triggers)
                    .ok_or_else(|| {
                        DeskError::Invalid(format!("Unknown reason \u{201c}{reason}\u{201d}."))
                    })?
                    .iter()
                    .map(|t| (*t).to_owned())
                    .collect(),
            ),
            None => None,
        };
        let search = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.chars().count() > 200 {
                    Err(DeskError::Invalid(
                        "Search for at most 200 characters.".into(),
                    ))
                } else {
                    Ok(like_pattern(s))
                }
            })
            .transpose()?;
        let sql = format!(
            "{SUMMARY_SELECT} where c.workspace_id = $1 and c.last_seq > 0 and {condition}
               and ($3::text[] is null or c.handoff_reason->>'trigger' = any($3))
               and ($4::text is null or $4 = any(c.tags))
               and ($5::text is null or lower(c.team) = lower($5))
               and ($6::text is null
                    or v.name ilike $6 or v.email ilike $6 or c.follow_up_email ilike $6 or v.external_id ilike $6
                    or exists (select 1 from event e where e.conversation_id = c.conversation_id
                                and e.kind in ('visitor_message', 'ai_answer', 'human_reply', 'note')
                                and e.payload->>'text' ilike $6))
             order by {order}, c.conversation_id limit 200"
        );
        let rows = sqlx::query_as::<_, SummaryRow>(sqlx::AssertSqlSafe(sql))
            .bind(agent.workspace_id)
            .bind(agent.profile.account_id)
            .bind(reasons)
            .bind(
                filter
                    .tag
                    .as_deref()
                    .map(|t| t.trim().to_lowercase())
                    .filter(|t| !t.is_empty()),
            )
            .bind(
                filter
                    .team
                    .as_deref()
                    .map(str::trim)
                    .filter(|t| !t.is_empty()),
            )
            .bind(search)
            .fetch_all(engines.pool.ws(agent.workspace_id))
            .await
            .map_err(internal)?;
        Ok(rows.into_iter().map(SummaryRow::into_summary).collect())
    }

    async fn directory(&self, agent: &SignedIn) -> Result<Directory, DeskError> {
        let engines = &self.engines;
        let pool = &engines.pool;
        let workspace_id = agent.workspace_id;
        let members = members(engines, workspace_id).await.map_err(internal)?;
        let teams: Vec<String> = sqlx::query_scalar!(
            "select name from team where workspace_id = $1 order by lower(name)",
            workspace_id,
        )
        .fetch_all(pool.ws(agent.workspace_id))
        .await
        .map_err(internal)?;
        let canned: Vec<(Uuid, String, String)> = sqlx::query_as(
            "select canned_id, shortcut, body from canned_reply where workspace_id = $1 order by shortcut",
        )
        .bind(workspace_id)
        .fetch_all(pool.ws(agent.workspace_id))
        .await
        .map_err(internal)?;
        let tags: Vec<String> = sqlx::query_scalar(
            "select tag from conversation, unnest(tags) tag where workspace_id = $1
              group by tag order by count(*) desc, tag limit 50",
        )
        .bind(workspace_id)
        .fetch_all(pool.ws(agent.workspace_id))
        .await
        .map_err(internal)?;
        Ok(Directory {
            members,
            teams,
            canned: canned
                .into_iter()
                .map(|(canned_id, shortcut, body)| CannedReply {
                    canned_id,
                    shortcut,
                    body,
                })
                .collect(),
            tags,
        })
    }

    async fn set_tags(
        &self,
        agent: &SignedIn,
        conversation_id: Uuid,
        tags: Vec<String>,
    ) -> Result<Vec<String>, DeskError> {
        let engines = &self.engines;
        if tags.len() > 20 {
            return Err(DeskError::Invalid("At most 20 tags.".into()));
        }
        let mut clean = tags
            .iter()
            .map(|t| clean_tag(t))
            .collect::<Result<Vec<_>, _>>()?;
        clean.sort();
        clean.dedup();
        let mut tx = crate::desk::begin(engines, agent).await?;
        let updated = sqlx::query!(
            "update conversation set tags = $3, updated_at = now()
              where conversation_id = $1 and workspace_id = $2",
            conversation_id,
            agent.workspace_id,
            &clean,
        )
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        if updated.rows_affected() == 0 {
            return Err(DeskError::NotFound);
        }
        // The lists show tags: their rows are read again.
        store::notify(&mut tx, Change::Stored, agent.workspace_id, conversation_id)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(clean)
    }

    async fn suggest_reply(
        &self,
        agent: &SignedIn,
        conversation_id: Uuid,
    ) -> Result<Suggestion, DeskError> {
        let engines = &self.engines;
        let pool = &engines.pool;
        let (_, events) = thread_of(pool, agent, conversation_id).await?;
        let question = open_question(&events)
            .ok_or_else(|| DeskError::Invalid("The visitor has not asked anything yet.".into()))?;
        let policy = super::saved_policy(engines, agent).await?;
        let since_reply = since_last_reply(&events);
        let message = Message {
            workspace_id: agent.workspace_id,
            text: question.clone(),
            page_url: None,
            attributes: Default::default(),
            unhelpful_in_a_row: 0,
            at: Some(chrono::Utc::now()),
            history: earlier_questions(&events, since_reply),
            parts: Vec::new(),
        };
        let decided = policy::decide(pool, &engines.embedder, &policy, &message)
            .await
            .map_err(internal)?;
        // A suggestion is written whatever the handoff policy decided (a person
        // asked for, a sensitive topic): the agent reads it before sending.
        let given = &decided.ranked[..decided.ranked.len().min(answer::GIVEN)];
        if given.is_empty() {
            return Err(DeskError::Invalid(
                "Nothing in the knowledge matches this conversation; write the reply yourself."
                    .into(),
            ));
        }
        let sources = generate::sources(given);
        let generator = answer::generator(
            &policy.generator,
            &engines.outbound,
            std::time::Duration::ZERO,
        );
        let (out, _pieces) = tokio::sync::mpsc::unbounded_channel();
        let text = generator
            .generate(&question, &sources, &out)
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, detail = err.detail(), "a suggestion failed");
                DeskError::Invalid(format!("The AI could not write a suggestion: {err}"))
            })?;
        let grounded = generate::ground(&text, &sources).ok_or_else(|| {
            DeskError::Invalid(
                "The AI's suggestion cited none of the knowledge; write the reply yourself.".into(),
            )
        })?;
        Ok(Suggestion {
            text: grounded.text,
            citations: grounded.citations,
            confidence: decided.decision.confidence.value(),
            question,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_filter_names_triggers() {
        for kind in ReasonKind::ALL {
            let named = ReasonKind::from_label(kind.label()).map(ReasonKind::triggers);
            assert!(named.is_some_and(|t| !t.is_empty()), "{kind:?}");
        }
        assert!(ReasonKind::from_label("nope").is_none());
    }

    #[test]
    fn search_words_are_taken_literally() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn tags_are_plain() {
        assert_eq!(clean_tag("  Billing ").unwrap(), "billing");
        assert!(clean_tag("").is_err());
        assert!(clean_tag("a,b").is_err());
    }
}
