//! A self-hoster's own workspaces: the first run (a setup code printed at
//! start lets the first visitor holding it create the first workspace and
//! its admin), `tandem setup` on a headless server, and further workspaces
//! for an admin. One function creates a workspace for all three.

use std::path::Path;

use app::types::policy::SupportHours;
use app::types::setup::{NewAdmin, NewWorkspace};
use app::types::widget::Language;
use sqlx::types::Json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::Scope;
use crate::ingest::crawl::CrawlSettings;
use crate::ingest::jobs;
use crate::{auth, demo};

/// Hours between re-crawls of the website given at set-up.
const RECRAWL_HOURS: i32 = 24;

/// Why a workspace was not created; the text is for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Invalid(String),
    /// The setup code is wrong, or the install is already set up.
    #[error("This setup link is not valid (any more). Sign in, or open the link Tandem printed when it started.")]
    Code,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A checked [`NewWorkspace`].
#[derive(Clone, Debug)]
pub struct WorkspaceSpec {
    pub name: String,
    pub site: Option<url::Url>,
    pub language: Option<Language>,
    pub hours: Option<SupportHours>,
}

impl WorkspaceSpec {
    /// Every problem of the form at once, one per line.
    pub fn parse(form: &NewWorkspace) -> Result<Self, SetupError> {
        let mut problems = Vec::new();
        let name = app::types::text::plain_name(&form.name, 80);
        if name.is_none() {
            problems.push(
                "The business name is 1 to 80 characters, without control characters.".to_owned(),
            );
        }
        let site = match form.site_url.trim() {
            "" => None,
            text => {
                let url = url::Url::parse(text)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
                if url.is_none() {
                    problems.push(
                        "The website is a web address starting with http:// or https://."
                            .to_owned(),
                    );
                }
                url
            }
        };
        let language = match form.language.trim() {
            "" | "auto" => None,
            code => {
                let language = Language::parse(code);
                if language.is_none() {
                    problems.push("Choose one of the widget's languages.".to_owned());
                }
                language
            }
        };
        let hours = hours(form).unwrap_or_else(|problem| {
            problems.push(problem);
            None
        });
        match name {
            Some(name) if problems.is_empty() => Ok(Self {
                name: name.to_owned(),
                site,
                language,
                hours,
            }),
            _ => Err(SetupError::Invalid(problems.join("\n"))),
        }
    }
}

/// The support hours a form describes (`None`: around the clock).
fn hours(form: &NewWorkspace) -> Result<Option<SupportHours>, String> {
    let open_days = match form.days.trim() {
        "always" => return Ok(None),
        "" | "mon-fri" => 5,
        "mon-sat" => 6,
        "every-day" => 7,
        other => return Err(format!("Unknown days “{other}”.")),
    };
    let time = |text: &str, default: &str| {
        let text = if text.trim().is_empty() {
            default
        } else {
            text.trim()
        };
        // Browsers may send seconds ("09:00:00").
        chrono::NaiveTime::parse_from_str(text, "%H:%M")
            .or_else(|_| chrono::NaiveTime::parse_from_str(text, "%H:%M:%S"))
            .map(|t| t.format("%H:%M").to_string())
            .map_err(|_| format!("“{text}” is not a time like 09:00."))
    };
    let opens = time(&form.opens, "09:00")?;
    let closes = time(&form.closes, "17:00")?;
    if opens >= closes {
        return Err("The team closes after it opens (for hours past midnight, set them on the policy page).".into());
    }
    let zone = form.time_zone.trim();
    let hours = SupportHours {
        time_zone: if zone.is_empty() {
            "UTC".into()
        } else {
            zone.into()
        },
        days: std::array::from_fn(|day| (day < open_days).then(|| (opens.clone(), closes.clone()))),
        holidays: Vec::new(),
    };
    crate::policy::hours::validate(&hours).map_err(|e| {
        let mut text = e;
        if let Some(first) = text.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        format!("{text}.")
    })?;
    Ok(Some(hours))
}

/// Who administers a new workspace.
pub enum Admin<'a> {
    /// A new account (the first run, or `tandem setup` for a new email).
    New(&'a NewAdmin),
    /// An existing account (`tandem setup`: the server's operator).
    Existing(Uuid),
    /// An existing account's admin creating one more from the app: at most
    /// [`WORKSPACES_PER_DAY`] a day.
    Creator(Uuid),
}

/// Workspaces an account may create from the app a day.
pub const WORKSPACES_PER_DAY: i64 = 10;

