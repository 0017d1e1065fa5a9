//! Integration tests: the real router on port 0, real PostgreSQL + pgvector
//! (a database per test), the real embedding model, real WebSockets.

mod authz;
mod checked_sql;
mod conversation;
mod generator;
mod helpers;
mod inbox;
mod ingestion;
mod invitations;
mod isolation;
mod knowledge;
mod limits;
mod live;
mod llamacpp;
mod multilingual;
mod outbound;
mod policy;
mod privacy;
mod redteam;
mod review;
mod session;
mod setup;
mod smtp;
mod thread;
mod widget;
