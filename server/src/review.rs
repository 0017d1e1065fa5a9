//! Learning from escalations: the questions people escalated grouped into
//! topics (`cluster`, `topics`), fixes made from a topic and the re-test of
//! its questions (`fix`), and the dashboard's measures (`metrics`,
//! `dashboard`, drawn by `chart`).

pub mod chart;
pub mod cluster;
pub mod dashboard;
pub mod fix;
pub mod metrics;
pub mod topics;
