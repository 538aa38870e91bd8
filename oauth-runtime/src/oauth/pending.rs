//! Authorizations started and not finished, in this process's memory: by `state`, single use,
//! short-lived, bounded. Those kept in a shared store as well
//! ([`SharedAuthorization`]) are completed through the store, so that one started on any
//! replica completes once, on any replica.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use secrecy::{ExposeSecret as _, SecretString};

use super::authorize::{AuthorizeError, CallbackError};
use super::pkce::{self, Pkce, random_token};
use crate::store::SharedAuthorization;
use crate::tokens::{InstallationId, Subject, UserId};

/// Authorizations started and not finished that one installation keeps of one integration;
/// past it, new ones are refused until some finish or expire (none is evicted: one user's
/// starts never cancel another's).
pub(crate) const MAX_PENDING_PER_INTEGRATION: usize = 1024;
/// Authorizations one subject (the installation, or one user) keeps per integration; a new
/// one replaces only that subject's oldest, so a stray second start (another tab, a
/// navigation someone else caused) does not cancel the one in progress.
const MAX_PENDING_PER_SUBJECT: usize = 3;

/// An authorization started and not finished.
pub(crate) struct Pending {
    state: String,
    pub(crate) installation: InstallationId,
    pub(crate) integration: String,
    pub(crate) subject: Subject,
    pub(crate) verifier: Option<SecretString>,
    pub(crate) redirect_uri: url::Url,
    /// Until when it may complete.
    deadline: Instant,
    /// The URL the user was sent to.
    url: Option<url::Url>,
    /// Kept in the shared store too, which decides who completes it.
    pub(crate) shared: bool,
}

impl Pending {
    pub(crate) fn verifier(&self) -> Option<&str> {
        self.verifier.as_ref().map(|v| v.expose_secret())
    }

    /// The hash its state is kept by in a shared store.
    pub(crate) fn state_hash(&self) -> String {
        pkce::challenge(&self.state)
    }

    /// As a shared store keeps it.
    pub(crate) fn to_shared(&self) -> SharedAuthorization {
        let left = self.deadline.saturating_duration_since(Instant::now());
        SharedAuthorization {
            state_hash: self.state_hash(),
            installation: self.installation.clone(),
            integration: self.integration.clone(),
            subject: self.subject.clone(),
            verifier: self.verifier.clone(),
            redirect_uri: self.redirect_uri.clone(),
            expires_at: SystemTime::now() + left,
        }
    }

    /// One a shared store kept, taken to be completed here.
    pub(crate) fn from_shared(state: &str, shared: SharedAuthorization) -> Pending {
        let left = shared
            .expires_at
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        Pending {
            state: state.to_string(),
            installation: shared.installation,
            integration: shared.integration,
            subject: shared.subject,
            verifier: shared.verifier,
            redirect_uri: shared.redirect_uri,
            deadline: Instant::now() + left,
            url: None,
            shared: true,
        }
    }

    /// Checks it is alive and bound to `integration` and `user`.
    pub(crate) fn check(
        self,
        integration: &str,
        user: Option<&UserId>,
    ) -> Result<Pending, CallbackError> {
        if Instant::now() > self.deadline {
            return Err(CallbackError::Expired {
                integration: self.integration,
            });
        }
        if self.integration != integration {
            return Err(CallbackError::WrongIntegration {
                expected: integration.to_string(),
                issued_for: self.integration,
            });
        }
        let expected_subject = match user {
            Some(user) => Subject::User(user.clone()),
            None => Subject::Installation,
        };
        if self.subject != expected_subject {
            return Err(CallbackError::WrongSubject {
                integration: self.integration,
            });
        }
        Ok(self)
    }
}

/// What `begin` gives: the state, the PKCE challenge, and the authorization as a shared
/// store would keep it.
pub(crate) struct Begun {
    pub(crate) state: String,
    pub(crate) challenge: Option<String>,
    pub(crate) shared: SharedAuthorization,
}

/// The authorizations in flight in this process, by `state`.
#[derive(Default)]
pub(crate) struct PendingAuthorizations {
    pending: Mutex<Vec<Pending>>,
}

impl PendingAuthorizations {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts an authorization: its `state`, and the PKCE challenge if `pkce`.
    pub(crate) fn begin(
        &self,
        installation: &InstallationId,
        integration: &str,
        subject: Subject,
        redirect_uri: url::Url,
        pkce: bool,
        ttl: Duration,
    ) -> Result<Begun, AuthorizeError> {
        let state = random_token().ok_or(AuthorizeError::Random)?;
        let (verifier, challenge) = match pkce {
            true => {
                let pkce = Pkce::generate().ok_or(AuthorizeError::Random)?;
                (Some(pkce.verifier), Some(pkce.challenge))
            }
            false => (None, None),
        };
        let mut pending = self.lock();
        let now = Instant::now();
        pending.retain(|p| p.deadline >= now);
        // Those a shared store keeps are its to count and to let go; this process keeps them
        // only to hand out their URL again.
        let mine = |p: &Pending| {
            !p.shared
                && p.installation == *installation
                && p.integration == integration
                && p.subject == subject
        };
        if pending.iter().filter(|p| mine(p)).count() >= MAX_PENDING_PER_SUBJECT
            && let Some(oldest) = pending.iter().position(mine)
        {
            pending.remove(oldest);
        } else if pending
            .iter()
            .filter(|p| {
                !p.shared && p.installation == *installation && p.integration == integration
            })
            .count()
            >= MAX_PENDING_PER_INTEGRATION
        {
            return Err(AuthorizeError::TooManyPending(integration.to_string()));
        }
        let entry = Pending {
            state: state.clone(),
            installation: installation.clone(),
            integration: integration.to_string(),
            subject,
            verifier,
            redirect_uri,
            deadline: now + ttl,
            url: None,
            shared: false,
        };
        let shared = entry.to_shared();
        pending.push(entry);
        Ok(Begun {
            state,
            challenge,
            shared,
        })
    }

    /// Notes the URL the user is sent to, and whether a shared store keeps it too.
    pub(crate) fn started(&self, state: &str, url: &url::Url, shared: bool) {
        let mut pending = self.lock();
        if let Some(entry) = pending.iter_mut().rev().find(|e| e.state == state) {
            entry.url = Some(url.clone());
            entry.shared = shared;
        }
    }

    /// Forgets the authorization of `state` (it could not be started after all).
    pub(crate) fn forget(&self, state: &str) {
        self.lock().retain(|e| e.state != state);
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
        let pending = self.lock();
        let now = Instant::now();
        pending
            .iter()
            .rev()
            .find(|e| {
                e.installation == *installation
                    && e.integration == integration
                    && &e.subject == subject
                    && e.deadline.saturating_duration_since(now) >= left
            })
            .and_then(|e| e.url.clone())
    }

    /// Takes the authorization of `state` out of this process's memory, if it is there.
    /// States are compared in constant time.
    pub(crate) fn take(&self, state: &str) -> Option<Pending> {
        let mut pending = self.lock();
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
        found.map(|i| pending.remove(i))
    }
}
