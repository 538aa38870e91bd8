//! The slots of users' and named installations' keys, bounded: a slot idle for a while, or
//! the least recently used when there are too many, is let go, unless letting it go would
//! lose something (a refresh under way, someone waiting for it, tokens not yet saved, a
//! failure still being answered). A key let go is read from the store again at its next call.

use std::collections::VecDeque;
use std::hash::BuildHasher as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use super::slot::{CachedTokens, Slot};
use crate::keyed::{Hasher, Sharded};
use crate::tokens::{KeyRef, TokenKey};

/// How many keys are kept and for how long.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotLimits {
    /// A slot unused this long is let go.
    pub(crate) idle: Duration,
    /// Above this many, the least recently used are let go.
    pub(crate) max: usize,
}

/// The cache in shards (see [`Sharded`]); each shard keeps its share of the bound, and its
/// table is given the hash that picked it: a key is hashed once per call.
pub(crate) struct ShardedSlots(Sharded<Slots>);

/// Shards of a large cache; a small one (a bound under `SHARDS × 64` keys) is one shard, so
/// that its bound is kept as it is set.
const SHARDS: usize = 16;
// Each shard's share of the bound is worked out from it: a count `Sharded` keeps as it is.
const _: () = assert!(SHARDS.is_power_of_two());

impl ShardedSlots {
    pub(crate) fn new(limits: SlotLimits) -> Self {
        let count = if limits.max >= SHARDS * 64 { SHARDS } else { 1 };
        let share = SlotLimits {
            idle: limits.idle,
            max: limits.max.div_ceil(count),
        };
        let keys_cached = Arc::new(AtomicUsize::new(0));
        ShardedSlots(Sharded::new(count, |hasher| {
            Slots::with_hasher(share, keys_cached.clone(), hasher.clone())
        }))
    }

    /// The slot of `key`, made if it has none.
    pub(crate) fn get_or_make(&self, key: &TokenKey) -> Arc<Slot> {
        let hash = self.0.hash(&key.as_ref());
        self.0.shard(hash).get_or_make_hashed(key, hash)
    }

    /// `read` of the slot of `key` and its cached tokens, if it has a slot, under its shard's
    /// lock (the one lock of the call), with the time it was marked used at (of
    /// [`coarse_wall_millis`]): the slot is read where it lies, not shared.
    pub(crate) fn read<R>(
        &self,
        key: KeyRef<'_>,
        read: impl FnOnce(&Slot, &CachedTokens, u64) -> R,
    ) -> Option<R> {
        let hash = self.0.hash(&key);
        let shard = self.0.shard(hash);
        let now = coarse_wall_millis();
        (shard.find(key, hash, now)).map(|kept| read(&kept.slot, &kept.cached, now))
    }

    /// `f` of the cached tokens of `slot`, under the lock that keeps them: its own, or its
    /// shard's.
    pub(super) fn with_tokens<R>(&self, slot: &Slot, f: impl FnOnce(&mut CachedTokens) -> R) -> R {
        if let Some(mut own) = slot.own_tokens() {
            return f(&mut own);
        }
        let hash = self.0.hash(&slot.key.as_ref());
        self.0.shard(hash).with_tokens(slot, hash, f)
    }
}

/// A slot in the cache, with its cached tokens.
struct KeptSlot {
    slot: Arc<Slot>,
    cached: CachedTokens,
}

pub(crate) struct Slots {
    /// The slots, found by their keys (each key is in its slot).
    map: hashbrown::HashTable<KeptSlot>,
    hasher: Hasher,
    /// The slots in the order the clock hand meets them, each with its use time when the hand
    /// last passed it: one used since gets another turn.
    ring: VecDeque<(Arc<Slot>, u64)>,
    limits: SlotLimits,
    /// The keys cached in all the shards.
    keys_cached: Arc<AtomicUsize>,
}

/// How far the clock hand goes at each new key: a few steps while there is room (idle keys
/// go), more when the cache is full (until one goes); never a pass over the whole cache.
const STEPS_WITH_ROOM: usize = 2;
const STEPS_WHEN_FULL: usize = 64;
/// When the cache is full, the keys used since the hand last passed them that it skips, at
/// most, before it lets go the next it can whatever its use: each skip reads a slot that is
/// likely out of the processor's caches, and under calls spread over more keys than the
/// cache holds most keys have been used since (no policy keeps more of them than another).
const SECOND_CHANCES: usize = 8;

impl Slots {
    #[cfg(test)]
    pub(crate) fn new(limits: SlotLimits, keys_cached: Arc<AtomicUsize>) -> Self {
        Slots::with_hasher(limits, keys_cached, Hasher::default())
    }

