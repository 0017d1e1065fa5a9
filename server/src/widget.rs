//! The widget's side of the server: its settings, which sites may embed it,
//! which visitors the embedding site vouches for (a user id signed with the
//! workspace's secret, HMAC-SHA256), and what a visitor waiting for a person
//! is told (support hours, agents online, recent reply times).

use app::types::policy::SupportHours;
use app::types::widget::{Expectation, Identity, Language, LauncherConfig, Position, WidgetLook};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sqlx::types::Json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::Scope;
use crate::policy::hours;
pub use crate::policy::settings::SaveError;

/// Why a chat frame or socket is refused on a site not on the list.
pub const NOT_ALLOWED_HERE: &str = "This chat is not enabled on this website.";
/// Why a visitor whose identity does not check out is refused.
pub const IDENTITY_REFUSED: &str =
    "This chat could not verify who you are. Please reload the page or sign in again.";

/// A workspace's widget settings as stored (`Debug` without the key).
#[derive(Clone, sqlx::FromRow)]
pub struct WidgetRow {
    pub workspace_id: Uuid,
    pub workspace_name: String,
    pub brand_color: String,
    pub position: String,
    pub greeting: Option<String>,
    pub launcher_text: Option<String>,
    pub language: String,
    pub allowed_origins: Vec<String>,
    pub identity_secret: String,
}

impl std::fmt::Debug for WidgetRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WidgetRow")
            .field("workspace_id", &self.workspace_id)
            .field("workspace_name", &self.workspace_name)
            .field("allowed_origins", &self.allowed_origins)
            .field("identity_secret", &app::types::REDACTED)
            .finish_non_exhaustive()
    }
}

const SELECT: &str = "select w.workspace_id, w.name as workspace_name, s.brand_color, s.position,
        s.greeting, s.launcher_text, s.language, s.allowed_origins, s.identity_secret
     from widget_settings s join workspace w using (workspace_id)";

/// A fresh identity secret: 32 random bytes, hex.
fn new_secret() -> String {
    crate::auth::new_token()
}

/// Creates the workspace's settings row (with a fresh secret) if it has none.
async fn ensure(pool: &PgPool, workspace_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into widget_settings (workspace_id, identity_secret) values ($1, $2)
         on conflict (workspace_id) do nothing",
        workspace_id,
        new_secret(),
    )
    .execute(pool.ws(workspace_id))
    .await?;
    Ok(())
}

/// The workspace's settings, created on first read (sockets, frames and
/// launchers read them on every connection: one query once they exist).
pub async fn settings(pool: &PgPool, workspace_id: Uuid) -> Result<WidgetRow, sqlx::Error> {
    let read = || {
        sqlx::query_as::<_, WidgetRow>(sqlx::AssertSqlSafe(format!(
            "{SELECT} where s.workspace_id = $1"
        )))
        .bind(workspace_id)
    };
    if let Some(row) = read().fetch_optional(pool.ws(workspace_id)).await? {
        return Ok(row);
    }
    ensure(pool, workspace_id).await?;
    read().fetch_one(pool.ws(workspace_id)).await
}

/// The settings of the workspace a widget names (`data-workspace`), if any.
pub async fn by_slug(pool: &PgPool, slug: &str) -> Result<Option<WidgetRow>, sqlx::Error> {
    match crate::db::workspace_by_slug(pool, slug).await? {
        Some(id) => settings(pool, id).await.map(Some),
        None => Ok(None),
    }
}

impl WidgetRow {
    pub fn look(&self) -> WidgetLook {
        WidgetLook {
            brand_color: self.brand_color.clone(),
            position: Position::parse(&self.position).unwrap_or_default(),
            greeting: self.greeting.clone().unwrap_or_default(),
            launcher_text: self.launcher_text.clone().unwrap_or_default(),
            language: Language::parse(&self.language),
            allowed_origins: self.allowed_origins.clone(),
        }
    }

    /// The set language, or the visitor's (`Accept-Language`), or English.
    pub fn language(&self, accept_language: Option<&str>) -> Language {
        Language::parse(&self.language)
            .or_else(|| accept_language.and_then(Language::from_accept_language))
            .unwrap_or(Language::En)
    }

    /// The greeting the chat opens with.
    pub fn greeting(&self, language: Language) -> String {
        match self.greeting.as_deref().filter(|g| !g.trim().is_empty()) {
            Some(greeting) => greeting.to_owned(),
            None => language
                .texts()
                .greeting
                .replace("{name}", &self.workspace_name),
        }
    }

