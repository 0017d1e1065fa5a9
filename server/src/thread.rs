//! The live thread: each conversation's ordered event log (`store`), what
//! visitors and agents do to it (`actions`), the wake-ups that tell every
//! instance what changed (`hub`), and the AI's turn (`turn`).

pub mod actions;
pub mod hub;
pub mod store;
pub mod turn;