    fn with_hasher(limits: SlotLimits, keys_cached: Arc<AtomicUsize>, hasher: Hasher) -> Self {
        Slots {
            map: hashbrown::HashTable::new(),
            hasher,
            ring: VecDeque::new(),
            limits,
            keys_cached,
        }
    }

    /// The slot of `key` (hashed to `hash`), if it has one; marked used `now`.
    fn find(&self, key: KeyRef<'_>, hash: u64, now: u64) -> Option<&KeptSlot> {
        let kept = self.map.find(hash, |kept| key.is(&kept.slot.key))?;
        // Written only when it changes: calls of one key on many threads do not keep taking
        // its cache line from each other.
        if kept.slot.last_used.load(Ordering::Relaxed) != now {
            kept.slot.last_used.store(now, Ordering::Relaxed);
        }
        Some(kept)
    }

    /// `f` of the cached tokens of `slot` (its key hashed to `hash`). Every slot of a user's
    /// key is in its table (only the table makes them) while someone holds it (none is let go
    /// then); were one not, what `f` writes would be dropped, as at the slot's letting go.
    fn with_tokens<R>(
        &mut self,
        slot: &Slot,
        hash: u64,
        f: impl FnOnce(&mut CachedTokens) -> R,
    ) -> R {
        match self
            .map
            .find_mut(hash, |kept| std::ptr::eq(&*kept.slot, slot))
        {
            Some(kept) => f(&mut kept.cached),
            None => {
                debug_assert!(false, "the cached tokens of a slot not in its table");
                f(&mut CachedTokens::default())
            }
        }
    }

    /// The slot of `key`, if it has one; marked used.
    #[cfg(test)]
    pub(crate) fn get(&self, key: &TokenKey) -> Option<Arc<Slot>> {
        self.find(
            key.as_ref(),
            self.hasher.hash_one(key.as_ref()),
            coarse_wall_millis(),
        )
        .map(|kept| kept.slot.clone())
    }

    /// `f` of the cached tokens of `slot`.
    #[cfg(test)]
    pub(crate) fn with_tokens_of<R>(
        &mut self,
        slot: &Slot,
        f: impl FnOnce(&mut CachedTokens) -> R,
    ) -> R {
        let hash = self.hasher.hash_one(slot.key.as_ref());
        self.with_tokens(slot, hash, f)
    }

    /// The slot of `key`, made (after the clock hand let idle ones go) if it has none.
    #[cfg(test)]
    pub(crate) fn get_or_make(&mut self, key: &TokenKey) -> Arc<Slot> {
        let hash = self.hasher.hash_one(key.as_ref());
        self.get_or_make_hashed(key, hash)
    }

    fn get_or_make_hashed(&mut self, key: &TokenKey, hash: u64) -> Arc<Slot> {
        let now = coarse_wall_millis();
        if let Some(kept) = self.find(key.as_ref(), hash, now) {
            return kept.slot.clone();
        }
        self.turn_hand();
        let slot = Arc::new(Slot::new(key.clone()));
        slot.last_used.store(now, Ordering::Relaxed);
        let hasher = &self.hasher;
        let kept = KeptSlot {
            slot: slot.clone(),
            cached: CachedTokens::default(),
        };
        self.map
            .insert_unique(hash, kept, |kept| hasher.hash_one(kept.slot.key.as_ref()));
        self.keys_cached.fetch_add(1, Ordering::Relaxed);
        self.ring.push_back((slot.clone(), now));
        slot
    }

