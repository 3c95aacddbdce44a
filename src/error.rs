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

/// An error (or diagnostic) that can say how to fix itself. Every hint the user sees comes
/// from one of these, as data beside the message; none is found again by searching text.
pub trait Hint {
    /// How to fix it, where that is known.
    fn hint(&self) -> Option<String>;
}

impl Hint for Hinted {
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

impl Hint for crate::state::Error {
    fn hint(&self) -> Option<String> {
        crate::state::Error::hint(self).map(str::to_owned)
    }
}

impl Hint for crate::reconcile::Error {
    fn hint(&self) -> Option<String> {
        match self {
            crate::reconcile::Error::State(e) => Hint::hint(e),
            _ => None,
        }
    }
}

impl Hint for crate::rollout::branch::BranchError {
    fn hint(&self) -> Option<String> {
        crate::rollout::branch::BranchError::hint(self).map(str::to_owned)
    }
}

impl Hint for crate::registry::ImportFailure {
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

impl Hint for crate::diagnostic::Diagnostic {
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

/// The hint of one error in a chain, when its type has one.
fn hint_of_cause(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(e) = cause.downcast_ref::<Hinted>() {
        return Hint::hint(e);
    }
    if let Some(e) = cause.downcast_ref::<Actionable>() {
        return Hint::hint(e);
    }
    if let Some(e) = cause.downcast_ref::<crate::state::Error>() {
        return Hint::hint(e);
    }
    if let Some(e) = cause.downcast_ref::<crate::reconcile::Error>() {
        return Hint::hint(e);
    }
    if let Some(e) = cause.downcast_ref::<crate::rollout::branch::BranchError>() {
        return Hint::hint(e);
    }
    // An `ImportFailure` shows its hint in its own text (`… (hint: …)`, as the condition it
    // becomes records it), so it is not said a second time under the error.
    None
}

/// The one hint shown for `err`: the first found walking its chain, outermost first. The
/// printer renders it as `hint: …` under the error.
pub fn hint_of(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(hint_of_cause)
}

/// What an operation's caller must act on, as a type it can match (everything else stays
/// `anyhow`, as cargo's operations do). Each carries its message and its hint.
#[derive(Debug, thiserror::Error)]
pub enum Actionable {
    /// Another run holds the state lock.
    #[error("the live state is locked by another apply ({holder})")]
    Locked {
        /// Who holds it, as the lock file says.
        holder: String,
    },
    /// A saved plan no longer fits the live state or its inputs.
    #[error("{detail}")]
    StalePlan {
        /// What moved.
        detail: String,
        /// How to go on.
        hint: String,
    },
    /// The plan changed while it waited (for approval, or against a saved plan).
    #[error("{detail}")]
    PlanChanged {
        /// What changed.
        detail: String,
        /// How to go on.
        hint: String,
    },
}

impl Hint for Actionable {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Actionable::Locked { .. } => {
                "wait for it to finish, or pass --lock-timeout 5m to wait for it".to_owned()
            }
            Actionable::StalePlan { hint, .. } | Actionable::PlanChanged { hint, .. } => {
                hint.clone()
            }
        })
    }
}
