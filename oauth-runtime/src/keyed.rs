//! What the runtime's keyed caches share: one task at a time doing a key's work (asking an
//! installation's integrations, building an identity's client, refreshing a token) while the
//! others wait for its result, maps in shards under locks of their own, and the bound that
//! lets the oldest go when a cache is full.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How the runtime's keyed maps hash their keys.
pub(crate) type Hasher = foldhash::fast::RandomState;

/// A map in shards, each under a lock of its own, a key's shard chosen by its hash: calls on
/// several threads seldom take the same lock, nor write the same memory. The shard is picked
/// by bits of the hash that a table does not use to place the key, so that a shard's table
/// can be given the same hash.
pub(crate) struct Sharded<T> {
    first: Mutex<T>,
    more: Box<[Mutex<T>]>,
    hasher: Hasher,
}

impl<T> Sharded<T> {
    /// `count` shards (one at least, rounded up to a power of two: a key's shard is picked by
    /// a mask, not a division), each made by `make` with the hasher they share.
    pub(crate) fn new(count: usize, mut make: impl FnMut(&Hasher) -> T) -> Self {
        let count = count.max(1).next_power_of_two();
        let hasher = Hasher::default();
        Sharded {
            first: Mutex::new(make(&hasher)),
            more: (1..count).map(|_| Mutex::new(make(&hasher))).collect(),
            hasher,
        }
    }

    /// The hash of `key`, as the shards' tables hash it.
    pub(crate) fn hash(&self, key: &(impl Hash + ?Sized)) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The shard of the key hashed to `hash`, locked. Its users make each change in one step,
    /// so a panic elsewhere while it is held leaves it whole: its poisoning is ignored.
    pub(crate) fn shard(&self, hash: u64) -> MutexGuard<'_, T> {
        let index = (hash >> 32) as usize & self.more.len();
        let shard = match index.checked_sub(1) {
            Some(index) => self.more.get(index).unwrap_or(&self.first),
            None => &self.first,
        };
        shard.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The shard of `key`, locked.
    pub(crate) fn shard_of(&self, key: &(impl Hash + ?Sized)) -> MutexGuard<'_, T> {
        self.shard(self.hash(key))
    }

    /// Every shard, each locked in turn.
    pub(crate) fn each(&self) -> impl Iterator<Item = MutexGuard<'_, T>> {
        std::iter::once(&self.first)
            .chain(self.more.iter())
            .map(|shard| shard.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// How many shards there are.
    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        self.more.len() + 1
    }
}

/// One lock per key, held by one task at a time while the others wait: a key's work done
/// once (asking an installation's integrations, building an identity's client, refreshing a
/// token), the waiters then finding its result. A key has an entry while its lock is held or
/// awaited, no longer. Clones share the locks.
pub(crate) struct KeyedLocks<K> {
    locks: Arc<Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>>,
}

impl<K> Default for KeyedLocks<K> {
    fn default() -> Self {
        KeyedLocks {
            locks: Arc::default(),
        }
    }
}

impl<K> Clone for KeyedLocks<K> {
    fn clone(&self) -> Self {
        KeyedLocks {
            locks: self.locks.clone(),
        }
    }
}

impl<K: Hash + Eq + Clone> KeyedLocks<K> {
    /// Waits for `key`'s lock. It is released when the hold is dropped: after the result is
    /// kept, or when the work fails or the task is dropped.
    pub(crate) async fn lock(&self, key: &K) -> KeyHold<K> {
        let lock = self.entry(key);
        self.hold(key, Some(lock.lock_owned().await))
    }

    /// [`lock`](Self::lock), waiting `wait` at most: the hold then holds nothing (see
    /// [`KeyHold::is_held`]).
    pub(crate) async fn lock_within(&self, key: &K, wait: Duration) -> KeyHold<K> {
        let lock = self.entry(key);
        let held = tokio::time::timeout(wait, lock.lock_owned()).await.ok();
        self.hold(key, held)
    }

