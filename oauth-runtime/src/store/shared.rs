//! Authorizations in flight kept where every replica finds them: a store that shares its
//! tokens between processes ([`PostgresStore`](super::PostgresStore)) can keep them too, so an
//! authorization started on one replica completes on any other, once.

use std::fmt;
use std::time::SystemTime;

use secrecy::{ExposeSecret as _, SecretString};

use crate::tokens::{InstallationId, Subject};

/// An authorization started and not finished, as a store keeps it
/// ([`TokenStore::keep_authorization`](super::TokenStore::keep_authorization)): whose it is,
/// the PKCE verifier (a secret: keep it as you keep tokens), where the user comes back, and
/// until when it may complete. The `state` is known by its hash only. `Debug` shows no
/// verifier.
#[derive(Clone)]
pub struct SharedAuthorization {
    pub(crate) state_hash: String,
    pub(crate) installation: InstallationId,
    pub(crate) integration: String,
    pub(crate) subject: Subject,
    pub(crate) verifier: Option<SecretString>,
    pub(crate) redirect_uri: url::Url,
    pub(crate) expires_at: SystemTime,
}

impl SharedAuthorization {
    /// An authorization as a store read it back.
    pub fn restore(
        state_hash: String,
        installation: InstallationId,
        integration: String,
        subject: Subject,
        verifier: Option<String>,
        redirect_uri: url::Url,
        expires_at: SystemTime,
    ) -> Self {
        SharedAuthorization {
            state_hash,
            installation,
            integration,
            subject,
            verifier: verifier.map(SecretString::from),
            redirect_uri,
            expires_at,
        }
    }

    /// The hash of its `state` (base64url of SHA-256): the key to keep it by.
    pub fn state_hash(&self) -> &str {
        &self.state_hash
    }

    /// The installation the tokens will belong to.
    pub fn installation(&self) -> &InstallationId {
        &self.installation
    }

    /// The integration being authorized.
    pub fn integration(&self) -> &str {
        &self.integration
    }

    /// Whose tokens it will give.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The PKCE verifier, when the integration uses PKCE: a secret.
    pub fn verifier(&self) -> Option<&str> {
        self.verifier.as_ref().map(|v| v.expose_secret())
    }

    /// Where the provider sends the user back.
    pub fn redirect_uri(&self) -> &url::Url {
        &self.redirect_uri
    }

    /// Until when it may complete; a store may forget it after.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }
}

impl fmt::Debug for SharedAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedAuthorization")
            .field("installation", &self.installation)
            .field("integration", &self.integration)
            .field("subject", &self.subject)
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What became of an authorization given to a store to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Kept: any replica can complete it.
    Kept,
    /// Not kept: its installation has too many authorizations of this integration in flight.
    TooMany,
    /// The store keeps no authorizations: the runtime keeps it in its own memory, and only
    /// the process that started it can complete it.
    NotShared,
}