impl Admin<'_> {
    /// What is wrong with a new admin's form (nothing for an existing one).
    pub fn problems(&self) -> Vec<&'static str> {
        let mut problems = Vec::new();
        if let Admin::New(admin) = self {
            if app::types::text::plain_name(&admin.name, 80).is_none() {
                problems.push("Your name is 1 to 80 characters, without control characters.");
            }
            let email = admin.email.trim();
            if email.len() > 254
                || !email
                    .split_once('@')
                    .is_some_and(|(a, b)| !a.is_empty() && (b.contains('.') || b == "localhost"))
            {
                problems.push("Enter an email address like you@example.com.");
            }
            let n = admin.password.chars().count();
            if !(10..=200).contains(&n) {
                problems.push("A password is 10 to 200 characters.");
            }
        }
        problems
    }

    fn check(&self) -> Result<(), SetupError> {
        match self.problems().as_slice() {
            [] => Ok(()),
            problems => Err(SetupError::Invalid(problems.join("\n"))),
        }
    }
}

/// A created workspace.
#[derive(Clone, Debug)]
pub struct Created {
    pub workspace_id: Uuid,
    pub slug: String,
    pub account_id: Uuid,
    /// The website's source, its first crawl queued.
    pub source_id: Option<Uuid>,
}

/// A slug from a name: lower-case letters and digits joined by dashes.
pub fn slug_of(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_matches('-').to_owned();
    if slug.len() < 2 {
        "workspace".to_owned()
    } else {
        slug
    }
}

/// Creates a workspace with its admin, its widget's language and support
/// hours, and queues the first crawl of its website. With `code`, only
/// while the install awaits its first run and the code is right (the code
/// is then spent, in the same transaction). `owner` is the tables' owner's
/// pool (a workspace is created across workspaces by design).
pub async fn create(
    owner: &PgPool,
    spec: &WorkspaceSpec,
    admin: Admin<'_>,
    code: Option<&str>,
) -> Result<Created, SetupError> {
    admin.check()?;
    // Hashed before any lock is taken.
    let new_account = match admin {
        Admin::New(new) => Ok((new, auth::hash_off_runtime(&new.password).await)),
        Admin::Existing(id) | Admin::Creator(id) => Err(id),
    };
    let workspace_id = Uuid::new_v4();
    let mut tx = owner.ws(workspace_id).begin().await?;
    let created_by = match admin {
        Admin::New(_) => None,
        Admin::Existing(id) => Some(id),
        Admin::Creator(id) => {
            // Counted under a lock: parallel requests count one by one.
            sqlx::query("select pg_advisory_xact_lock(hashtext('new-workspace:' || $1::text))")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let today: i64 = sqlx::query_scalar(
                "select count(*) from workspace
                  where created_by = $1 and created_at > now() - interval '1 day'",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            if today >= WORKSPACES_PER_DAY {
                return Err(SetupError::Invalid(format!(
                    "You made {WORKSPACES_PER_DAY} workspaces today; try again tomorrow."
                )));
            }
            Some(id)
        }
    };
    if let Some(code) = code {
        let stored: Option<String> =
            sqlx::query_scalar!("select code from install_setup for update",)
                .fetch_optional(&mut *tx)
                .await?;
        let right = stored.is_some_and(|stored| same_code(&stored, code));
        if !right {
            return Err(SetupError::Code);
        }
        sqlx::query!("delete from install_setup",)
            .execute(&mut *tx)
            .await?;
    }
    let base = slug_of(&spec.name);
    let taken: Vec<String> = sqlx::query_scalar!(
        "select slug from workspace where slug = $1 or slug like $1 || '-%'",
        &base,
    )
    .fetch_all(&mut *tx)
    .await?;
    let slug = (1..)
        .map(|n| {
            if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            }
        })
        .find(|s| !taken.contains(s))
        .expect("an unused slug");
    sqlx::query!(
        "insert into workspace (workspace_id, slug, name, created_by) values ($1, $2, $3, $4)",
        workspace_id,
        &slug,
        &spec.name,
        created_by,
    )
    .execute(&mut *tx)
    .await?;
    let account_id = match new_account {
        Ok((new, hash)) => {
            let exists: bool = sqlx::query_scalar(
                "select exists (select 1 from account where lower(email) = lower($1))",
            )
            .bind(new.email.trim())
            .fetch_one(&mut *tx)
            .await?;
            if exists {
                return Err(SetupError::Invalid(
                    "An account with this email exists: sign in with it and create the workspace from your account page.".into(),
                ));
            }
            let id = Uuid::new_v4();
            sqlx::query!(
                "insert into account (account_id, email, name, password_hash) values ($1, $2, $3, $4)",
                id,
                new.email.trim(),
                new.name.trim(),
                hash,
            )
            .execute(&mut *tx)
            .await?;
            id
        }
        Err(id) => id,
    };
    sqlx::query!(
        "insert into membership (account_id, workspace_id, role) values ($1, $2, 'admin')",
        account_id,
        workspace_id,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into widget_settings (workspace_id, identity_secret, language) values ($1, $2, $3)",
        workspace_id,
        auth::new_token(),
        spec.language.map_or("auto", Language::code),
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("insert into answer_settings (workspace_id, support_hours) values ($1, $2)")
        .bind(workspace_id)
        .bind(spec.hours.as_ref().map(Json))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let source_id = match &spec.site {
        Some(site) => {
            let id = jobs::website_source(
                owner,
                workspace_id,
                site.as_str(),
                &CrawlSettings::default(),
                Some(RECRAWL_HOURS),
            )
            .await
            .map_err(|e| SetupError::Invalid(e.to_string()))?;
            jobs::enqueue(owner.ws(workspace_id), id)
                .await
                .map_err(|e| SetupError::Invalid(e.to_string()))?;
            Some(id)
        }
        None => None,
    };
    tracing::info!(%workspace_id, %slug, "workspace created");
    Ok(Created {
        workspace_id,
        slug,
        account_id,
        source_id,
    })
}

