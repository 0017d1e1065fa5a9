//! Privacy: how long conversations are kept, and the audit log of what was
//! done with people's data (exports, erasures, retention).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Retention when a workspace's admin has not set it: on, a year.
pub const DEFAULT_RETENTION_DAYS: u32 = 365;
pub const MIN_RETENTION_DAYS: u32 = 7;
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// `None`: kept until deleted by hand.
pub fn check_retention(days: Option<u32>) -> Result<(), String> {
    match days {
        Some(d) if !(MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&d) => Err(format!(
            "Keep conversations between {MIN_RETENTION_DAYS} and {MAX_RETENTION_DAYS} days."
        )),
        _ => Ok(()),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrivacyView {
    /// Days after their last activity that conversations are deleted.
    pub retention_days: Option<u32>,
    /// Newest first.
    pub audit: Vec<AuditEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// Who did it ("retention" for the sweep).
    pub actor: String,
    /// `visitor_exported`, `visitor_erased`, `source_erased`,
    /// `retention_changed`, `retention_deleted`.
    pub action: String,
    pub subject: String,
    /// What it came to, as an admin reads it.
    pub detail: String,
}

impl AuditEntry {
    pub fn label(&self) -> &'static str {
        match self.action.as_str() {
            "visitor_exported" => "Visitor's data exported",
            "visitor_erased" => "Visitor erased",
            "source_erased" => "Source erased",
            "retention_changed" => "Retention changed",
            "retention_deleted" => "Deleted by retention",
            _ => "Other",
        }
    }
}

/// What erasing a visitor removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    pub conversations: u32,
    pub messages: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_bounded_or_off() {
        assert!(check_retention(None).is_ok());
        assert!(check_retention(Some(DEFAULT_RETENTION_DAYS)).is_ok());
        assert!(check_retention(Some(7)).is_ok());
        assert!(check_retention(Some(6)).is_err());
        assert!(check_retention(Some(3651)).is_err());
    }
}
