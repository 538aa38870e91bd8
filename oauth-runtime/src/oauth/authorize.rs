//! The authorization-code grant: the URL the user is sent to (PKCE S256, a single-use `state`
//! bound to the integration and the user, short-lived), and the completion of the callback
//! (state checks before any token request, Cancel as an outcome, the code exchanged with the
//! same `redirect_uri` and the verifier).

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret as _, SecretString};

use super::pkce::{Pkce, random_token};
use crate::tokens::{InstallationId, Subject, UserId};

/// How long a started authorization may take before its callback is refused.
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(10 * 60);
/// Authorizations started and not finished that one integration keeps; past it, new ones are
/// refused until some finish or expire (none is evicted: one user's starts never cancel
/// another's).
const MAX_PENDING_PER_INTEGRATION: usize = 1024;
/// Authorizations one subject (the installation, or one user) keeps per integration; a new
/// one replaces only that subject's oldest, so a stray second start (another tab, a
/// navigation someone else caused) does not cancel the one in progress.
const MAX_PENDING_PER_SUBJECT: usize = 3;

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

/// An authorization started and not finished.
pub(crate) struct Pending {
    state: String,
    pub(crate) installation: InstallationId,
    pub(crate) integration: String,
    pub(crate) subject: Subject,
    pub(crate) verifier: Option<SecretString>,
    pub(crate) redirect_uri: url::Url,
    started: Instant,
    /// The URL the user was sent to.
    url: Option<url::Url>,
}

/// The authorizations in flight, by `state`.
#[derive(Default)]
pub(crate) struct PendingAuthorizations {
    pending: Mutex<Vec<Pending>>,
}

impl PendingAuthorizations {
    /// Starts an authorization: its `state`, and the PKCE challenge if `pkce`.
    pub(crate) fn begin(
        &self,
        installation: &InstallationId,
        integration: &str,
        subject: Subject,
        redirect_uri: url::Url,
        pkce: bool,
        ttl: Duration,
    ) -> Result<(String, Option<String>), AuthorizeError> {
        let state = random_token().ok_or(AuthorizeError::Random)?;
        let (verifier, challenge) = match pkce {
            true => {
                let pkce = Pkce::generate().ok_or(AuthorizeError::Random)?;
                (Some(pkce.verifier), Some(pkce.challenge))
            }
            false => (None, None),
        };
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.retain(|p| p.started.elapsed() <= ttl);
        let mine = |p: &Pending| {
            p.installation == *installation && p.integration == integration && p.subject == subject
        };
        if pending.iter().filter(|p| mine(p)).count() >= MAX_PENDING_PER_SUBJECT
            && let Some(oldest) = pending.iter().position(mine)
        {
            pending.remove(oldest);
        } else if pending
            .iter()
            .filter(|p| p.installation == *installation && p.integration == integration)
            .count()
            >= MAX_PENDING_PER_INTEGRATION
        {
            return Err(AuthorizeError::TooManyPending(integration.to_string()));
        }
        pending.push(Pending {
            state: state.clone(),
            installation: installation.clone(),
            integration: integration.to_string(),
            subject,
            verifier,
            redirect_uri,
            started: Instant::now(),
            url: None,
        });
        Ok((state, challenge))
    }

    pub(crate) fn set_url(&self, state: &str, url: &url::Url) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = pending.iter_mut().rev().find(|e| e.state == state) {
            entry.url = Some(url.clone());
        }
    }

    /// The URL of an authorization started for `integration` and `subject` that has at least
    /// `left` to live.
    pub(crate) fn live_url(
        &self,
        installation: &InstallationId,
        integration: &str,
        subject: &Subject,
        left: Duration,
    ) -> Option<url::Url> {
        let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending
            .iter()
            .rev()
            .find(|e| {
                e.installation == *installation
                    && e.integration == integration
                    && &e.subject == subject
                    && e.started.elapsed() < left
            })
            .and_then(|e| e.url.clone())
    }

    /// Takes the authorization of `state` (single use), checking it is alive and bound to
    /// `integration` and `user`. States are compared in constant time.
    pub(crate) fn take(
        &self,
        state: Option<&str>,
        integration: &str,
        user: Option<&UserId>,
        ttl: Duration,
    ) -> Result<Pending, CallbackError> {
        let state = state.ok_or(CallbackError::NoState)?;
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let mut found = None;
        for (i, entry) in pending.iter().enumerate() {
            let same = aws_lc_rs::constant_time::verify_slices_are_equal(
                entry.state.as_bytes(),
                state.as_bytes(),
            )
            .is_ok();
            if same {
                found = Some(i);
            }
        }
        let entry = pending.remove(found.ok_or(CallbackError::UnknownState)?);
        drop(pending);
        if entry.started.elapsed() > ttl {
            return Err(CallbackError::Expired {
                integration: entry.integration,
            });
        }
        if entry.integration != integration {
            return Err(CallbackError::WrongIntegration {
                expected: integration.to_string(),
                issued_for: entry.integration,
            });
        }
        let expected_subject = match user {
            Some(user) => Subject::User(user.clone()),
            None => Subject::Installation,
        };
        if entry.subject != expected_subject {
            return Err(CallbackError::WrongSubject {
                integration: entry.integration,
            });
        }
        Ok(entry)
    }
}

impl Pending {
    pub(crate) fn verifier(&self) -> Option<&str> {
        self.verifier.as_ref().map(|v| v.expose_secret())
    }
}
