//! The live thread: each conversation's ordered event log (`store`) and the
//! wake-ups that tell every instance what changed (`hub`) at the bottom;
//! above them who is online (`presence`), what visitors and agents do to a
//! conversation (`actions`), who has it (`assign`, which also hands it to
//! the team) and the maximum-wait notice (`waits`). The AI's turn is
//! [`crate::turn`], above the answer engine.

pub mod actions;
pub mod assign;
pub mod hub;
pub mod presence;
pub mod store;
pub mod waits;
