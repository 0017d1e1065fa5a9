//! The team page's server functions (admins): invitations, roles, teams,
//! caps, canned replies and inbox settings.

use app::desk::Admin;
use app::error::DeskError;
use app::inbox::InboxDesk;
use app::team::TeamDesk;
use app::types::inbox::{valid_shortcut, InboxSettings, Invitation, Invited, TeamAdmin};
use app::types::Role;
use uuid::Uuid;

use super::{internal, EngineDesk};
use crate::auth;
use crate::db::Scope;
use crate::thread::hub::Change;
use crate::thread::{assign, store};

/// Invitations a workspace, and an admin across their workspaces, may make
/// a day (each may be an email to anyone); revoked ones count.
const INVITATIONS_PER_DAY: i64 = 100;

#[async_trait::async_trait]
impl TeamDesk for EngineDesk {
    async fn team_admin(&self, admin: &Admin) -> Result<TeamAdmin, DeskError> {
        let engines = &self.engines;
        let directory = self.directory(admin).await?;
        let invitations: Vec<(Uuid, String, String, chrono::DateTime<chrono::Utc>, bool)> =
            sqlx::query_as(
                "select invitation_id, email, role, expires_at, emailed from invitation
                  where workspace_id = $1 and accepted_at is null and revoked_at is null
                    and expires_at > now()
                  order by created_at desc",
            )
            .bind(admin.workspace_id)
            .fetch_all(engines.pool.ws(admin.workspace_id))
            .await
            .map_err(internal)?;
        let mut tx = crate::desk::begin(engines, admin).await?;
        let settings = assign::settings(&mut tx, admin.workspace_id)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(TeamAdmin {
            directory,
            invitations: invitations
                .into_iter()
                .map(|(invitation_id, email, role, expires_at, emailed)| {
                    Ok(Invitation {
                        invitation_id,
                        email,
                        role: Role::parse(&role).map_err(internal)?,
                        expires_at,
                        emailed,
                    })
                })
                .collect::<Result<_, DeskError>>()?,
            settings,
            email_invitations: engines.mail.enabled(),
        })
    }