    /// A few steps of the clock hand: a key idle past the limit goes; when the cache is full,
    /// so does the first one not used since the hand last passed it. Keys that cannot go
    /// (held, or with tokens to save or a backoff to answer) or were used get another turn. The
    /// bound is soft: when no key can go within the steps, the new one is kept all the same.
    fn turn_hand(&mut self) {
        let now = coarse_wall_millis();
        let idle = self.limits.idle.as_millis() as u64;
        let full = self.map.len() >= self.limits.max;
        let steps = if full {
            STEPS_WHEN_FULL
        } else {
            STEPS_WITH_ROOM
        };
        for step in 0..steps {
            let Some((slot, seen)) = self.ring.pop_front() else {
                break;
            };
            let used = slot.used();
            let idle_long = now.saturating_sub(used) >= idle;
            let full = self.map.len() >= self.limits.max;
            let unused = used <= seen || step >= SECOND_CHANCES;
            // Whether it can go is asked last: it reads the slot's count, and its entry. It
            // can go when no one holds it but the table and the ring (not a call, nor a
            // [`Busy`](super::slot::Busy) lock) and nothing waits in its cached tokens.
            if (idle_long || (full && unused)) && Arc::strong_count(&slot) == 2 {
                let hash = self.hasher.hash_one(slot.key.as_ref());
                match self
                    .map
                    .find_entry(hash, |kept| Arc::ptr_eq(&kept.slot, &slot))
                {
                    Ok(entry) if entry.get().cached.settled() => {
                        entry.remove();
                        self.keys_cached.fetch_sub(1, Ordering::Relaxed);
                        if full && self.map.len() < self.limits.max {
                            break;
                        }
                        continue;
                    }
                    Ok(_) => {}
                    // Never: the ring holds the slots of the table. Out of the ring then.
                    Err(_) => continue,
                }
            }
            self.ring.push_back((slot, used));
        }
        crate::metrics::cached_keys(self.keys_cached.load(Ordering::Relaxed));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// Now, in milliseconds since the Unix epoch: the one clock the token cache reads at every
/// call, to mark a key used and to tell whether its token is due. On Linux the coarse wall
/// clock (a few nanoseconds through the vDSO), which lags by up to a tick. The wall clock, as a
/// token's expiry is a moment of it, which a suspended machine's monotonic clocks would miss;
/// a clock set back or forward only makes an idle key go late or early (it is then read from
/// the store again).
pub(super) fn coarse_wall_millis() -> u64 {
    #[cfg(target_os = "linux")]
    if let Some(now) = coarse_realtime_millis() {
        return now;
    }
    super::slot::wall_millis(SystemTime::now()).get()
}

/// Milliseconds of Linux's coarse wall clock (`CLOCK_REALTIME_COARSE`).
#[cfg(target_os = "linux")]
fn coarse_realtime_millis() -> Option<u64> {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
    let (secs, nanos) = (
        u64::try_from(now.tv_sec).ok()?,
        u64::try_from(now.tv_nsec).ok()?,
    );
    Some(secs * 1000 + nanos / 1_000_000)
}

impl Slot {
    fn used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Version, Versioned};
    use crate::tokens::{TokenRecord, TokenSet, UserId};

    fn user(n: usize) -> TokenKey {
        TokenKey::user("chat", UserId::new(format!("user-{n}")))
    }

    #[tokio::test]
    async fn idle_slots_go_and_busy_unsaved_or_backing_off_ones_stay() {
        let mut slots = Slots::new(
            SlotLimits {
                idle: Duration::from_millis(40),
                max: 1_000,
            },
            Arc::default(),
        );
        for n in 0..100 {
            slots.get_or_make(&user(n));
        }
        // Held by someone (a waiting call), busy (a refresh), tokens not yet saved.
        let held = slots.get_or_make(&user(0));
        let busy = slots.get_or_make(&user(1));
        let _refreshing = busy.hold().await;
        drop(busy);
        let unsaved = slots.get_or_make(&user(2));
        let versioned = Versioned {
            record: TokenRecord::active(TokenSet::new("sekrit")),
            version: Version::new(1),
        };
        slots.with_tokens_of(&unsaved, |cached| {
            cached.keep_unsaved(versioned.clone(), versioned.record.clone())
        });
        drop(unsaved);
        // A failed refresh's backoff still answered, and one over.
        for (n, backoff) in [(5, 60_000), (6, 1)] {
            let slot = slots.get_or_make(&user(n));
            slots.with_tokens_of(&slot, |cached| {
                cached.cache_backing_off(Duration::from_millis(backoff))
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Used recently.
        slots.get(&user(3));
        // New keys move the hand along: two steps each.
        for n in 1000..1060 {
            slots.get_or_make(&user(n));
        }
        for kept in [0, 1, 2, 3, 5, 1000, 1059] {
            assert!(slots.get(&user(kept)).is_some(), "user {kept}");
        }
        for idle in [4, 6, 50, 99] {
            assert!(slots.get(&user(idle)).is_none(), "user {idle} was idle");
        }
        assert_eq!(slots.len(), 5 + 60);
        drop(held);
    }

    /// A cache of `max` keys that are never idle long enough to go for that.
    fn bounded(max: usize) -> Slots {
        Slots::new(
            SlotLimits {
                idle: Duration::from_secs(3600),
                max,
            },
            Arc::default(),
        )
    }

    #[test]
    fn beyond_the_bound_a_key_unused_since_the_hand_passed_goes_and_a_used_one_stays() {
        let mut slots = bounded(10);
        for n in 0..10 {
            slots.get_or_make(&user(n));
            // Apart by more than a tick of the coarse clock.
            std::thread::sleep(Duration::from_millis(12));
        }
        std::thread::sleep(Duration::from_millis(12));
        slots.get(&user(0));
        slots.get_or_make(&user(10));
        assert_eq!(slots.len(), 10);
        assert!(slots.get(&user(0)).is_some(), "used since: another turn");
        assert!(slots.get(&user(10)).is_some());
        let gone = (1..10).filter(|n| slots.get(&user(*n)).is_none()).count();
        assert_eq!(gone, 1, "one key not used since the hand passed it");
    }

    #[test]
    fn a_full_cache_whose_keys_were_all_used_since_the_hand_passed_still_keeps_its_bound() {
        let mut slots = bounded(200);
        for n in 0..200 {
            slots.get_or_make(&user(n));
        }
        std::thread::sleep(Duration::from_millis(12));
        for n in 0..200 {
            slots.get(&user(n));
        }
        // Every key has been used since the hand passed: it skips a few, then lets one go.
        for n in 200..300 {
            slots.get_or_make(&user(n));
            assert_eq!(slots.len(), 200, "after key {n}");
        }
    }

    #[test]
    fn a_large_cache_is_sharded_each_shard_keeping_its_share_of_the_bound() {
        let slots = ShardedSlots::new(SlotLimits {
            idle: Duration::from_secs(3600),
            max: 2048,
        });
        assert_eq!(slots.0.count(), SHARDS);
        for n in 0..10_000 {
            slots.get_or_make(&user(n));
        }
        let shards: Vec<usize> = slots.0.each().map(|shard| shard.len()).collect();
        assert!(shards.iter().all(|len| *len <= 2048 / SHARDS), "{shards:?}");
        assert!(
            shards.iter().all(|len| *len >= 2048 / SHARDS - 8),
            "{shards:?}"
        );
        let cached = slots
            .0
            .each()
            .next()
            .map(|first| first.keys_cached.load(Ordering::Relaxed));
        assert_eq!(cached, Some(shards.iter().sum::<usize>()));
        // A key is found in the shard it went to.
        assert!(slots.read(user(9_999).as_ref(), |_, _, _| ()).is_some());
        // A small bound is kept by one shard, exactly.
        let small = ShardedSlots::new(SlotLimits {
            idle: Duration::from_secs(3600),
            max: 100,
        });
        assert_eq!(small.0.count(), 1);
    }

    #[test]
    fn tokens_written_through_a_users_slot_are_the_ones_its_calls_read() {
        let slots = ShardedSlots::new(SlotLimits {
            idle: Duration::from_secs(3600),
            max: 2048,
        });
        assert_eq!(slots.0.count(), SHARDS);
        let held: Vec<Arc<Slot>> = (0..1000).map(|n| slots.get_or_make(&user(n))).collect();
        for (n, slot) in held.iter().enumerate().filter(|(n, _)| n % 3 == 0) {
            slots.with_tokens(slot, |cached| {
                cached.cache_backing_off(Duration::from_secs(60 + n as u64))
            });
        }
        for (n, slot) in held.iter().enumerate() {
            let read = slots.read(user(n).as_ref(), |slot, cached, _| {
                (slot.key == user(n), cached.backing_off().is_some())
            });
            assert_eq!(read, Some((true, n % 3 == 0)), "user {n}");
            let written = slots.with_tokens(slot, |cached| cached.get().is_some());
            assert_eq!(written, n % 3 == 0, "user {n}");
        }
        // An installation's slot keeps its own, which no table holds.
        let own = Slot::with_own_tokens(TokenKey::installation("crm"));
        slots.with_tokens(&own, |cached| {
            cached.cache_backing_off(Duration::from_secs(60))
        });
        assert!(slots.with_tokens(&own, |cached| cached.backing_off().is_some()));
        assert!(
            own.own_tokens()
                .is_some_and(|cached| cached.get().is_some())
        );
    }

    #[test]
    fn a_full_cache_of_keys_that_cannot_go_still_takes_a_new_one() {
        let mut slots = bounded(4);
        let held: Vec<Arc<Slot>> = (0..4).map(|n| slots.get_or_make(&user(n))).collect();
        slots.get_or_make(&user(4));
        assert_eq!(slots.len(), 5, "a soft bound: nothing held is let go");
        drop(held);
        slots.get_or_make(&user(5));
        assert_eq!(slots.len(), 4, "back at the bound once keys can go");
    }
}
