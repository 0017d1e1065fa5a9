//! What a workspace's knowledge is made of, as the database stores it: the
//! kind of a source and the status of an ingest job (both checked there too).

use serde::{Deserialize, Serialize};

/// Where a source's passages come from (`source.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Crawled from a start URL, re-crawled on a schedule or on demand.
    Website,
    /// An uploaded document, re-indexed on demand.
    File,
    /// The workspace's question-and-answer snippets, one source for all.
    Snippets,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Website => "website",
            Self::File => "file",
            Self::Snippets => "snippets",
        }
    }

    /// As the knowledge page names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Website => "Website",
            Self::File => "File",
            Self::Snippets => "Snippets",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "website" => Ok(Self::Website),
            "file" => Ok(Self::File),
            "snippets" => Ok(Self::Snippets),
            other => Err(format!("unknown source kind {other:?}")),
        }
    }
}

impl TryFrom<String> for SourceKind {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

/// Where an ingest job is (`ingest_job.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Not finished yet: waiting for a worker or being worked on.
    pub fn active(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        [
            Self::Queued,
            Self::Running,
            Self::Done,
            Self::Failed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| format!("unknown job status {text:?}"))
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for JobStatus {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_names_read_back() {
        for kind in [SourceKind::Website, SourceKind::File, SourceKind::Snippets] {
            assert_eq!(SourceKind::parse(kind.as_str()), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        for status in ["queued", "running", "done", "failed", "cancelled"] {
            let parsed = JobStatus::parse(status).unwrap();
            assert_eq!(parsed.as_str(), status);
            assert_eq!(
                serde_json::to_string(&parsed).unwrap(),
                format!("\"{status}\"")
            );
        }
        assert!(JobStatus::parse("Done").is_err());
        assert!(SourceKind::parse("snippet").is_err());
    }
}