    fn entry(&self, key: &K) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.clone())
            .or_default()
            .clone()
    }

    fn hold(&self, key: &K, held: Option<tokio::sync::OwnedMutexGuard<()>>) -> KeyHold<K> {
        KeyHold {
            held,
            key: key.clone(),
            locks: self.locks.clone(),
        }
    }

    /// How many keys have an entry.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.locks.lock().map_or(0, |locks| locks.len())
    }
}

/// A key's lock, held (or, after a wait that ran out, not).
pub(crate) struct KeyHold<K: Hash + Eq> {
    held: Option<tokio::sync::OwnedMutexGuard<()>>,
    key: K,
    locks: Arc<Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>>,
}

impl<K: Hash + Eq> KeyHold<K> {
    /// Whether the lock came within the wait.
    pub(crate) fn is_held(&self) -> bool {
        self.held.is_some()
    }
}

impl<K: Hash + Eq> Drop for KeyHold<K> {
    fn drop(&mut self) {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        // Released under the map's lock, so that no one takes a new hold on the entry
        // meanwhile; the entry goes when no one else holds or awaits it (its waiters would
        // otherwise go on beside a newcomer with an entry of its own).
        drop(self.held.take());
        if locks
            .get(&self.key)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            locks.remove(&self.key);
        }
    }
}

/// Makes room for one more in a cache holding `capacity` at most: the oldest tenth goes (by
/// `at`), so that a full cache is not scanned at every new key.
pub(crate) fn let_oldest_go<K: Hash + Eq + Clone, V, S: BuildHasher, T: Ord + Copy>(
    map: &mut HashMap<K, V, S>,
    capacity: usize,
    at: impl Fn(&V) -> T,
) {
    let held = map.len();
    let_oldest_go_by(
        map,
        held,
        capacity,
        |map| map.iter().map(|(k, v)| (at(v), k.clone())).collect(),
        |map, key| usize::from(map.remove(&key).is_some()),
    );
}

