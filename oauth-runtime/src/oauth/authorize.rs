//! The authorization-code grant: the URL the user is sent to (PKCE S256, a single-use `state`
//! bound to the integration and the user, short-lived), and the completion of the callback
//! (state checks before any token request, Cancel as an outcome, the code exchanged with the
//! same `redirect_uri` and the verifier).

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};

use crate::tokens::{InstallationId, Subject};

/// How long a started authorization may take before its callback is refused.
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(10 * 60);

/// Where to send the user to authorize an integration. Its URL carries the `state` and the
/// PKCE challenge; the verifier stays in the runtime. `Debug` leaves the URL's query out.
#[derive(Clone)]
pub struct AuthorizationRequest {
    pub(crate) url: url::Url,
    pub(crate) state: String,
    pub(crate) integration: String,
    pub(crate) subject: Subject,
    pub(crate) installation: InstallationId,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.url.clone();
        shown.set_query(None);
        f.debug_struct("AuthorizationRequest")
            .field("url", &shown.as_str())
            .field("integration", &self.integration)
            .field("subject", &self.subject)
            .field("installation", &self.installation)
            .finish_non_exhaustive()
    }
}

impl AuthorizationRequest {
    /// The URL to open in the user's browser.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The integration being authorized.
    pub fn integration(&self) -> &str {
        &self.integration
    }

    /// Whose tokens it will give.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The installation the tokens will belong to.
    pub fn installation(&self) -> &InstallationId {
        &self.installation
    }

    /// Whether `state` is this request's, compared in constant time.
    pub(crate) fn has_state(&self, state: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.state.as_bytes(), state.as_bytes())
            .is_ok()
    }
}

/// What the authorization server sent back to the redirect URI.
#[derive(Clone, Default)]
pub struct Callback {
    code: Option<SecretString>,
    state: Option<String>,
    error: Option<String>,
}

impl Callback {
    /// Reads the callback's query string (`code=…&state=…`, or `error=access_denied&state=…`).
    pub fn from_query(query: &str) -> Self {
        let mut callback = Callback::default();
        for (key, value) in form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
            match key.as_ref() {
                "code" => callback.code = Some(SecretString::from(value.into_owned())),
                "state" => callback.state = Some(value.into_owned()),
                "error" => callback.error = Some(value.into_owned()),
                _ => {}
            }
        }
        callback
    }
}

impl Callback {
    pub(crate) fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    pub(crate) fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub(crate) fn code(&self) -> Option<&str> {
        self.code.as_ref().map(|c| c.expose_secret())
    }
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("code", &self.code.as_ref().map(|_| "[REDACTED]"))
            .field("state", &self.state.as_ref().map(|_| "[REDACTED]"))
            .field("error", &self.error)
            .finish()
    }
}

/// How an authorization ended, when it did end.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackOutcome {
    /// Tokens were obtained and stored.
    Authorized {
        /// The integration.
        integration: String,
        /// Whose tokens.
        subject: Subject,
        /// The installation they belong to: the one the authorization was started for.
        installation: InstallationId,
    },
    /// The user pressed Cancel: nothing was stored, the app stays unauthorized.
    Denied {
        /// The integration.
        integration: String,
        /// Who declined.
        subject: Subject,
    },
}

/// A callback that was refused or could not be completed. Refusals for the `state` happen
/// before any token request.
#[derive(Debug)]
#[non_exhaustive]
pub enum CallbackError {
    /// The callback carries no `state`.
    NoState,
    /// The `state` is not one this runtime issued, or it was used already.
    UnknownState,
    /// The authorization took longer than allowed; start again.
    Expired {
        /// The integration.
        integration: String,
    },
    /// The `state` was issued for another integration than the one this callback is for.
    WrongIntegration {
        /// The integration this callback is for.
        expected: String,
        /// The integration the state was issued for.
        issued_for: String,
    },
    /// The `state` was issued for another user, or for the installation.
    WrongSubject {
        /// The integration.
        integration: String,
    },
    /// The `state` was issued for another installation than the runtime handle's that
    /// completes it.
    WrongInstallation {
        /// The integration.
        integration: String,
    },
    /// No `code` and no `error`.
    NoCode {
        /// The integration.
        integration: String,
    },
    /// The authorization server answered with an error other than the user's Cancel.
    Provider {
        /// The integration.
        integration: String,
        /// Its error code, as sent (only the characters error codes use).
        error: String,
    },
    /// The code could not be exchanged for tokens, or they could not be stored.
    Exchange {
        /// The integration.
        integration: String,
        /// What went wrong.
        source: crate::TokenError,
    },
}

