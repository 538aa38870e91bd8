//! Where tokens are kept: the [`TokenStore`] trait, [`MemoryStore`] and [`FileStore`].
//!
//! Every record carries a [`Version`]; a save names the version it replaces and fails with
//! [`StoreError::Conflict`] when someone else wrote in between (compare-and-swap), so a late
//! writer can never overwrite newer tokens.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::tokens::{TokenKey, TokenRecord};

mod crypt;
mod file;
mod format;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod shared;

pub use crypt::{EncryptionKey, InvalidKey};
pub use file::FileStore;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use shared::{Kept, SharedAuthorization};
// Defined beside the `TokenError` that carries it, so that `tokens` needs nothing from here.
pub use crate::tokens::StoreError;

/// The version of a stored record: it changes on every save.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version(u64);

impl Version {
    /// The version numbered `n` (stores number their records as they like).
    pub const fn new(n: u64) -> Self {
        Version(n)
    }

    /// Its number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The version after the highest this store ever gave, so a record deleted and created
    /// again never repeats a version a late writer may still hold.
    /// `None` when the numbers are exhausted (a file that claims `u64::MAX`).
    pub(crate) fn after(highest: u64) -> Option<Version> {
        highest.checked_add(1).map(Version)
    }
}

/// A record and its version.
#[derive(Debug, Clone)]
pub struct Versioned {
    /// The record.
    pub record: TokenRecord,
    /// Its version, to name in the next save.
    pub version: Version,
}

/// The future a [`TokenStore`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Keeps tokens by key.
pub trait TokenStore: Send + Sync + 'static {
    /// The record for `key`, if there is one.
    fn load<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Versioned>>;

    /// Saves `record` for `key` if the stored version is still `expected` (`None`: there is no
    /// record yet); otherwise fails with [`StoreError::Conflict`] and changes nothing.
    fn save<'a>(
        &'a self,
        key: &'a TokenKey,
        record: &'a TokenRecord,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Version>;

    /// Deletes the record for `key`; true if there was one.
    fn delete<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, bool>;

    /// Every key that has a record.
    fn keys(&self) -> StoreFuture<'_, Vec<TokenKey>>;

    /// Held by whoever refreshes `key`'s tokens, so that processes sharing the store refresh
    /// once: the holder re-reads the record after taking it. A store shared only within one
    /// process needs none (the default). Waiting is bounded by `wait`: after it the caller
    /// goes on without the lock, and the version check still fences its write.
    fn lock_refresh<'a>(
        &'a self,
        key: &'a TokenKey,
        wait: Duration,
    ) -> StoreFuture<'a, RefreshLock> {
        let _ = (key, wait);
        Box::pin(std::future::ready(Ok(RefreshLock::none())))
    }

    /// Keeps `authorization` where every process sharing the store finds it, unless its
    /// installation already has `max` of its integration in flight. A store shared only
    /// within one process keeps none (the default: [`Kept::NotShared`]), and the runtime
    /// keeps them in memory.
    fn keep_authorization<'a>(
        &'a self,
        authorization: &'a SharedAuthorization,
        max: usize,
    ) -> StoreFuture<'a, Kept> {
        let _ = (authorization, max);
        Box::pin(std::future::ready(Ok(Kept::NotShared)))
    }

    /// Takes the authorization whose `state` hashes to `state_hash`, once across every
    /// process: the first taker gets it, later ones none. An expired one may be returned (the
    /// runtime says it expired) or not.
    fn take_authorization<'a>(
        &'a self,
        state_hash: &'a str,
    ) -> StoreFuture<'a, Option<SharedAuthorization>> {
        let _ = state_hash;
        Box::pin(std::future::ready(Ok(None)))
    }
}

/// A held refresh lock: released when dropped.
#[must_use = "the lock is released when dropped"]
pub struct RefreshLock {
    _held: Option<Box<dyn Send + Sync>>,
}

impl RefreshLock {
    /// No lock (a store used by one process).
    pub fn none() -> Self {
        RefreshLock { _held: None }
    }

    /// A lock released when `guard` is dropped.
    pub fn held(guard: impl Send + Sync + 'static) -> Self {
        RefreshLock {
            _held: Some(Box::new(guard)),
        }
    }

    /// Whether it holds a lock (a store without locks hands out ones that hold none).
    #[cfg(test)]
    pub(crate) fn is_held(&self) -> bool {
        self._held.is_some()
    }
}

impl fmt::Debug for RefreshLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshLock")
            .field("held", &self._held.is_some())
            .finish()
    }
}
