//! [`MemoryStore`]: tokens in this process's memory.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{StoreError, StoreFuture, TokenStore, Version, Versioned};
use crate::tokens::{TokenKey, TokenRecord};

/// Tokens kept in memory, lost when the process ends: for tests and short-lived tools.
/// Clones share the same tokens.
#[derive(Clone, Default)]
pub struct MemoryStore {
    records: Arc<Mutex<HashMap<TokenKey, Versioned>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn records(&self) -> MutexGuard<'_, HashMap<TokenKey, Versioned>> {
        // A panic elsewhere while holding the lock leaves the map whole: every change is one
        // insert or remove.
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("keys", &self.records().keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TokenStore for MemoryStore {
    fn load<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Versioned>> {
        let record = self.records().get(key).cloned();
        Box::pin(std::future::ready(Ok(record)))
    }

    fn save<'a>(
        &'a self,
        key: &'a TokenKey,
        record: &'a TokenRecord,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Version> {
        let mut records = self.records();
        let current = records.get(key).map(|v| v.version);
        let result = if current == expected {
            let version = Version::next(current);
            records.insert(
                key.clone(),
                Versioned {
                    record: record.clone(),
                    version,
                },
            );
            Ok(version)
        } else {
            Err(StoreError::Conflict {
                integration: key.integration.clone(),
            })
        };
        Box::pin(std::future::ready(result))
    }

    fn delete<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, bool> {
        let removed = self.records().remove(key).is_some();
        Box::pin(std::future::ready(Ok(removed)))
    }

    fn keys(&self) -> StoreFuture<'_, Vec<TokenKey>> {
        let keys = self.records().keys().cloned().collect();
        Box::pin(std::future::ready(Ok(keys)))
    }
}
