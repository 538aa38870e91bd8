//! The request budget of each installation (FDK allows an app 50 requests a minute per
//! account): a token bucket per installation, so one busy installation never delays another.
//! A call over budget waits for its turn when that comes within its timeout, else it fails at
//! once with [`InvokeError::RateLimited`](crate::InvokeError::RateLimited).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::tokens::InstallationId;

/// More installations than this, and the buckets that are full again (they hold nothing an
/// empty one would not) are let go.
const PRUNE_ABOVE: usize = 10_000;

/// `requests` per `per`, for each installation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BudgetLimit {
    pub(crate) requests: u32,
    pub(crate) per: Duration,
}

struct Bucket {
    /// Requests that may go now; below zero, turns promised to waiting calls.
    tokens: f64,
    updated: Instant,
}

pub(crate) struct Budgets {
    limit: BudgetLimit,
    buckets: Mutex<Buckets>,
}

#[derive(Default)]
struct Buckets {
    map: HashMap<InstallationId, Bucket>,
    /// When full buckets were last let go: at most once per budget period.
    pruned: Option<Instant>,
}

/// When a call may go.
#[derive(Debug, PartialEq)]
pub(crate) enum Turn {
    Now,
    /// After this wait (its turn is kept).
    After(Duration),
    /// Not within the time it has: its turn would come after this.
    TooLate(Duration),
}

impl Budgets {
    pub(crate) fn new(limit: BudgetLimit) -> Self {
        Budgets {
            limit,
            buckets: Mutex::new(Buckets::default()),
        }
    }

    pub(crate) fn limit(&self) -> BudgetLimit {
        self.limit
    }

    /// Requests added to a bucket per second.
    fn rate(&self) -> f64 {
        f64::from(self.limit.requests.max(1)) / self.limit.per.as_secs_f64().max(f64::EPSILON)
    }

    /// Takes a turn for a call of `installation` that can wait up to `within`.
    pub(crate) fn take(&self, installation: &InstallationId, within: Duration) -> Turn {
        let now = Instant::now();
        let capacity = f64::from(self.limit.requests.max(1));
        let rate = self.rate();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let due = buckets
            .pruned
            .is_none_or(|at| now.duration_since(at) >= self.limit.per);
        if buckets.map.len() > PRUNE_ABOVE && due {
            buckets.pruned = Some(now);
            buckets.map.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < capacity
            });
        }
        // The id is copied only for an installation's first call.
        if !buckets.map.contains_key(installation) {
            buckets.map.insert(
                installation.clone(),
                Bucket {
                    tokens: capacity,
                    updated: now,
                },
            );
        }
        let Some(bucket) = buckets.map.get_mut(installation) else {
            return Turn::Now;
        };
        let refilled = now.duration_since(bucket.updated).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refilled).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Turn::Now;
        }
        // A budget so slow its wait cannot be counted is a turn that never comes in time.
        let Ok(wait) = Duration::try_from_secs_f64((1.0 - bucket.tokens) / rate) else {
            return Turn::TooLate(Duration::MAX);
        };
        if wait > within {
            return Turn::TooLate(wait);
        }
        bucket.tokens -= 1.0;
        Turn::After(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budgets(requests: u32, per: Duration) -> Budgets {
        Budgets::new(BudgetLimit { requests, per })
    }

    #[test]
    fn a_full_bucket_lets_its_requests_go_then_calls_wait_their_turn_in_order() {
        let budgets = budgets(3, Duration::from_secs(3));
        let acme = InstallationId::new("acme");
        let long = Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(budgets.take(&acme, long), Turn::Now);
        }
        let waits: Vec<Duration> = (0..3)
            .map(|_| match budgets.take(&acme, long) {
                Turn::After(wait) => wait,
                other => panic!("{other:?}"),
            })
            .collect();
        // One second apart, in the order they asked (a little less: time passes).
        for (n, wait) in waits.iter().enumerate() {
            let expected = (n + 1) as f64;
            assert!((wait.as_secs_f64() - expected).abs() < 0.1, "{waits:?}");
        }
        // Another installation is not delayed.
        assert_eq!(
            budgets.take(&InstallationId::new("globex"), long),
            Turn::Now
        );
    }

    #[test]
    fn a_turn_later_than_the_call_can_wait_is_refused_and_not_kept() {
        let budgets = budgets(1, Duration::from_secs(10));
        let acme = InstallationId::new("acme");
        assert_eq!(budgets.take(&acme, Duration::ZERO), Turn::Now);
        let Turn::TooLate(after) = budgets.take(&acme, Duration::from_secs(1)) else {
            panic!("over budget");
        };
        assert!(after > Duration::from_secs(9), "{after:?}");
        // Refused turns are not counted: the next call's turn is no later.
        let Turn::TooLate(again) = budgets.take(&acme, Duration::from_secs(1)) else {
            panic!("over budget");
        };
        assert!(again <= after, "{again:?} {after:?}");
    }

    #[test]
    fn a_budget_too_slow_to_count_refuses_without_panicking() {
        let budgets = budgets(1, Duration::MAX);
        let acme = InstallationId::new("acme");
        assert_eq!(budgets.take(&acme, Duration::from_secs(1)), Turn::Now);
        assert!(matches!(
            budgets.take(&acme, Duration::from_secs(1)),
            Turn::TooLate(_)
        ));
    }
}