/// [`let_oldest_go`] for any cache whose entries hold several things each (one at least),
/// `held` in all: `entries` lists each entry's age and key, `remove` lets the entry of a key go
/// and says how many things it held. The oldest entries go until a tenth of `capacity` is
/// free. Returns how many things went.
pub(crate) fn let_oldest_go_by<M, K, T: Ord + Copy>(
    cache: &mut M,
    held: usize,
    capacity: usize,
    entries: impl FnOnce(&M) -> Vec<(T, K)>,
    mut remove: impl FnMut(&mut M, K) -> usize,
) -> usize {
    if held < capacity {
        return 0;
    }
    let room = held + 1 - capacity + capacity / 10;
    let mut oldest = entries(cache);
    // Each entry holds one thing at least: the `room` oldest are enough, found without
    // sorting the whole cache.
    if room < oldest.len() {
        oldest.select_nth_unstable_by_key(room, |(at, _)| *at);
        oldest.truncate(room);
    }
    oldest.sort_unstable_by_key(|(at, _)| *at);
    let mut freed = 0;
    for (_, key) in oldest {
        if freed >= room {
            break;
        }
        freed += remove(cache, key);
    }
    freed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Shards come in a power of two, and keys spread over every one of them.
    #[test]
    fn shards_are_a_power_of_two_and_keys_reach_each() {
        for (asked, made) in [(0, 1), (1, 1), (3, 4), (8, 8), (9, 16)] {
            let sharded = Sharded::new(asked, |_| Vec::<u32>::new());
            assert_eq!(sharded.count(), made, "{asked} shards asked");
            for key in 0..made as u32 * 64 {
                sharded.shard_of(&key).push(key);
            }
            assert!(sharded.each().all(|shard| !shard.is_empty()));
            assert_eq!(
                sharded.each().map(|shard| shard.len()).sum::<usize>(),
                made * 64
            );
        }
    }

    #[test]
    fn a_full_cache_lets_its_oldest_tenth_go() {
        let start = Instant::now();
        let mut map: HashMap<u32, Instant> = (0..100)
            .map(|n| (n, start + Duration::from_secs(u64::from(n))))
            .collect();
        let_oldest_go(&mut map, 100, |at| *at);
        assert_eq!(map.len(), 89);
        assert!((0..11).all(|n| !map.contains_key(&n)));
        assert!((11..100).all(|n| map.contains_key(&n)));
        let_oldest_go(&mut map, 100, |at| *at);
        assert_eq!(map.len(), 89, "room already");
    }

    #[test]
    fn a_full_weighed_cache_lets_its_oldest_go_until_a_tenth_is_free() {
        // Entry `n` was used at `n` and holds `n % 3 + 1` things: 199 in all.
        let mut map: HashMap<u32, (u32, usize)> =
            (0..100).map(|n| (n, (n, (n % 3 + 1) as usize))).collect();
        let held: usize = map.values().map(|(_, weight)| weight).sum();
        let entries =
            |map: &HashMap<u32, (u32, usize)>| map.iter().map(|(k, (at, _))| (*at, *k)).collect();
        let remove = |map: &mut HashMap<u32, (u32, usize)>, key| {
            map.remove(&key).map_or(0, |(_, weight)| weight)
        };
        let freed = let_oldest_go_by(&mut map, held, 150, entries, remove);
        // 199 + 1 - 150 + 15 = 65 to free: the 33 oldest hold 1+2+3+… = 66.
        assert_eq!(freed, 66);
        assert!((0..33).all(|n| !map.contains_key(&n)));
        assert!((33..100).all(|n| map.contains_key(&n)));
        let held = held - freed;
        assert_eq!(
            let_oldest_go_by(&mut map, held, 150, entries, remove),
            0,
            "room already"
        );
    }

    #[tokio::test]
    async fn one_task_at_a_time_per_key_and_the_lock_goes_with_its_last_holder() {
        let locks = KeyedLocks::<u32>::default();
        let first = locks.lock(&1).await;
        assert!(first.is_held());
        // Another key goes at once; the same key waits.
        drop(locks.lock(&2).await);
        let waiting = tokio::spawn({
            let locks = locks.clone();
            async move {
                drop(locks.lock(&1).await);
            }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!waiting.is_finished());
        drop(first);
        waiting.await.expect("its turn came");
        assert_eq!(locks.len(), 0, "nothing left behind");
        // A task dropped while it holds its lock releases it.
        let held = tokio::spawn({
            let locks = locks.clone();
            async move {
                let _held = locks.lock(&3).await;
                std::future::pending::<()>().await;
            }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        held.abort();
        let _ = held.await;
        tokio::time::timeout(Duration::from_secs(1), locks.lock(&3))
            .await
            .expect("the lock of an aborted task was released");
    }

    /// When the holder's work fails, the task that waited takes the lock, and a task that
    /// comes meanwhile waits for it: the key's work is never done by two at once.
    #[tokio::test]
    async fn a_waiter_keeps_the_keys_entry_so_a_newcomer_waits_behind_it() {
        let locks = KeyedLocks::<u32>::default();
        let first = locks.lock(&1).await;
        let (taken, took) = tokio::sync::oneshot::channel();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let waiter = tokio::spawn({
            let locks = locks.clone();
            async move {
                let _held = locks.lock(&1).await;
                let _ = taken.send(());
                let _ = released.await;
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The holder gives up (its work failed); the waiter has the lock.
        drop(first);
        took.await.expect("the waiter's turn");
        let newcomer = locks.lock_within(&1, Duration::from_millis(30)).await;
        assert!(!newcomer.is_held(), "the waiter still holds the key");
        drop(newcomer);
        let _ = release.send(());
        waiter.await.expect("the waiter ends");
        assert!(
            locks
                .lock_within(&1, Duration::from_millis(30))
                .await
                .is_held()
        );
        assert_eq!(locks.len(), 0);
    }
}
