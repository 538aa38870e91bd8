//! [`MemoryStore`]: tokens in this process's memory.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use std::time::Duration;

use super::{RefreshLock, StoreError, StoreFuture, TokenStore, Version, Versioned};
use crate::tokens::{TokenKey, TokenRecord};

/// Tokens kept in memory, lost when the process ends: for tests and short-lived tools.
/// Clones share the same tokens.
#[derive(Clone, Default)]
pub struct MemoryStore {
    records: Arc<Mutex<Records>>,
    /// Held around refreshes, so runtimes sharing this store refresh once between them.
    refreshing: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Default)]
struct Records {
    by_key: HashMap<TokenKey, Versioned>,
    highest_version: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn records(&self) -> MutexGuard<'_, Records> {
        // A panic elsewhere while holding the lock leaves the records whole: no code that can
        // panic runs while it is held.
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("keys", &self.records().by_key.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TokenStore for MemoryStore {
    fn load<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Versioned>> {
        let record = self.records().by_key.get(key).cloned();
        Box::pin(std::future::ready(Ok(record)))
    }

    fn save<'a>(
        &'a self,
        key: &'a TokenKey,
        record: &'a TokenRecord,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Version> {
        let mut records = self.records();
        let current = records.by_key.get(key).map(|v| v.version);
        let result = if current == expected {
            // A memory store counts from 0: it cannot run out in practice.
            let version = Version::after(records.highest_version).unwrap_or(Version::new(u64::MAX));
            records.highest_version = version.get();
            records.by_key.insert(
                key.clone(),
                Versioned {
                    record: record.clone(),
                    version,
                },
            );
            Ok(version)
        } else {
            Err(StoreError::Conflict {
                integration: key.integration.to_string(),
            })
        };
        Box::pin(std::future::ready(result))
    }

    fn delete<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, bool> {
        let removed = self.records().by_key.remove(key).is_some();
        Box::pin(std::future::ready(Ok(removed)))
    }

    fn keys(&self) -> StoreFuture<'_, Vec<TokenKey>> {
        let keys = self.records().by_key.keys().cloned().collect();
        Box::pin(std::future::ready(Ok(keys)))
    }

    fn lock_refresh<'a>(
        &'a self,
        _key: &'a TokenKey,
        wait: Duration,
    ) -> StoreFuture<'a, RefreshLock> {
        Box::pin(async move {
            match tokio::time::timeout(wait, self.refreshing.clone().lock_owned()).await {
                Ok(guard) => Ok(RefreshLock::held(guard)),
                // The holder stalled: go on; the version check fences a late write.
                Err(_) => Ok(RefreshLock::none()),
            }
        })
    }
}