    pub fn launcher(&self, language: Language) -> LauncherConfig {
        let texts = language.texts();
        LauncherConfig {
            brand_color: self.brand_color.clone(),
            position: Position::parse(&self.position).unwrap_or_default(),
            language,
            launcher_text: self
                .launcher_text
                .clone()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| texts.launcher.to_owned()),
            close_text: texts.close.to_owned(),
            frame_title: texts.frame_title.to_owned(),
            unread_label: texts.unread.to_owned(),
        }
    }

    /// Whether a page of `origin` may embed the widget: any site while the
    /// list is empty, else only those listed.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        if self.allowed_origins.is_empty() {
            return true;
        }
        origin
            .and_then(normalise_origin)
            .is_some_and(|o| self.allowed_origins.contains(&o))
    }

    /// Whether a page of `origin` may show the chat: Tandem's own pages (its
    /// demo) always, others as [`Self::allows`] says. `tandem_host` is the
    /// request's `Host`.
    pub fn allows_page(&self, origin: Option<&str>, tandem_host: Option<&str>) -> bool {
        let own = origin
            .and_then(|o| url::Url::parse(o).ok())
            .zip(tandem_host)
            .is_some_and(|(url, host)| {
                let authority = match url.port() {
                    Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                    None => url.host_str().unwrap_or_default().to_owned(),
                };
                authority.eq_ignore_ascii_case(host)
            });
        own || self.allows(origin)
    }

    /// The `frame-ancestors` source list for the chat frame.
    pub fn frame_ancestors(&self) -> String {
        if self.allowed_origins.is_empty() {
            "*".to_owned()
        } else {
            std::iter::once("'self'")
                .chain(self.allowed_origins.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        }
    }
}