/// Whether the install awaits its first run: no account administers a
/// workspace other than the demo's.
pub async fn pending(owner: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "select not exists (
            select 1 from membership m join workspace w using (workspace_id)
             where m.role = 'admin' and w.slug <> $1)",
    )
    .bind(demo::WORKSPACE_SLUG)
    .fetch_one(owner)
    .await
}

/// At start: the setup code while the install awaits its first run (made
/// once, shared by every instance through the database), kept in
/// `data_dir/setup-url` with the link to open; `None` once set up.
pub async fn prepare(
    owner: &PgPool,
    data_dir: &Path,
    public_url: &str,
) -> Result<Option<String>, sqlx::Error> {
    let file = data_dir.join("setup-url");
    if !pending(owner).await? {
        sqlx::query!("delete from install_setup",)
            .execute(owner)
            .await?;
        let _ = std::fs::remove_file(&file);
        return Ok(None);
    }
    sqlx::query!(
        "insert into install_setup (code) values ($1) on conflict do nothing",
        auth::new_token(),
    )
    .execute(owner)
    .await?;
    let code: String = sqlx::query_scalar!("select code from install_setup",)
        .fetch_one(owner)
        .await?;
    let link = format!("{public_url}/setup?code={code}");
    if std::fs::create_dir_all(data_dir).is_ok() {
        if let Err(err) = write_private(&file, &link) {
            tracing::warn!(error = %err, "could not keep the setup link");
        }
    }
    Ok(Some(link))
}

/// Writes a file only its owner may read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// Whether `code` is the install's setup code (while it awaits its first run).
pub async fn code_is_valid(owner: &PgPool, code: &str) -> Result<bool, sqlx::Error> {
    let stored: Option<String> = sqlx::query_scalar!("select code from install_setup",)
        .fetch_optional(owner)
        .await?;
    Ok(stored.is_some_and(|stored| same_code(&stored, code)))
}

/// Compared as digests, so the time taken says nothing about the code.
fn same_code(stored: &str, given: &str) -> bool {
    !given.trim().is_empty() && auth::token_hash(stored) == auth::token_hash(given.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(days: &str, opens: &str, closes: &str) -> NewWorkspace {
        NewWorkspace {
            name: "Lumen Lamps".into(),
            time_zone: "Europe/Berlin".into(),
            days: days.into(),
            opens: opens.into(),
            closes: closes.into(),
            ..NewWorkspace::default()
        }
    }

    #[test]
    fn slugs_are_readable_and_never_empty() {
        assert_eq!(slug_of("Lumen Lamps GmbH"), "lumen-lamps-gmbh");
        assert_eq!(slug_of("  Café & Co. "), "caf-co");
        assert_eq!(slug_of("日本"), "workspace");
        assert_eq!(slug_of("A"), "workspace");
    }

    #[test]
    fn support_hours_from_the_form() {
        let weekdays = hours(&form("mon-fri", "08:30", "18:00:00"))
            .unwrap()
            .unwrap();
        assert_eq!(weekdays.time_zone, "Europe/Berlin");
        assert_eq!(weekdays.days[0], Some(("08:30".into(), "18:00".into())));
        assert_eq!(weekdays.days[4], Some(("08:30".into(), "18:00".into())));
        assert_eq!(weekdays.days[5], None);
        assert!(hours(&form("always", "", "")).unwrap().is_none());
        assert!(hours(&form("mon-fri", "18:00", "09:00")).is_err());
        let mut unknown = form("mon-fri", "", "");
        unknown.time_zone = "Mars/Olympus".into();
        assert!(hours(&unknown).unwrap_err().contains("Mars/Olympus"));
    }

    #[test]
    fn a_site_must_be_a_web_address() {
        let mut f = form("mon-fri", "", "");
        f.site_url = "file:///etc/passwd".into();
        assert!(WorkspaceSpec::parse(&f).is_err());
        f.site_url = "https://help.example.com/".into();
        assert!(WorkspaceSpec::parse(&f).unwrap().site.is_some());
        f.name = " ".into();
        assert!(WorkspaceSpec::parse(&f).is_err());
    }
}
