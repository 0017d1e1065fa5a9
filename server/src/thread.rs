//! The live thread: each conversation's ordered event log (`store`), the
//! wake-ups that tell every instance about new events (`hub`), and the AI's
//! turn in a conversation (`turn`).

pub mod hub;
pub mod store;
pub mod turn;
