//! [`MemoryStore`]: tokens in this process's memory.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, MutexGuard};

use std::time::Duration;

use super::{RefreshLock, StoreError, StoreFuture, TokenStore, Version, Versioned};
use crate::keyed::{Hasher, KeyedLocks, Sharded};
use crate::tokens::{TokenKey, TokenRecord};

/// Tokens kept in memory, lost when the process ends: for tests and short-lived tools.
/// Clones share the same tokens.
#[derive(Clone, Default)]
pub struct MemoryStore {
    records: Arc<Records>,
    /// Each key's lock held around its refresh, so runtimes sharing this store refresh it
    /// once between them; other keys' refreshes go on meanwhile. A key is here while its
    /// lock is held or awaited.
    refreshing: KeyedLocks<TokenKey>,
}

/// The records in shards (see [`Sharded`]): calls of many keys read them at once.
struct Records {
    shards: Sharded<HashMap<TokenKey, Versioned, Hasher>>,
    /// The last version given, of any key: versions never repeat.
    highest_version: AtomicU64,
}

impl Default for Records {
    fn default() -> Self {
        Records {
            shards: Sharded::new(SHARDS, |hasher| HashMap::with_hasher(hasher.clone())),
            highest_version: AtomicU64::new(0),
        }
    }
}

const SHARDS: usize = 16;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shard of `key`, locked.
    fn records(&self, key: &TokenKey) -> MutexGuard<'_, HashMap<TokenKey, Versioned, Hasher>> {
        self.records.shards.shard_of(key)
    }

    fn all_keys(&self) -> Vec<TokenKey> {
        self.records
            .shards
            .each()
            .flat_map(|shard| shard.keys().cloned().collect::<Vec<_>>())
            .collect()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("keys", &self.all_keys())
            .finish()
    }
}

impl TokenStore for MemoryStore {
    fn load<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Versioned>> {
        let record = self.records(key).get(key).cloned();
        Box::pin(std::future::ready(Ok(record)))
    }

    fn save<'a>(
        &'a self,
        key: &'a TokenKey,
        record: &'a TokenRecord,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Version> {
        let mut records = self.records(key);
        let current = records.get(key).map(|v| v.version);
        let result = if current == expected {
            // A memory store counts from 0: it cannot run out in practice.
            let highest = self.records.highest_version.fetch_add(1, Ordering::Relaxed);
            let version = Version::after(highest).unwrap_or(Version::new(u64::MAX));
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
                integration: key.integration.to_string(),
            })
        };
        Box::pin(std::future::ready(result))
    }

    fn delete<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, bool> {
        let removed = self.records(key).remove(key).is_some();
        Box::pin(std::future::ready(Ok(removed)))
    }

    fn keys(&self) -> StoreFuture<'_, Vec<TokenKey>> {
        let keys = self.all_keys();
        Box::pin(std::future::ready(Ok(keys)))
    }

    fn lock_refresh<'a>(
        &'a self,
        key: &'a TokenKey,
        wait: Duration,
    ) -> StoreFuture<'a, RefreshLock> {
        Box::pin(async move {
            let held = self.refreshing.lock_within(key, wait).await;
            if held.is_held() {
                Ok(RefreshLock::held(held))
            } else {
                // The holder stalled: go on; the version check fences a late write. (The
                // entry goes with `held` unless the holder still has it.)
                Ok(RefreshLock::none())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryStore;
    use crate::store::TokenStore;
    use crate::tokens::TokenKey;
    use std::time::Duration;

    #[tokio::test]
    async fn a_keys_refresh_lock_holds_that_key_only_and_leaves_nothing_behind() {
        let store = MemoryStore::new();
        let (acme, globex) = (
            TokenKey::installation("crm").in_installation("acme"),
            TokenKey::installation("crm").in_installation("globex"),
        );
        let wait = Duration::from_millis(20);
        let first = store.lock_refresh(&acme, wait).await.unwrap();
        assert!(first.is_held());
        // Another key's refresh goes on; the same key's waits, then goes on without it.
        let other = store.lock_refresh(&globex, wait).await.unwrap();
        assert!(other.is_held());
        let again = store.lock_refresh(&acme, wait).await.unwrap();
        assert!(!again.is_held(), "the holder has it");
        drop((other, again));
        assert_eq!(store.refreshing.len(), 1, "acme's, held");
        drop(first);
        assert_eq!(store.refreshing.len(), 0);
        // Free again: taken at once.
        assert!(store.lock_refresh(&acme, wait).await.unwrap().is_held());
    }
}
