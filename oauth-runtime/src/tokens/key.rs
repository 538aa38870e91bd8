//! Which token: [`TokenKey`], an integration and a [`Subject`] (the installation, or one
//! [`UserId`]).

use std::borrow::Cow;
use std::fmt;

/// The end user of an `agent` integration (one token per user).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    /// Wraps the app's own identifier for a user.
    pub fn new(id: impl Into<String>) -> Self {
        UserId(id.into())
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({:?})", self.0)
    }
}

impl From<&str> for UserId {
    fn from(id: &str) -> Self {
        UserId::new(id)
    }
}

impl From<String> for UserId {
    fn from(id: String) -> Self {
        UserId(id)
    }
}

/// Whose token: the installation's (`account` integrations) or one user's (`agent`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    /// The installation: one token, authorized by an admin.
    Installation,
    /// One end user.
    User(UserId),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Installation => f.write_str("the installation"),
            Subject::User(user) => write!(f, "user `{}`", user.as_str()),
        }
    }
}

/// Which token: an integration and a subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenKey {
    /// The integration's name in `oauth_config.json` (`oauth` for the legacy format).
    pub integration: Cow<'static, str>,
    /// Whose token.
    pub subject: Subject,
}

impl TokenKey {
    /// The key of an `account` integration's token.
    pub fn installation(integration: impl Into<Cow<'static, str>>) -> Self {
        TokenKey {
            integration: integration.into(),
            subject: Subject::Installation,
        }
    }

    /// The key of one user's token of an `agent` integration.
    pub fn user(integration: impl Into<Cow<'static, str>>, user: UserId) -> Self {
        TokenKey {
            integration: integration.into(),
            subject: Subject::User(user),
        }
    }
}
