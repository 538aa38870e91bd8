//! What happens to an app's tokens, told to the app as it happens: an installation or a user
//! authorized, a token refreshed, a refresh that failed and then recovered, a user who must
//! authorize again (FDK shows the admin a REAUTHORIZE button), tokens revoked.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use oauth_runtime::events::{self, TokenEvent};
//!
//! let (sender, mut receiver) = events::channel(256);
//! let runtime = oauth_runtime::Runtime::builder().events(sender).build()?;
//! tokio::spawn(async move {
//!     while let Some(event) = receiver.recv().await {
//!         if let TokenEvent::ReauthorizationRequired { key, .. } = &event {
//!             eprintln!("{} must authorize {} again", key.subject, key.integration);
//!         }
//!     }
//! });
//! # Ok(()) }
//! ```
//!
//! The channel is bounded: a subscriber that falls behind never slows a call or a refresh.
//! Events it has no room for are dropped and counted ([`EventReceiver::dropped`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use crate::oauth::Revocation;
use crate::tokens::{ReauthorizationReason, TokenKey};

/// Something that happened to the tokens of one key. Never holds a secret; its `Debug`
/// shows an authorize URL without its query (the pending authorization's `state`).
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum TokenEvent {
    /// An authorization completed: the key has tokens.
    Authorized {
        /// Whose tokens.
        key: TokenKey,
    },
    /// The tokens were refreshed.
    Refreshed {
        /// Whose tokens.
        key: TokenKey,
    },
    /// A refresh failed for a reason that may pass (the provider is down, it answered an
    /// error), or because the provider refused the client's credentials. The tokens are kept;
    /// calls go on with the access token while it is valid.
    RefreshFailed {
        /// Whose tokens.
        key: TokenKey,
        /// Why, as a class.
        failure: RefreshFailure,
    },
    /// Refreshing works again after it had failed.
    Recovered {
        /// Whose tokens.
        key: TokenKey,
    },
    /// The key's user (an admin for an `account` integration) must authorize again: calls for
    /// it fail until then.
    ReauthorizationRequired {
        /// Whose tokens.
        key: TokenKey,
        /// Why.
        reason: ReauthorizationReason,
        /// Where to send the user, for an `agent` integration whose runtime knows its
        /// authorize URL.
        authorize_url: Option<url::Url>,
    },
    /// The key's tokens were forgotten: revoked at the provider first when it has a
    /// revocation endpoint, then deleted.
    Revoked {
        /// Whose tokens.
        key: TokenKey,
        /// What the provider said.
        revocation: Revocation,
    },
}

impl std::fmt::Debug for TokenEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenEvent::Authorized { key } => {
                f.debug_struct("Authorized").field("key", key).finish()
            }
            TokenEvent::Refreshed { key } => f.debug_struct("Refreshed").field("key", key).finish(),
            TokenEvent::RefreshFailed { key, failure } => f
                .debug_struct("RefreshFailed")
                .field("key", key)
                .field("failure", failure)
                .finish(),
            TokenEvent::Recovered { key } => f.debug_struct("Recovered").field("key", key).finish(),
            TokenEvent::ReauthorizationRequired {
                key,
                reason,
                authorize_url,
            } => f
                .debug_struct("ReauthorizationRequired")
                .field("key", key)
                .field("reason", reason)
                .field(
                    "authorize_url",
                    &authorize_url.as_ref().map(|url| {
                        let mut shown = url.clone();
                        shown.set_query(None);
                        format!("{shown}?[REDACTED]")
                    }),
                )
                .finish(),
            TokenEvent::Revoked { key, revocation } => f
                .debug_struct("Revoked")
                .field("key", key)
                .field("revocation", revocation)
                .finish(),
        }
    }
}

/// Why a refresh failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshFailure {
    /// The provider could not be reached or answered an error that may pass.
    Transient,
    /// The provider refused the client's credentials: check the client id and secret.
    ClientRejected,
}

/// Where the runtime sends its events; made with [`channel`], given to
/// [`RuntimeBuilder::events`](crate::RuntimeBuilder::events).
#[derive(Debug, Clone)]
pub struct EventSender {
    sender: mpsc::Sender<TokenEvent>,
    dropped: Arc<AtomicU64>,
}

/// Where the app reads the runtime's events.
#[derive(Debug)]
pub struct EventReceiver {
    receiver: mpsc::Receiver<TokenEvent>,
    dropped: Arc<AtomicU64>,
}

/// A bounded channel of events: `capacity` events wait for the subscriber, later ones are
/// dropped and counted until it catches up.
pub fn channel(capacity: usize) -> (EventSender, EventReceiver) {
    let (sender, receiver) = mpsc::channel(capacity.max(1));
    let dropped = Arc::new(AtomicU64::new(0));
    (
        EventSender {
            sender,
            dropped: dropped.clone(),
        },
        EventReceiver { receiver, dropped },
    )
}

impl EventSender {
    /// Sends `event` if there is room, never waiting.
    pub(crate) fn send(&self, event: TokenEvent) {
        match self.sender.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            // Nobody listens any more: nothing to count.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

impl EventReceiver {
    /// The next event; `None` once every runtime sending to it is gone.
    pub async fn recv(&mut self) -> Option<TokenEvent> {
        self.receiver.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<TokenEvent> {
        self.receiver.try_recv().ok()
    }

    /// How many events were dropped because the channel was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
