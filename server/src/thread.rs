//! The live thread: each conversation's ordered event log (`store`), what
//! visitors and agents do to it (`actions`), the wake-ups that tell every
//! instance what changed (`hub`), the AI's turn (`turn`), who has a
//! conversation (`assign`) and the maximum-wait notice (`waits`).

pub mod actions;
pub mod assign;
pub mod hub;
pub mod store;
pub mod turn;
pub mod waits;
