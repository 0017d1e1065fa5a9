//! The error type of the server functions: only user-safe variants cross the wire.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum DeskError {
    #[error("Please sign in.")]
    NotSignedIn,
    #[error("Wrong email or password.")]
    BadCredentials,
    #[error("Too many failed sign-ins. Wait 15 minutes and try again.")]
    TooManyAttempts,
    #[error("That was not found: it may have been deleted.")]
    NotFound,
    #[error("Only admins can do that.")]
    Forbidden,
    #[error("{0}")]
    Invalid(String),
    #[error("Something went wrong on our side; it has been logged. Please try again.")]
    Internal,
    #[error("Could not reach the server: {0}")]
    Transport(ServerFnErrorErr),
}

impl FromServerFnError for DeskError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value)
    }
}
