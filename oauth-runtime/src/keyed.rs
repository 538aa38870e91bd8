//! What the runtime's keyed caches share: one task at a time doing a key's work (asking an
//! installation's integrations, building an identity's client) while the others wait for its
//! result, and the bound that lets the oldest tenth go when a cache is full.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::{Arc, Mutex, PoisonError};

/// One task at a time per key; the others wait for its turn to end, then find its result.
pub(crate) struct OneAtATime<K> {
    working: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

impl<K> Default for OneAtATime<K> {
    fn default() -> Self {
        OneAtATime {
            working: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Clone> OneAtATime<K> {
    /// Waits for `key`'s turn. The turn ends when the guard is dropped: after the result is
    /// kept, or when the work fails or the task is dropped.
    pub(crate) async fn turn(&self, key: &K) -> Turn<'_, K> {
        let working = self
            .working
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.clone())
            .or_default()
            .clone();
        Turn {
            _held: working.lock_owned().await,
            owner: self,
            key: key.clone(),
        }
    }
}

/// A key's turn, held.
pub(crate) struct Turn<'a, K: Hash + Eq> {
    _held: tokio::sync::OwnedMutexGuard<()>,
    owner: &'a OneAtATime<K>,
    key: K,
}

impl<K: Hash + Eq> Drop for Turn<'_, K> {
    fn drop(&mut self) {
        // The entry goes first, then the lock (fields drop after this): a task arriving now
        // starts a turn of its own and finds the result kept.
        self.owner
            .working
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

/// Makes room for one more in a cache holding `capacity` at most: the oldest tenth goes (by
/// `at`), so that a full cache is not scanned at every new key.
pub(crate) fn let_oldest_go<K: Hash + Eq + Clone, V, S: BuildHasher, T: Ord + Copy>(
    map: &mut HashMap<K, V, S>,
    capacity: usize,
    at: impl Fn(&V) -> T,
) {
    if map.len() < capacity {
        return;
    }
    let mut oldest: Vec<(T, K)> = map.iter().map(|(k, v)| (at(v), k.clone())).collect();
    let over = (map.len() + 1 - capacity + capacity / 10).min(oldest.len());
    if over > 0 && over < oldest.len() {
        oldest.select_nth_unstable_by_key(over - 1, |(at, _)| *at);
    }
    for (_, key) in oldest.into_iter().take(over) {
        map.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

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

    #[tokio::test]
    async fn one_task_at_a_time_per_key_and_the_turn_ends_when_dropped() {
        let turns = Arc::new(OneAtATime::<u32>::default());
        let first = turns.turn(&1).await;
        // Another key goes at once; the same key waits.
        drop(turns.turn(&2).await);
        let waiting = tokio::spawn({
            let turns = turns.clone();
            async move {
                drop(turns.turn(&1).await);
            }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!waiting.is_finished());
        drop(first);
        waiting.await.expect("its turn came");
        assert!(turns.working.lock().expect("a lock").is_empty());
        // A task dropped while it holds its turn ends it.
        let held = tokio::spawn({
            let turns = turns.clone();
            async move {
                let _turn = turns.turn(&3).await;
                std::future::pending::<()>().await;
            }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        held.abort();
        let _ = held.await;
        tokio::time::timeout(Duration::from_secs(1), turns.turn(&3))
            .await
            .expect("the turn of an aborted task ended");
    }
}
