//! Errors shared across modules.

/// An error message with a hint for the user (`hint: …`), used where the fix is known.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    /// What went wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Hinted {
    /// An error with a hint.
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Hinted {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// An error without one.
    pub fn plain(message: impl Into<String>) -> Self {
        Hinted {
            message: message.into(),
            hint: None,
        }
    }
}
