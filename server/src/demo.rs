//! The demo: a help centre for "Nimbus", a fictional smart-lamp company,
//! served at `/demo/` with the widget embedded, and a demo workspace whose AI
//! is trained by crawling exactly that site.

use std::path::Path;

use sqlx::PgPool;
use uuid::Uuid;

use crate::auth;

pub const WORKSPACE_SLUG: &str = "demo";
pub const WORKSPACE_NAME: &str = "Nimbus Support";
pub const ADMIN_EMAIL: &str = "admin@nimbus.example";
pub const ADMIN_NAME: &str = "Alex (demo admin)";

/// The site's files, compiled into the binary.
pub static SITE: &[(&str, &str)] = &[
    ("account.html", include_str!("../demo-site/account.html")),
    ("billing.html", include_str!("../demo-site/billing.html")),
    ("contact.html", include_str!("../demo-site/contact.html")),
    (
        "getting-started.html",
        include_str!("../demo-site/getting-started.html"),
    ),
    ("index.html", include_str!("../demo-site/index.html")),
    (
        "order-tracking.html",
        include_str!("../demo-site/order-tracking.html"),
    ),
    (
        "password-reset.html",
        include_str!("../demo-site/password-reset.html"),
    ),
    ("pricing.html", include_str!("../demo-site/pricing.html")),
    ("privacy.html", include_str!("../demo-site/privacy.html")),
    ("refunds.html", include_str!("../demo-site/refunds.html")),
    ("returns.html", include_str!("../demo-site/returns.html")),
    (
        "schedules.html",
        include_str!("../demo-site/schedules.html"),
    ),
    ("shipping.html", include_str!("../demo-site/shipping.html")),
    ("site.css", include_str!("../demo-site/site.css")),
    (
        "troubleshooting-app.html",
        include_str!("../demo-site/troubleshooting-app.html"),
    ),
    (
        "troubleshooting-wifi.html",
        include_str!("../demo-site/troubleshooting-wifi.html"),
    ),
    ("warranty.html", include_str!("../demo-site/warranty.html")),
];

/// What of this instance's own address a crawl may reach when the demo is
/// on: the demo site and robots.txt (the demo is crawled from where its
/// visitors see it, often a loopback address no other crawl may reach).
pub const CRAWLED_PATHS: &[&str] = &["/demo/", "/robots.txt"];

pub fn page(name: &str) -> Option<&'static str> {
    SITE.iter()
        .find(|(file, _)| *file == name)
        .map(|(_, body)| *body)
}

pub struct Demo {
    pub workspace_id: Uuid,
    /// The admin's password, when Tandem knows it (set by env or generated here).
    pub admin_password: Option<String>,
    /// Whether the site still needs crawling.
    pub needs_crawl: bool,
}

/// Creates the demo workspace and its admin on first start. The generated
/// password is kept in `data_dir/demo-admin-password` so it can be shown again.
pub async fn ensure(
    pool: &PgPool,
    data_dir: &Path,
    password: Option<String>,
) -> Result<Demo, sqlx::Error> {
    let password_file = data_dir.join("demo-admin-password");
    let existing = crate::db::workspace_by_slug(pool, WORKSPACE_SLUG).await?;
    let workspace_id = match existing {
        Some(id) => id,
        None => {
            let id = Uuid::new_v4();
            sqlx::query!(
                "insert into workspace (workspace_id, slug, name) values ($1, $2, $3) on conflict (slug) do nothing",
                id,
                WORKSPACE_SLUG,
                WORKSPACE_NAME,
            )
                .execute(pool)
                .await?;
            let id = crate::db::workspace_by_slug(pool, WORKSPACE_SLUG)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?;
            seed_canned_replies(pool, id).await?;
            id
        }
    };
    let has_admin: bool =
        sqlx::query_scalar("select exists (select 1 from account where lower(email) = lower($1))")
            .bind(ADMIN_EMAIL)
            .fetch_one(pool)
            .await?;
    let admin_password = if has_admin {
        password.or_else(|| {
            std::fs::read_to_string(&password_file)
                .ok()
                .map(|p| p.trim().to_owned())
        })
    } else {
        let password = password.unwrap_or_else(|| auth::new_token()[..16].to_owned());
        auth::create_account(
            pool,
            workspace_id,
            ADMIN_EMAIL,
            ADMIN_NAME,
            &password,
            app::types::Role::Admin,
        )
        .await?;
        if std::fs::create_dir_all(data_dir).is_ok() {
            if let Err(err) = std::fs::write(&password_file, &password) {
                tracing::warn!(error = %err, "could not keep the demo admin password");
            }
        }
        Some(password)
    };
    // Crawl when nothing is indexed yet (an interrupted crawl resumes as a job).
    let needs_crawl: bool =
        sqlx::query_scalar("select not exists (select 1 from page where workspace_id = $1)")
            .bind(workspace_id)
            .fetch_one(pool)
            .await?;
    Ok(Demo {
        workspace_id,
        admin_password,
        needs_crawl,
    })
}

/// A few canned replies a Nimbus agent would use, so the composer's picker
/// has something to show on a fresh demo (admins edit them on the team page).
pub const CANNED_REPLIES: &[(&str, &str)] = &[
    (
        "greeting",
        "Hi, thanks for waiting! I'm here now and have read the conversation so far.",
    ),
    (
        "refund-time",
        "We issue refunds to your original payment method within 5 business days of \
         receiving your returned lamp; your bank may take another 3 to 5 business days to \
         show it. More in our help centre: [Refunds](/demo/refunds.html#refund-timing)",
    ),
    (
        "order-status",
        "Could you send me your order number? I'll check its tracking with DHL and, \
         if the parcel is lost, open an investigation for you.",
    ),
    (
        "wifi-reset",
        "Please unplug the lamp for 10 seconds and plug it back in. If it stays offline, \
         hold the top of the lamp for 15 seconds until the ring flashes orange three times, \
         then set it up again in the app. Step by step: \
         [Wi-Fi troubleshooting](/demo/troubleshooting-wifi.html)",
    ),
    (
        "follow-up",
        "I'll look into this with the team and get back to you here (or by email) \
         within one business day.",
    ),
];

async fn seed_canned_replies(pool: &PgPool, workspace_id: Uuid) -> Result<(), sqlx::Error> {
    use crate::db::Scope;
    for (shortcut, body) in CANNED_REPLIES {
        sqlx::query!(
            "insert into canned_reply (canned_id, workspace_id, shortcut, body) values ($1, $2, $3, $4)
             on conflict do nothing",
            Uuid::new_v4(),
            workspace_id,
            shortcut,
            body,
        )
        .execute(pool.ws(workspace_id))
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_is_a_real_help_centre() {
        assert!(SITE.len() >= 13, "a dozen or more pages");
        for topic in [
            "pricing.html",
            "refunds.html",
            "shipping.html",
            "account.html",
            "troubleshooting-wifi.html",
        ] {
            let html = page(topic).unwrap();
            assert!(html.contains("/widget.js"), "{topic} embeds the widget");
        }
    }
}