/// `scheme://host[:port]`, lowercased, for an http(s) origin (a trailing
/// slash is fine; a path, query or credentials are not).
pub fn normalise_origin(text: &str) -> Option<String> {
    let url = url::Url::parse(text.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

type HmacSha256 = Hmac<sha2::Sha256>;

fn mac(secret: &str) -> HmacSha256 {
    HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length")
}

/// hex(HMAC-SHA256(secret, user_id)): what the site's server computes.
pub fn sign(secret: &str, user_id: &str) -> String {
    let mut mac = mac(secret);
    mac.update(user_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Why an identity was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("the user id is empty or longer than 200 characters")]
    BadUserId,
    #[error("the identity is not signed")]
    Unsigned,
    #[error("the identity's signature does not match")]
    WrongSignature,
}

/// What a site signs to vouch for a user's name and email as well as their
/// id: the three on lines of their own (an absent one empty).
pub fn signed_text(identity: &Identity) -> String {
    format!(
        "{}\n{}\n{}",
        identity.user_id,
        identity.email.as_deref().unwrap_or_default(),
        identity.name.as_deref().unwrap_or_default()
    )
}

/// Checks a site's signed identity, comparing in constant time, and returns
/// what the signature vouches for: the id alone (a name or email the page
/// gave besides is dropped, never shown as verified), or, signed over
/// [`signed_text`], the id with its name and email.
pub fn verify(secret: &str, identity: &Identity) -> Result<Identity, IdentityError> {
    let id = identity.user_id.as_str();
    if id.trim().is_empty() || id.chars().count() > 200 {
        return Err(IdentityError::BadUserId);
    }
    // One line each: an id with a line break could otherwise be signed as
    // an id and passed off as another user's id, email and name.
    let broken = |text: &str| text.chars().any(|c| matches!(c, '\n' | '\r' | '\0'));
    // Agents see the id too: nothing in it may hide or reorder the text.
    if broken(id)
        || id.chars().any(app::types::text::hidden_or_reordering)
        || identity.email.as_deref().is_some_and(broken)
        || identity.name.as_deref().is_some_and(broken)
    {
        return Err(IdentityError::BadUserId);
    }
    let hash = identity.user_hash.trim();
    if hash.is_empty() {
        return Err(IdentityError::Unsigned);
    }
    let given = hex::decode(hash).map_err(|_| IdentityError::WrongSignature)?;
    let signs = |text: &str| {
        let mut mac = mac(secret);
        mac.update(text.as_bytes());
        mac.verify_slice(&given).is_ok()
    };
    if (identity.name.is_some() || identity.email.is_some()) && signs(&signed_text(identity)) {
        // Signed, yet shown to agents as plain text: no character that
        // hides or reorders what is around it.
        use app::types::text::{hidden_or_reordering, without_hidden};
        return Ok(Identity {
            name: identity
                .name
                .as_deref()
                .map(without_hidden)
                .filter(|n| !n.trim().is_empty()),
            email: identity
                .email
                .clone()
                .filter(|e| !e.chars().any(hidden_or_reordering)),
            ..identity.clone()
        });
    }
    if signs(id) {
        return Ok(Identity {
            name: None,
            email: None,
            ..identity.clone()
        });
    }
    Err(IdentityError::WrongSignature)
}

/// Checks and normalises an admin's settings; the error says what is wrong.
pub fn validate(mut look: WidgetLook) -> Result<WidgetLook, String> {
    let colour = look.brand_color.trim().to_ascii_lowercase();
    if !(colour.len() == 7
        && colour.starts_with('#')
        && colour[1..].chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(format!(
            "The brand colour must look like #b45309, not \u{201c}{}\u{201d}.",
            look.brand_color
        ));
    }
    look.brand_color = colour;
    look.greeting = look.greeting.trim().to_owned();
    if look.greeting.chars().count() > 500 {
        return Err("The greeting can be at most 500 characters.".into());
    }
    look.launcher_text = look.launcher_text.trim().to_owned();
    if look.launcher_text.chars().count() > 40 {
        return Err("The launcher text can be at most 40 characters.".into());
    }
    let mut origins = Vec::new();
    for line in look
        .allowed_origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
    {
        let origin = normalise_origin(line).ok_or_else(|| {
            format!(
                "\u{201c}{line}\u{201d} is not a site origin; write it like https://shop.example (no path)."
            )
        })?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    if origins.len() > 50 {
        return Err("At most 50 allowed sites.".into());
    }
    look.allowed_origins = origins;
    Ok(look)
}

pub async fn save(pool: &PgPool, workspace_id: Uuid, look: WidgetLook) -> Result<(), SaveError> {
    let look = validate(look).map_err(SaveError::Invalid)?;
    ensure(pool, workspace_id).await?;
    sqlx::query!(
        "update widget_settings set brand_color = $2, position = $3, greeting = nullif($4, ''),
            launcher_text = nullif($5, ''), language = $6, allowed_origins = $7, updated_at = now()
         where workspace_id = $1",
        workspace_id,
        &look.brand_color,
        look.position.as_str(),
        &look.greeting,
        &look.launcher_text,
        look.language.map_or("auto", Language::code),
        &look.allowed_origins,
    )
    .execute(pool.ws(workspace_id))
    .await?;
    Ok(())
}

/// Replaces the identity secret (identities signed with the old one are
/// refused from now on); returns the new one.
pub async fn rotate_secret(pool: &PgPool, workspace_id: Uuid) -> Result<String, sqlx::Error> {
    ensure(pool, workspace_id).await?;
    let secret = new_secret();
    sqlx::query!(
        "update widget_settings set identity_secret = $2, updated_at = now() where workspace_id = $1",
        workspace_id,
        &secret,
    )
        .execute(pool.ws(workspace_id))
        .await?;
    Ok(secret)
}

/// The queue and the team, as the estimate needs them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Queue {
    pub agents_online: i64,
    /// Conversations waiting for a person.
    pub waiting: i64,
    /// Median seconds from handoff to the first human reply, last 30 days,
    /// over handoffs made within support hours.
    pub typical_first_reply: Option<f64>,
    /// How many handoffs that median is over.
    pub samples: i64,
}

/// Fewer recent first replies than this, and the widget makes no estimate.
const MIN_SAMPLES: i64 = 3;

/// What a waiting visitor is told, from the support hours and the queue.
pub fn expect(hours: Option<&SupportHours>, queue: Queue, now: DateTime<Utc>) -> Expectation {
    if let Some(hours) = hours.filter(|h| hours::outside(h, now)) {
        return match hours::next_opening(hours, now) {
            Some(at) => Expectation::BackAt { at },
            None => Expectation::TeamAway,
        };
    }
    if queue.agents_online == 0 {
        return Expectation::TeamAway;
    }
    let minutes = queue
        .typical_first_reply
        .filter(|_| queue.samples >= MIN_SAMPLES)
        .map(|secs| {
            // The typical wait already holds a usual queue; a backlog of more
            // than one visitor ahead per agent online stretches it.
            let ahead = (queue.waiting - 1).max(0) as f64 / queue.agents_online as f64;
            let minutes = (secs / 60.0 * ahead.max(1.0)).round();
            minutes.clamp(1.0, 24.0 * 60.0) as u32
        });
    Expectation::ReplyIn { minutes }
}

/// The median of the first-reply delays (seconds) of handoffs made within
/// support hours (one made at night is answered in the morning: no measure
/// of a wait during the day), and how many there were.
pub fn typical_first_reply(
    handoffs: &[(DateTime<Utc>, f64)],
    hours: Option<&SupportHours>,
) -> (Option<f64>, i64) {
    let mut delays: Vec<f64> = handoffs
        .iter()
        .filter(|(at, _)| !hours.is_some_and(|h| hours::outside(h, *at)))
        .map(|(_, secs)| *secs)
        .collect();
    delays.sort_by(f64::total_cmp);
    let n = delays.len();
    let median = match n {
        0 => None,
        _ if n % 2 == 1 => Some(delays[n / 2]),
        _ => Some((delays[n / 2 - 1] + delays[n / 2]) / 2.0),
    };
    (median, n as i64)
}

pub async fn queue(
    pool: &PgPool,
    workspace_id: Uuid,
    hours: Option<&SupportHours>,
) -> Result<Queue, sqlx::Error> {
    let (agents_online, waiting): (i64, i64) = sqlx::query_as(
        "select
            (select count(*) from membership
              where workspace_id = $1 and not away and last_seen_at > now() - make_interval(secs => $2)),
            (select count(*) from conversation where workspace_id = $1 and status = 'waiting_human')",
    )
    .bind(workspace_id)
    .bind(crate::thread::presence::ONLINE_SECS)
    .fetch_one(pool.ws(workspace_id))
    .await?;
    let handoffs: Vec<(DateTime<Utc>, f64)> = sqlx::query_as(
        "select c.escalated_at, extract(epoch from f.first_reply - c.escalated_at)::float8
           from conversation c
           cross join lateral (select min(e.created_at) as first_reply from event e
                                where e.conversation_id = c.conversation_id and e.kind = 'human_reply'
                                  and e.created_at >= c.escalated_at) f
          where c.workspace_id = $1 and c.escalated_at > now() - interval '30 days'
            and f.first_reply is not null
          order by c.escalated_at desc limit 2000",
    )
    .bind(workspace_id)
    .fetch_all(pool.ws(workspace_id))
    .await?;
    let (typical_first_reply, samples) = typical_first_reply(&handoffs, hours);
    Ok(Queue {
        agents_online,
        waiting,
        typical_first_reply,
        samples,
    })
}

pub async fn expectation(pool: &PgPool, workspace_id: Uuid) -> Result<Expectation, sqlx::Error> {
    let hours: Option<Json<SupportHours>> =
        sqlx::query_scalar("select support_hours from answer_settings where workspace_id = $1")
            .bind(workspace_id)
            .fetch_optional(pool.ws(workspace_id))
            .await?
            .flatten();
    let hours = hours.map(|h| h.0);
    let queue = queue(pool, workspace_id, hours.as_ref()).await?;
    Ok(expect(hours.as_ref(), queue, Utc::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_identity_is_accepted_and_any_other_refused() {
        let secret = "s3cret";
        let good = Identity {
            user_id: "user-42".into(),
            user_hash: sign(secret, "user-42"),
            ..Identity::default()
        };
        assert_eq!(verify(secret, &good), Ok(good.clone()));
        // A known answer (the standard example, also what Python's hmac module gives).
        assert_eq!(
            sign("key", "The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        let another_user = Identity {
            user_id: "user-43".into(),
            ..good.clone()
        };
        assert_eq!(
            verify(secret, &another_user).unwrap_err(),
            IdentityError::WrongSignature
        );
        assert_eq!(
            verify("another secret", &good).unwrap_err(),
            IdentityError::WrongSignature
        );
        let unsigned = Identity {
            user_hash: String::new(),
            ..good.clone()
        };
        assert_eq!(
            verify(secret, &unsigned).unwrap_err(),
            IdentityError::Unsigned
        );
        let not_hex = Identity {
            user_hash: "zz".into(),
            ..good.clone()
        };
        assert_eq!(
            verify(secret, &not_hex).unwrap_err(),
            IdentityError::WrongSignature
        );
        let truncated = Identity {
            user_hash: good.user_hash[..32].into(),
            ..good
        };
        assert_eq!(
            verify(secret, &truncated).unwrap_err(),
            IdentityError::WrongSignature
        );
    }

    #[test]
    fn a_name_and_email_count_only_when_signed_with_the_id() {
        let secret = "s3cret";
        let mut claimed = Identity {
            user_id: "user-42".into(),
            user_hash: sign(secret, "user-42"),
            name: Some("The CEO".into()),
            email: Some("ceo@shop.example".into()),
        };
        // Signed over the id alone: the id counts, the page's words do not.
        let vouched = verify(secret, &claimed).unwrap();
        assert_eq!((vouched.name, vouched.email), (None, None));
        claimed.user_hash = sign(secret, &signed_text(&claimed));
        assert_eq!(verify(secret, &claimed), Ok(claimed.clone()));
        // An id signed with line breaks in it cannot pass for another user
        // with an email and a name.
        let smuggled = Identity {
            user_id: "u-1004".into(),
            user_hash: sign(secret, "u-1004\nx@evil.example\nZ"),
            name: Some("Z".into()),
            email: Some("x@evil.example".into()),
        };
        let signed_as = Identity {
            user_id: "u-1004\nx@evil.example\nZ".into(),
            ..smuggled.clone()
        };
        assert_eq!(
            verify(secret, &signed_as).unwrap_err(),
            IdentityError::BadUserId
        );
        // (The site signs ids without line breaks, so the three-line text
        // of u-1004 is only ever its own.)
        assert!(verify(secret, &smuggled).is_ok());
        // Another name under that signature is refused.
        let changed = Identity {
            name: Some("Someone else".into()),
            ..claimed
        };
        assert_eq!(
            verify(secret, &changed).unwrap_err(),
            IdentityError::WrongSignature
        );
        // A signed name that reorders the text is shown without its tricks.
        let mut reordering = Identity {
            user_id: "user-7".into(),
            user_hash: String::new(),
            name: Some("\u{202E}evila nimdA".into()),
            email: Some("ada\u{202E}@shop.example".into()),
        };
        reordering.user_hash = sign(secret, &signed_text(&reordering));
        let shown = verify(secret, &reordering).unwrap();
        assert_eq!(
            (shown.name.as_deref(), shown.email),
            (Some("evila nimdA"), None)
        );
    }

    #[test]
    fn origins_are_normalised_and_paths_refused() {
        assert_eq!(
            normalise_origin("https://Shop.Example/").as_deref(),
            Some("https://shop.example")
        );
        assert_eq!(
            normalise_origin("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            normalise_origin("https://shop.example:443").as_deref(),
            Some("https://shop.example")
        );
        assert_eq!(normalise_origin("https://shop.example/help"), None);
        assert_eq!(normalise_origin("shop.example"), None);
        assert_eq!(normalise_origin("javascript:alert(1)"), None);
        assert_eq!(normalise_origin("https://user:pw@shop.example"), None);
    }

    fn row(origins: &[&str]) -> WidgetRow {
        WidgetRow {
            workspace_id: Uuid::nil(),
            workspace_name: "Nimbus".into(),
            brand_color: "#b45309".into(),
            position: "right".into(),
            greeting: None,
            launcher_text: None,
            language: "auto".into(),
            allowed_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
            identity_secret: "x".into(),
        }
    }

    #[test]
    fn the_key_never_prints() {
        let mut stored = row(&[]);
        stored.identity_secret = "s3cret-key-42".into();
        let account = crate::auth::AccountRow {
            account_id: Uuid::nil(),
            email: "ada@example.com".into(),
            name: "Ada".into(),
            password_hash: "$argon2id$v=19$secret".into(),
        };
        let printed = format!("{stored:?} {account:?}");
        for secret in ["s3cret", "argon2", "ada@example.com"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }

    #[test]
    fn an_empty_list_allows_any_site_and_a_list_only_its_own() {
        assert!(row(&[]).allows(Some("https://anywhere.example")));
        assert!(row(&[]).allows(None));
        let listed = row(&["https://shop.example"]);
        assert!(listed.allows(Some("https://shop.example")));
        assert!(listed.allows(Some("https://SHOP.example/")));
        assert!(!listed.allows(Some("https://evil.example")));
        assert!(!listed.allows(Some("http://shop.example")));
        assert!(!listed.allows(None));
        assert_eq!(listed.frame_ancestors(), "'self' https://shop.example");
        // Tandem's own pages (the demo) may always show the chat.
        assert!(listed.allows_page(Some("http://127.0.0.1:3000"), Some("127.0.0.1:3000")));
        assert!(!listed.allows_page(Some("http://127.0.0.1:3001"), Some("127.0.0.1:3000")));
        assert!(!listed.allows_page(None, Some("127.0.0.1:3000")));
        assert_eq!(row(&[]).frame_ancestors(), "*");
    }

    #[test]
    fn the_language_is_the_admins_or_the_visitors() {
        let mut r = row(&[]);
        assert_eq!(r.language(Some("fr-FR,fr;q=0.9")), Language::Fr);
        assert_eq!(r.language(Some("pt-BR")), Language::En);
        assert_eq!(r.language(None), Language::En);
        r.language = "ja".into();
        assert_eq!(r.language(Some("fr-FR")), Language::Ja);
        assert!(r.greeting(Language::De).contains("Nimbus"));
        r.greeting = Some("Welcome to Nimbus support.".into());
        assert_eq!(r.greeting(Language::De), "Welcome to Nimbus support.");
    }

    #[test]
    fn settings_are_checked_and_normalised() {
        let look = WidgetLook {
            brand_color: "#1D4ED8".into(),
            position: Position::Left,
            greeting: "  Hi  ".into(),
            launcher_text: "Help".into(),
            language: Some(Language::De),
            allowed_origins: vec![
                "https://shop.example/".into(),
                "".into(),
                "https://shop.example".into(),
            ],
        };
        let saved = validate(look.clone()).unwrap();
        assert_eq!(saved.brand_color, "#1d4ed8");
        assert_eq!(saved.greeting, "Hi");
        assert_eq!(saved.allowed_origins, vec!["https://shop.example"]);
        let bad_colour = WidgetLook {
            brand_color: "red; background:url(x)".into(),
            ..look.clone()
        };
        assert!(validate(bad_colour).unwrap_err().contains("brand colour"));
        let bad_origin = WidgetLook {
            allowed_origins: vec!["https://shop.example/help".into()],
            ..look
        };
        assert!(validate(bad_origin)
            .unwrap_err()
            .contains("not a site origin"));
    }

    #[test]
    fn only_handoffs_within_hours_make_the_typical_wait() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let handoffs = [
            (at("2026-12-01T10:00:00Z"), 120.0),
            (at("2026-12-01T11:00:00Z"), 300.0),
            // At night, answered in the morning: not a daytime wait.
            (at("2026-12-01T23:00:00Z"), 36_000.0),
            (at("2026-12-02T10:00:00Z"), 240.0),
        ];
        let hours = hours::weekdays_9_to_17("UTC");
        assert_eq!(
            typical_first_reply(&handoffs, Some(&hours)),
            (Some(240.0), 3)
        );
        // Without support hours every handoff counts (an even count averages).
        assert_eq!(typical_first_reply(&handoffs, None), (Some(270.0), 4));
        assert_eq!(typical_first_reply(&[], None), (None, 0));
    }

    #[test]
    fn the_expectation_is_honest() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let queue = Queue {
            agents_online: 2,
            waiting: 5,
            typical_first_reply: Some(150.0),
            samples: 10,
        };
        // Within hours, two agents, four ahead (two each): 2.5 min × 2 → 5 min.
        let tuesday = at("2026-12-01T10:00:00Z");
        assert_eq!(
            expect(Some(&hours::weekdays_9_to_17("UTC")), queue, tuesday),
            Expectation::ReplyIn { minutes: Some(5) }
        );
        // Too little history: no number.
        let new_team = Queue {
            samples: 2,
            ..queue
        };
        assert_eq!(
            expect(None, new_team, tuesday),
            Expectation::ReplyIn { minutes: None }
        );
        // Nobody online.
        let nobody = Queue {
            agents_online: 0,
            ..queue
        };
        assert_eq!(expect(None, nobody, tuesday), Expectation::TeamAway);
        // Saturday: back Monday 09:00 in Berlin, even with agents online.
        assert_eq!(
            expect(
                Some(&hours::weekdays_9_to_17("Europe/Berlin")),
                queue,
                at("2026-12-05T12:00:00Z")
            ),
            Expectation::BackAt {
                at: at("2026-12-07T08:00:00Z")
            }
        );
    }
}
