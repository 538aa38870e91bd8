//! [`StoreError`]: a token store failed. Published as `store::StoreError`; kept here, beside
//! the [`TokenError`](super::TokenError) that carries it, so that `tokens` imports nothing from
//! `store`.

use std::fmt;
use std::path::PathBuf;

/// A token store failed. Nothing secret is ever part of it.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// Someone else saved a newer record in between: read it again.
    Conflict {
        /// The integration of the key.
        integration: String,
    },
    /// Reading or writing the store failed.
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done (`reading`, `writing`, `locking`, …).
        action: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// The store's content cannot be read: it is left as it is, for a person to look at.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file is encrypted and the key given cannot decrypt it (or it is not encrypted and
    /// a key was given, or the other way round).
    Decrypt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// Another kind of store failed (a database, …).
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Conflict { integration } => write!(
                f,
                "the `{integration}` tokens were changed by someone else in the meantime"
            ),
            StoreError::Io {
                path,
                action,
                source,
            } => write!(f, "{action} {} failed: {source}", path.display()),
            StoreError::Corrupt { path, reason } => write!(
                f,
                "the token file {} cannot be read ({reason}); it was left untouched: move it \
                 away to start afresh",
                path.display()
            ),
            StoreError::Decrypt { path, reason } => {
                write!(f, "the token file {} {reason}", path.display())
            }
            StoreError::Backend(error) => write!(f, "the token store failed: {error}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Io { source, .. } => Some(source),
            StoreError::Backend(error) => Some(error.as_ref()),
            _ => None,
        }
    }
}
