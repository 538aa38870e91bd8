//! The slots of users' and named installations' keys, bounded: a slot idle for a while, or
//! the least recently used when there are too many, is let go, unless letting it go would
//! lose something (a refresh under way, someone waiting for it, tokens not yet saved, a
//! failure still being answered). A key let go is read from the store again at its next call.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::slot::Slot;
use crate::tokens::TokenKey;

/// How many keys are kept and for how long.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotLimits {
    /// A slot unused this long is let go.
    pub(crate) idle: Duration,
    /// Above this many, the least recently used are let go.
    pub(crate) max: usize,
}

pub(crate) struct Slots {
    map: HashMap<TokenKey, Arc<Slot>>,
    limits: SlotLimits,
    /// Where slots' use times count from (see [`coarse_millis`]).
    epoch_millis: u64,
    /// When idle slots were last let go, as `now()` counts.
    last_sweep: u64,
}

impl Slots {
    pub(crate) fn new(limits: SlotLimits) -> Self {
        Slots {
            map: HashMap::new(),
            limits,
            epoch_millis: coarse_millis(),
            last_sweep: 0,
        }
    }

    fn now(&self) -> u64 {
        coarse_millis().saturating_sub(self.epoch_millis)
    }

    /// The slot of `key`, if it has one; marked used.
    pub(crate) fn get(&self, key: &TokenKey) -> Option<Arc<Slot>> {
        let slot = self.map.get(key)?;
        let now = self.now();
        // Written only when it changes: calls of one key on many threads do not keep taking
        // its cache line from each other.
        if slot.last_used.load(Ordering::Relaxed) != now {
            slot.last_used.store(now, Ordering::Relaxed);
        }
        Some(slot.clone())
    }

    /// The slot of `key`, made (after letting idle ones go) if it has none.
    pub(crate) fn get_or_make(&mut self, key: &TokenKey) -> Arc<Slot> {
        if let Some(slot) = self.get(key) {
            return slot;
        }
        self.sweep();
        let slot = Arc::new(Slot::default());
        slot.last_used.store(self.now(), Ordering::Relaxed);
        self.map.insert(key.clone(), slot.clone());
        slot
    }

    /// Lets idle slots go (every half idle time), and the least recently used beyond the
    /// bound.
    fn sweep(&mut self) {
        let now = self.now();
        let idle = self.limits.idle.as_millis() as u64;
        let full = self.map.len() >= self.limits.max;
        if !full && now.saturating_sub(self.last_sweep) < idle / 2 {
            return;
        }
        self.last_sweep = now;
        self.map
            .retain(|_, slot| !(can_go(slot) && now.saturating_sub(slot.used()) >= idle));
        if self.map.len() >= self.limits.max {
            let mut idle_first: Vec<(u64, TokenKey)> = self
                .map
                .iter()
                .filter(|(_, slot)| can_go(slot))
                .map(|(key, slot)| (slot.used(), key.clone()))
                .collect();
            // A tenth of the bound at once: a full cache sweeps once per so many new keys,
            // not at every one. The least recently used are found without sorting them all.
            let over =
                (self.map.len() + 1 - self.limits.max + self.limits.max / 10).min(idle_first.len());
            if over > 0 && over < idle_first.len() {
                idle_first.select_nth_unstable_by_key(over - 1, |(used, _)| *used);
            }
            for (_, key) in idle_first.into_iter().take(over) {
                self.map.remove(&key);
            }
        }
        crate::metrics::cached_keys(self.map.len());
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// Milliseconds of a monotonic clock: on Linux the coarse one (a few nanoseconds to read, a
/// tick of lag, which idle times of seconds do not notice), read at every call of a user's key.
fn coarse_millis() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::MonotonicCoarse);
        if let (Ok(secs), Ok(nanos)) = (u64::try_from(now.tv_sec), u64::try_from(now.tv_nsec)) {
            return secs * 1000 + nanos / 1_000_000;
        }
    }
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Whether letting `slot` go loses nothing: no one else holds it, and it is settled.
fn can_go(slot: &Arc<Slot>) -> bool {
    Arc::strong_count(slot) == 1 && slot.settled()
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
    async fn idle_slots_go_and_busy_or_unsaved_ones_stay() {
        let mut slots = Slots::new(SlotLimits {
            idle: Duration::from_millis(40),
            max: 1_000,
        });
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
        unsaved.keep_unsaved(versioned.clone(), versioned.record.clone());
        drop(unsaved);
        // Used recently.
        tokio::time::sleep(Duration::from_millis(50)).await;
        slots.get(&user(3));
        slots.get_or_make(&user(1000));
        assert_eq!(
            slots.len(),
            5,
            "0 held, 1 busy, 2 unsaved, 3 used, and the new one"
        );
        for kept in [0, 1, 2, 3, 1000] {
            assert!(slots.get(&user(kept)).is_some(), "user {kept}");
        }
        drop(held);
    }

    #[test]
    fn beyond_the_bound_the_least_recently_used_go() {
        let mut slots = Slots::new(SlotLimits {
            idle: Duration::from_secs(3600),
            max: 10,
        });
        for n in 0..10 {
            slots.get_or_make(&user(n));
            // Apart by more than a tick of the coarse clock.
            std::thread::sleep(Duration::from_millis(12));
        }
        std::thread::sleep(Duration::from_millis(12));
        slots.get(&user(0));
        slots.get_or_make(&user(10));
        // A tenth of the bound (one here) more than needed goes at once.
        assert_eq!(slots.len(), 9);
        assert!(slots.get(&user(0)).is_some(), "used last: kept");
        assert!(slots.get(&user(1)).is_none(), "least recently used: let go");
        assert!(
            slots.get(&user(2)).is_none(),
            "the next least recently used too"
        );
        assert!(slots.get(&user(3)).is_some());
    }
}
