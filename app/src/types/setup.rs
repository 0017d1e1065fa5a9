//! A new workspace as the first-run page, the account page and
//! `tandem setup` describe it, and what the first-run page needs to know.

use serde::{Deserialize, Serialize};

/// A workspace to create, as typed into a form (checked on the server).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NewWorkspace {
    /// The business's name, as visitors and the team see it.
    pub name: String,
    /// The website to train the AI on (start page or sitemap); empty: later.
    #[serde(default)]
    pub site_url: String,
    /// The widget's language: `auto` or a code of
    /// [`Language`](super::widget::Language).
    #[serde(default)]
    pub language: String,
    /// IANA time zone of the support hours, e.g. `Europe/Berlin`.
    #[serde(default)]
    pub time_zone: String,
    /// Which days the team answers: `mon-fri`, `mon-sat`, `every-day`, or
    /// `always` (around the clock, no support hours).
    #[serde(default)]
    pub days: String,
    /// Opening and closing time, `HH:MM`.
    #[serde(default)]
    pub opens: String,
    #[serde(default)]
    pub closes: String,
}

/// The first admin's account.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewAdmin {
    pub name: String,
    pub email: String,
    pub password: String,
}

impl std::fmt::Debug for NewAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAdmin")
            .field("name", &self.name)
            .field("email", &self.email)
            .field("password", &"[hidden]")
            .finish()
    }
}

/// Where the install stands, for the home page and the first-run page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstallState {
    /// No account administers a workspace of the install's own yet.
    pub setup_pending: bool,
    /// The setup code given, if any, is the right one.
    pub code_valid: bool,
    /// The demo help centre is served (`TANDEM_DEMO`).
    pub demo: bool,
}

/// The days choices of [`NewWorkspace::days`], with their labels.
pub const DAYS: [(&str, &str); 4] = [
    ("mon-fri", "Monday to Friday"),
    ("mon-sat", "Monday to Saturday"),
    ("every-day", "Every day"),
    ("always", "Around the clock (no support hours)"),
];