impl fmt::Display for CallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallbackError::NoState => f.write_str("the callback has no `state`: refused"),
            CallbackError::UnknownState => f.write_str(
                "the callback's `state` was not issued here or was used already: refused",
            ),
            CallbackError::Expired { integration } => write!(
                f,
                "the authorization of `{integration}` took too long: start it again"
            ),
            CallbackError::WrongIntegration {
                expected,
                issued_for,
            } => write!(
                f,
                "the callback for `{expected}` carries a `state` issued for `{issued_for}`: refused"
            ),
            CallbackError::WrongSubject { integration } => write!(
                f,
                "the callback for `{integration}` carries a `state` issued for someone else: refused"
            ),
            CallbackError::WrongInstallation { integration } => write!(
                f,
                "the callback for `{integration}` carries a `state` issued for another installation: refused"
            ),
            CallbackError::NoCode { integration } => write!(
                f,
                "the callback for `{integration}` has neither a code nor an error"
            ),
            CallbackError::Provider { integration, error } => write!(
                f,
                "the authorization server refused to authorize `{integration}`: `{error}`"
            ),
            CallbackError::Exchange {
                integration,
                source,
            } => write!(f, "authorizing `{integration}` failed: {source}"),
        }
    }
}

impl std::error::Error for CallbackError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallbackError::Exchange { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// An authorization could not be started.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// The runtime has no [`IntegrationConfig`](super::IntegrationConfig) of that name.
    UnknownIntegration(String),
    /// The app's [`IntegrationSource`](crate::IntegrationSource) failed to say what the
    /// installation's integrations are.
    Integrations(String),
    /// The integration has no authorize URL.
    NoAuthorizeUrl(String),
    /// `agent` integrations are authorized by each user, `account` ones by the installation.
    WrongSubject {
        /// The integration.
        integration: String,
        /// Whether it is an `agent` integration.
        agent: bool,
    },
    /// The system's random source failed.
    Random,
    /// The runtime has no token store to keep the tokens in.
    NoStore,
    /// The token store could not keep the authorization for the other replicas (what it
    /// said).
    Store(String),
    /// Too many authorizations of this integration are in progress: try again when some
    /// have finished or expired.
    TooManyPending(String),
}

impl fmt::Display for AuthorizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthorizeError::UnknownIntegration(name) => write!(
                f,
                "the runtime has no integration `{name}` (see RuntimeBuilder::integration and \
                 RuntimeBuilder::integration_source)"
            ),
            AuthorizeError::Integrations(reason) => f.write_str(reason),
            AuthorizeError::NoAuthorizeUrl(name) => write!(
                f,
                "integration `{name}` has no authorize URL (see IntegrationConfig::authorize_url)"
            ),
            AuthorizeError::WrongSubject {
                integration,
                agent: true,
            } => write!(
                f,
                "`{integration}` is an agent integration: each user authorizes it (Subject::User)"
            ),
            AuthorizeError::WrongSubject { integration, .. } => write!(
                f,
                "`{integration}` is an account integration: the installation authorizes it (Subject::Installation)"
            ),
            AuthorizeError::Random => f.write_str("the system's random source failed"),
            AuthorizeError::Store(error) => write!(
                f,
                "the token store could not keep the authorization: {error}"
            ),
            AuthorizeError::NoStore => {
                f.write_str("the runtime has no token store (see RuntimeBuilder::store)")
            }
            AuthorizeError::TooManyPending(name) => write!(
                f,
                "too many authorizations of `{name}` are in progress: try again when some have finished or expired"
            ),
        }
    }
}

impl std::error::Error for AuthorizeError {}
