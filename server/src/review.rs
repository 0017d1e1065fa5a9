//! Learning from escalations: grouping the questions people escalated into
//! topics (`cluster`).

pub mod cluster;
