//! Which token: [`TokenKey`], an [`InstallationId`], an integration and a [`Subject`] (the
//! installation, or one [`UserId`]).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// One installation of the app: an account that installed it, whose tokens (and
/// `oauth_iparams`) are its own. A backend serving one account uses the default installation
/// and never names one; a backend serving many names each ([`crate::Runtime::installation`]).
///
/// Cheap to clone. Its id is the app's own (an account id, a domain): it appears in logs and
/// errors, so it must not be a secret.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstallationId(Option<Arc<str>>);

impl InstallationId {
    /// The installation `id`; the empty id is the default installation.
    pub fn new(id: impl AsRef<str>) -> Self {
        match id.as_ref() {
            "" => InstallationId(None),
            id => InstallationId(Some(Arc::from(id))),
        }
    }

    /// The id; empty for the default installation (as stores keep it).
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }

    /// Whether this is the default installation.
    pub fn is_default(&self) -> bool {
        self.0.is_none()
    }
}

impl fmt::Debug for InstallationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(id) => write!(f, "InstallationId({id:?})"),
            None => f.write_str("InstallationId(default)"),
        }
    }
}

/// `installation \`acme\``, or `the default installation`.
impl fmt::Display for InstallationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(id) => write!(f, "installation `{id}`"),
            None => f.write_str("the default installation"),
        }
    }
}

impl From<&str> for InstallationId {
    fn from(id: &str) -> Self {
        InstallationId::new(id)
    }
}

impl From<String> for InstallationId {
    fn from(id: String) -> Self {
        InstallationId::new(id)
    }
}

/// The end user of an `agent` integration (one token per user). Cheap to clone: every call
/// of a user's template copies it into the request.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Arc<str>);

impl UserId {
    /// Wraps the app's own identifier for a user.
    pub fn new(id: impl AsRef<str>) -> Self {
        UserId(Arc::from(id.as_ref()))
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
        UserId::new(id)
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

/// `subject`, in words, with `installation` when it is not the default one.
pub(crate) fn owner(subject: &Subject, installation: &InstallationId) -> String {
    match (subject, installation.is_default()) {
        (_, true) => subject.to_string(),
        (Subject::Installation, false) => installation.to_string(),
        (Subject::User(_), false) => format!("{subject} of {installation}"),
    }
}

/// Which token: an installation, an integration and a subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenKey {
    /// The installation (the default one unless named).
    pub installation: InstallationId,
    /// The integration's name in `oauth_config.json` (`oauth` for the legacy format).
    pub integration: Cow<'static, str>,
    /// Whose token.
    pub subject: Subject,
}

impl TokenKey {
    /// The key of an `account` integration's token, in the default installation.
    pub fn installation(integration: impl Into<Cow<'static, str>>) -> Self {
        TokenKey {
            installation: InstallationId::default(),
            integration: integration.into(),
            subject: Subject::Installation,
        }
    }

    /// The key of one user's token of an `agent` integration, in the default installation.
    pub fn user(integration: impl Into<Cow<'static, str>>, user: UserId) -> Self {
        TokenKey {
            installation: InstallationId::default(),
            integration: integration.into(),
            subject: Subject::User(user),
        }
    }

    /// The same key in `installation`.
    pub fn in_installation(mut self, installation: impl Into<InstallationId>) -> Self {
        self.installation = installation.into();
        self
    }

    /// Whose token, in words: `the installation`, `user \`ana\``, with the installation's id
    /// when it is not the default one (`user \`ana\` of installation \`acme\``).
    pub fn owner(&self) -> String {
        owner(&self.subject, &self.installation)
    }
}