    /// Invites someone to the workspace: by email when email is set up (the
    /// link is then theirs alone: the admin cannot accept it for an address
    /// they do not own, nor learn whether it has an account), else the link's
    /// path for the admin to hand over.
    async fn invite(&self, admin: &Admin, email: &str, role: &str) -> Result<Invited, DeskError> {
        let engines = &self.engines;
        let role = Role::parse(role).map_err(DeskError::Invalid)?;
        let email = crate::thread::actions::email_address(email).ok_or_else(|| {
            DeskError::Invalid("That does not look like an email address.".into())
        })?;
        // The checks and the insert under the workspace's and the admin's
        // locks: parallel requests count one by one.
        let mut tx = engines
            .pool
            .ws(admin.workspace_id)
            .begin()
            .await
            .map_err(internal)?;
        sqlx::query(
            "select pg_advisory_xact_lock(hashtext('invite:' || $1::text)),
                    pg_advisory_xact_lock(hashtext('inviter:' || $2::text))",
        )
        .bind(admin.workspace_id)
        .bind(admin.profile.account_id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        let (member, pending, today): (bool, bool, i64) = sqlx::query_as(
            "select exists(select 1 from membership m join account a using (account_id)
                            where m.workspace_id = $1 and lower(a.email) = lower($2)),
                    exists(select 1 from invitation
                            where workspace_id = $1 and lower(email) = lower($2) and accepted_at is null
                              and revoked_at is null and expires_at > now()),
                    (select count(*) from invitation
                      where workspace_id = $1 and created_at > now() - interval '1 day')",
        )
        .bind(admin.workspace_id)
        .bind(&email)
        .fetch_one(&mut *tx)
        .await
        .map_err(internal)?;
        if member {
            return Err(DeskError::Invalid(format!(
                "{email} is already on the team."
            )));
        }
        if pending {
            return Err(DeskError::Invalid(format!(
                "An invitation to {email} is pending already; revoke it to make a new one."
            )));
        }
        // The admin's own across every workspace (a new workspace is no new
        // allowance).
        let theirs: i64 = sqlx::query_scalar(
            "select count(*) from invitation where invited_by = $1 and created_at > now() - interval '1 day'",
        )
        .bind(admin.profile.account_id)
        .fetch_one(engines.system.pool())
        .await
        .map_err(internal)?;
        if today.max(theirs) >= INVITATIONS_PER_DAY {
            return Err(DeskError::Invalid(format!(
                "This workspace made {INVITATIONS_PER_DAY} invitations today; try again tomorrow."
            )));
        }
        let emailed = engines.mail.enabled();
        let (invitation_id, token) = auth::invite(
            &mut tx,
            admin.workspace_id,
            &email,
            role,
            admin.profile.account_id,
            emailed,
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        tracing::info!(workspace.id = %admin.workspace_id, agent.id = %admin.profile.account_id, emailed, "invitation created");
        if !emailed {
            return Ok(Invited::Link(format!("/invite/{token}")));
        }
        let link = format!(
            "{}/invite/{token}",
            engines.public_url.trim_end_matches('/')
        );
        let (subject, body) = crate::mail::invitation(
            &admin.profile.name,
            &admin.profile.workspace_name,
            role,
            &link,
        );
        match engines.mail.send_now(&email, &subject, body).await {
            Ok(()) => Ok(Invited::Emailed(email)),
            Err(err) => {
                tracing::warn!(workspace.id = %admin.workspace_id, error = %err, "invitation email not sent");
                auth::revoke_invitation(&engines.pool, admin.workspace_id, invitation_id)
                    .await
                    .map_err(internal)?;
                Err(DeskError::Invalid(format!(
                    "The email to {email} could not be sent, so there is no invitation. \
                     Check the mail relay (TANDEM_SMTP_URL) and try again."
                )))
            }
        }
    }

    /// Withdraws a pending invitation of the admin's workspace.
    async fn revoke_invitation(&self, admin: &Admin, invitation_id: Uuid) -> Result<(), DeskError> {
        let engines = &self.engines;
        if !auth::revoke_invitation(&engines.pool, admin.workspace_id, invitation_id)
            .await
            .map_err(internal)?
        {
            return Err(DeskError::NotFound);
        }
        tracing::info!(workspace.id = %admin.workspace_id, agent.id = %admin.profile.account_id, "invitation revoked");
        Ok(())
    }

    async fn save_member(
        &self,
        admin: &Admin,
        account_id: Uuid,
        role: &str,
        teams: Vec<String>,
        max_open: Option<i32>,
    ) -> Result<(), DeskError> {
        let engines = &self.engines;
        let role = Role::parse(role).map_err(DeskError::Invalid)?;
        if max_open.is_some_and(|m| !(1..=500).contains(&m)) {
            return Err(DeskError::Invalid("A cap is between 1 and 500.".into()));
        }
        let mut teams: Vec<String> = teams.iter().map(|t| t.trim().to_lowercase()).collect();
        teams.sort();
        teams.dedup();
        let mut tx = crate::desk::begin(engines, admin).await?;
        if !role.is_admin() {
            // The admins are locked while counted: two admins demoting each
            // other at once cannot leave none.
            let admins_left: i64 = sqlx::query_scalar(
                "select count(*) from (select 1 from membership
                    where workspace_id = $1 and role = 'admin' and account_id <> $2 for update) admins",
            )
            .bind(admin.workspace_id)
            .bind(account_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(internal)?;
            if admins_left == 0 {
                return Err(DeskError::Invalid(
                    "A workspace keeps at least one admin.".into(),
                ));
            }
        }
        let updated = sqlx::query!(
            "update membership set role = $3, max_open = $4 where workspace_id = $1 and account_id = $2",
            admin.workspace_id,
            account_id,
            role.as_str(),
            max_open,
        )
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        if updated.rows_affected() == 0 {
            return Err(DeskError::NotFound);
        }
        sqlx::query!(
            "delete from team_member where account_id = $2
               and team_id in (select team_id from team where workspace_id = $1)",
            admin.workspace_id,
            account_id,
        )
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        let joined = sqlx::query!(
            "insert into team_member (team_id, account_id)
             select team_id, $2 from team where workspace_id = $1 and lower(name) = any($3)",
            admin.workspace_id,
            account_id,
            &teams,
        )
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        if joined.rows_affected() as usize != teams.len() {
            return Err(DeskError::Invalid(
                "One of those teams does not exist.".into(),
            ));
        }
        tx.commit().await.map_err(internal)
    }

    async fn remove_member(&self, admin: &Admin, account_id: Uuid) -> Result<(), DeskError> {
        let engines = &self.engines;
        if account_id == admin.profile.account_id {
            return Err(DeskError::Invalid("You cannot remove yourself.".into()));
        }
        let mut tx = crate::desk::begin(engines, admin).await?;
        let removed = sqlx::query!(
            "delete from membership where workspace_id = $1 and account_id = $2",
            admin.workspace_id,
            account_id,
        )
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        if removed.rows_affected() == 0 {
            return Err(DeskError::NotFound);
        }
        // Their conversations go back to the queue (resolved ones keep nobody).
        let returned: Vec<Uuid> = sqlx::query_scalar!(
            "update conversation set assignee_id = null,
                status = case when status = 'open' then 'waiting_human' else status end
              where workspace_id = $1 and assignee_id = $2
              returning conversation_id",
            admin.workspace_id,
            account_id,
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(internal)?;
        for conversation_id in &returned {
            store::notify(
                &mut tx,
                Change::Stored,
                admin.workspace_id,
                *conversation_id,
            )
            .await
            .map_err(internal)?;
        }
        // Out of this workspace's teams, and off its conversations' viewers.
        for leave in [
            "delete from team_member where account_id = $2
               and team_id in (select team_id from team where workspace_id = $1)",
            "delete from viewer where account_id = $2
               and conversation_id in (select conversation_id from conversation where workspace_id = $1)",
        ] {
            sqlx::query(leave)
                .bind(admin.workspace_id)
                .bind(account_id)
                .execute(&mut *tx)
                .await
                .map_err(internal)?;
        }
        // Every session of theirs ends, whichever workspace it looked at: their
        // sockets here close on their next heartbeat, and they sign in again.
        sqlx::query!("delete from session where account_id = $1", account_id,)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        tracing::info!(workspace.id = %admin.workspace_id, agent.id = %admin.profile.account_id, removed = %account_id, "member removed");
        Ok(())
    }

    async fn add_team(&self, admin: &Admin, name: &str) -> Result<(), DeskError> {
        let engines = &self.engines;
        let name = app::types::text::plain_name(name, 60).ok_or_else(|| {
            DeskError::Invalid(
                "A team's name is 1 to 60 characters, without control characters.".into(),
            )
        })?;
        let added = sqlx::query!(
            "insert into team (team_id, workspace_id, name) values ($1, $2, $3) on conflict do nothing",
            Uuid::new_v4(),
            admin.workspace_id,
            name,
        )
        .execute(engines.pool.ws(admin.workspace_id))
        .await
        .map_err(internal)?;
        if added.rows_affected() == 0 {
            return Err(DeskError::Invalid(format!(
                "There is already a team \u{201c}{name}\u{201d}."
            )));
        }
        Ok(())
    }

    async fn delete_team(&self, admin: &Admin, name: &str) -> Result<(), DeskError> {
        let engines = &self.engines;
        sqlx::query!(
            "delete from team where workspace_id = $1 and lower(name) = lower($2)",
            admin.workspace_id,
            name.trim(),
        )
        .execute(engines.pool.ws(admin.workspace_id))
        .await
        .map_err(internal)?;
        Ok(())
    }

    async fn save_canned(
        &self,
        admin: &Admin,
        id: Option<Uuid>,
        shortcut: &str,
        body: &str,
    ) -> Result<Uuid, DeskError> {
        let engines = &self.engines;
        let shortcut = shortcut.trim().trim_start_matches('/').to_lowercase();
        if !valid_shortcut(&shortcut) {
            return Err(DeskError::Invalid(
                "A shortcut is lower-case letters, digits and dashes (at most 40).".into(),
            ));
        }
        let body =
            app::types::MessageBody::parse(body).map_err(|e| DeskError::Invalid(e.to_string()))?;
        // An id is an edit of this workspace's own reply (another's, or none,
        // is missing alike); no id, a new one.
        let (id, sql) = match id {
            Some(id) => (
                id,
                "update canned_reply set shortcut = $3, body = $4, updated_at = now()
                  where canned_id = $1 and workspace_id = $2",
            ),
            None => (
                Uuid::new_v4(),
                "insert into canned_reply (canned_id, workspace_id, shortcut, body) values ($1, $2, $3, $4)",
            ),
        };
        let saved = sqlx::query(sql)
            .bind(id)
            .bind(admin.workspace_id)
            .bind(&shortcut)
            .bind(body.as_str())
            .execute(engines.pool.ws(admin.workspace_id))
            .await;
        match saved {
            Ok(done) if done.rows_affected() == 1 => Ok(id),
            Ok(_) => Err(DeskError::NotFound),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Err(DeskError::Invalid(
                format!("There is already a canned reply /{shortcut}."),
            )),
            Err(err) => Err(internal(err)),
        }
    }

    async fn delete_canned(&self, admin: &Admin, id: Uuid) -> Result<(), DeskError> {
        let engines = &self.engines;
        sqlx::query!(
            "delete from canned_reply where canned_id = $1 and workspace_id = $2",
            id,
            admin.workspace_id,
        )
        .execute(engines.pool.ws(admin.workspace_id))
        .await
        .map_err(internal)?;
        Ok(())
    }

    async fn save_inbox_settings(
        &self,
        admin: &Admin,
        settings: InboxSettings,
    ) -> Result<(), DeskError> {
        let engines = &self.engines;
        if !(1..=1440).contains(&settings.max_wait_minutes) {
            return Err(DeskError::Invalid(
                "The maximum wait is between 1 and 1440 minutes.".into(),
            ));
        }
        if !(1..=1440).contains(&settings.remind_after_minutes) {
            return Err(DeskError::Invalid(
                "Reminders come after 1 to 1440 minutes.".into(),
            ));
        }
        let mut tx = crate::desk::begin(engines, admin).await?;
        assign::save_settings(&mut tx, admin.workspace_id, &settings)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)
    }
}
