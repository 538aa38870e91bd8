//! The cache of a [`TokenManager`]: per key a [`Slot`], and its [`CachedTokens`]: the last
//! record read or written, when to refresh it, and a failed refresh's backoff, which the fast
//! path reads without touching the store.

use std::num::NonZeroU64;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use super::{TokenManager, reauthorize};
use crate::store::{Version, Versioned};
use crate::tokens::{
    AccessToken, ReauthorizationReason, TokenError, TokenKey, TokenRecord, TokenSet,
};

/// One key's slot: the lock of whoever reads the store or refreshes its tokens, and what the
/// app was told. Its [`CachedTokens`] are kept under one lock with the slot's neighbours' (its
/// shard's, see `slots`), so that a call finds a user's token under that one lock; an
/// installation's slot, found without a shard, keeps them under a lock of its own.
pub(super) struct Slot {
    /// Its key: the cache finds a slot by it (each key once in memory, with its slot).
    pub(super) key: TokenKey,
    /// Held while reading the store or refreshing: its one permit, taken by a [`Busy`] that
    /// owns the slot, so that a token request can hold it in a task of its own. In the slot
    /// rather than beside it: a slot is kept per key.
    busy: tokio::sync::Semaphore,
    /// Its cached tokens, when no shard keeps them (see [`Slot::with_own_tokens`]).
    own_tokens: Option<Box<Mutex<CachedTokens>>>,
    /// The last refresh failed: the next that works is a recovery.
    failing: AtomicBool,
    /// The [`mark`] of the stored version whose access token the provider rejected and the app
    /// was told about (0: none).
    told_rejected: AtomicU32,
    /// When it was last used, in milliseconds of the coarse wall clock (see
    /// `slots::coarse_wall_millis`).
    pub(super) last_used: AtomicU64,
    /// The [`mark`] of the stored version whose missing scopes the app was told about.
    told_missing: AtomicU32,
}

impl Slot {
    /// The slot of `key`, its cached tokens kept by the shard that keeps it: made by the
    /// users' table alone, which inserts it.
    pub(super) fn new(key: TokenKey) -> Self {
        Slot {
            key,
            busy: tokio::sync::Semaphore::new(1),
            own_tokens: None,
            failing: AtomicBool::default(),
            told_rejected: AtomicU32::default(),
            last_used: AtomicU64::default(),
            told_missing: AtomicU32::default(),
        }
    }

    /// The slot of `key`, keeping its cached tokens itself: one found without a shard.
    pub(super) fn with_own_tokens(key: TokenKey) -> Self {
        Slot {
            own_tokens: Some(Box::default()),
            ..Slot::new(key)
        }
    }

    /// Its cached tokens, locked, if it keeps them itself.
    pub(super) fn own_tokens(&self) -> Option<MutexGuard<'_, CachedTokens>> {
        // Every change is one assignment: a panic elsewhere cannot leave it half-made.
        let own = self.own_tokens.as_ref()?;
        Some(own.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// A key's cached tokens, if any.
#[derive(Default)]
pub(super) struct CachedTokens(Option<Cached>);

/// What a slot knows of its key's tokens: what the fast path reads, no more (the refresh
/// token and the rest of the record are read from the store under the slot's lock, where a
/// refresh reads them anyway for what another process may have saved). A slot is kept per key.
pub(super) struct Cached {
    pub(super) access_token: AccessToken,
    /// The version of the stored record it came from.
    pub(super) version: Version,
    /// When to stop using the access token (expiry less margin and jitter), in milliseconds
    /// of the wall clock (see [`wall_millis`]).
    refresh_at: Option<NonZeroU64>,
    /// When this process refreshed it, in milliseconds of the cache's clock (see
    /// [`now_millis`]): a 401 soon after is about the call (a scope it lacks), not the token,
    /// and is not worth another refresh.
    refreshed_at: Option<NonZeroU64>,
    /// What few keys have, in one box.
    rare: Option<Box<Rare>>,
}

#[derive(Default)]
struct Rare {
    /// The stored record is marked as needing a new authorization.
    dead: bool,
    /// Tokens obtained but not yet saved (the store failed): saved before they are used.
    unsaved: Option<Unsaved>,
    /// Scopes the integration asks for that were not asked for when the token was authorized.
    missing_scopes: Box<[String]>,
    /// A refresh failed: no new attempt before this moment, and why it failed.
    backoff: Option<(Instant, FailedRefresh)>,
}

impl Cached {
    fn dead(&self) -> bool {
        self.rare.as_ref().is_some_and(|rare| rare.dead)
    }

    pub(super) fn unsaved(&self) -> Option<&Unsaved> {
        self.rare.as_ref()?.unsaved.as_ref()
    }

    fn missing_scopes(&self) -> &[String] {
        self.rare.as_ref().map_or(&[], |rare| &rare.missing_scopes)
    }

    fn backoff(&self) -> Option<&(Instant, FailedRefresh)> {
        self.rare.as_ref()?.backoff.as_ref()
    }

    /// Whether this process refreshed it less than `recent` ago.
    pub(super) fn refreshed_within(&self, recent: Duration) -> bool {
        refreshed_within(self.refreshed_at, recent, now_millis().get())
    }

    /// `versioned`, cached as read or written, refreshed at `refreshed_at` if this process
    /// refreshed it. What `old` knew about the same version (when it was refreshed, a failed
    /// refresh's backoff) is taken from it.
    fn remembered(
        versioned: Versioned,
        refresh_at: Option<NonZeroU64>,
        refreshed_at: Option<NonZeroU64>,
        missing_scopes: Vec<String>,
        old: Option<&mut Cached>,
    ) -> Cached {
        let (kept_refreshed_at, backoff) = match old {
            Some(old) if old.version == versioned.version => (
                old.refreshed_at,
                old.rare.as_mut().and_then(|rare| rare.backoff.take()),
            ),
            _ => (None, None),
        };
        let dead = versioned.record.needs_reauthorization.is_some();
        let rare = (dead || !missing_scopes.is_empty() || backoff.is_some()).then(|| {
            Box::new(Rare {
                dead,
                unsaved: None,
                missing_scopes: missing_scopes.into_boxed_slice(),
                backoff,
            })
        });
        Cached {
            access_token: versioned.record.tokens.access_token().clone(),
            version: versioned.version,
            refresh_at,
            refreshed_at: refreshed_at.or(kept_refreshed_at),
            rare,
        }
    }
}

/// The token `cached` for `key` if it can be used as it is at `now` (of the cache's clock),
/// taken as `take` makes it, or the reason it cannot be used as `failed` makes it: the
/// caller's own form, made where the token is read.
pub(super) fn fresh_as<T>(
    key: &TokenKey,
    cached: &CachedTokens,
    now: u64,
    take: impl FnOnce(&AccessToken) -> T,
    failed: impl FnOnce(TokenError) -> T,
) -> Option<T> {
    let cached = cached.get()?;
    if cached.unsaved().is_some()
        || cached.dead()
        || cached
            .refresh_at
            .is_some_and(|at| now + COARSE_CLOCK_LAG_MS >= at.get())
    {
        return None;
    }
    if !cached.missing_scopes().is_empty() {
        return Some(failed(missing_scopes(key, cached.missing_scopes())));
    }
    Some(take(&cached.access_token))
}

/// The mark of a stored version in the slot's `told_` fields: never 0 (none told), and 4 bytes.
/// Versions a multiple of 2³²−1 apart share a mark (a store numbering every save of every key
/// in one sequence gets there after 4 billion saves); what a shared mark costs is one event not
/// told.
fn mark(version: Version) -> u32 {
    (version.get() % u64::from(u32::MAX)) as u32 + 1
}

/// Moments are kept as milliseconds, 8 bytes rather than 16: a slot is kept per key.
/// `at` in milliseconds since the Unix epoch (1 at the least: 0 stands for none).
pub(super) fn wall_millis(at: SystemTime) -> NonZeroU64 {
    let millis = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    NonZeroU64::new(millis).unwrap_or(NonZeroU64::MIN)
}

/// Whether a token refreshed `at` (wall-clock milliseconds) was refreshed less than `recent`
/// before `now`. A clock set back since (`now` before `at`) is not "recent": a 401 is then
/// answered with a refresh, not refused for as long as the clock's step.
fn refreshed_within(at: Option<NonZeroU64>, recent: Duration, now: u64) -> bool {
    at.and_then(|at| now.checked_sub(at.get()))
        .is_some_and(|since| since < recent.as_millis() as u64)
}

/// Now, in milliseconds of the clock the cache reads at every call (see
/// [`coarse_wall_millis`](super::slots::coarse_wall_millis)), 1 at the least.
fn now_millis() -> NonZeroU64 {
    NonZeroU64::new(super::slots::coarse_wall_millis()).unwrap_or(NonZeroU64::MIN)
}

#[cold]
#[inline(never)]
fn missing_scopes(key: &TokenKey, missing: &[String]) -> TokenError {
    reauthorize(key, ReauthorizationReason::MissingScopes(missing.to_vec()))
}

/// Tokens a refresh obtained and could not save, with the stored record they replace.
#[derive(Clone)]
pub(super) struct Unsaved {
    pub(super) current: Versioned,
    pub(super) record: TokenRecord,
}

/// Why a refresh failed, kept while its backoff lasts so every waiting call gets the same
/// answer.
#[derive(Clone)]
pub(super) struct FailedRefresh {
    pub(super) reason: String,
    /// The token endpoint refused the client's credentials (not a passing failure).
    pub(super) client_rejected: bool,
}

impl FailedRefresh {
    pub(super) fn error(&self, key: &TokenKey) -> TokenError {
        let integration = key.integration.to_string();
        let reason = self.reason.clone();
        if self.client_rejected {
            TokenError::ClientRejected {
                integration,
                reason,
            }
        } else {
            TokenError::Refresh {
                integration,
                reason,
            }
        }
    }
}

#[cfg(test)]
impl CachedTokens {
    /// Caches a token, and a failed refresh's backoff lasting `wait`.
    pub(super) fn cache_backing_off(&mut self, wait: Duration) {
        self.0 = Some(Cached {
            access_token: AccessToken::new("sekrit"),
            version: Version::new(1),
            refresh_at: None,
            refreshed_at: None,
            rare: None,
        });
        self.back_off(
            wait,
            FailedRefresh {
                reason: "refused".into(),
                client_rejected: false,
            },
        );
    }
}

impl CachedTokens {
    /// The cached tokens, if any.
    pub(super) fn get(&self) -> Option<&Cached> {
        self.0.as_ref()
    }

    /// Forgets them: the next call reads the store.
    pub(super) fn clear(&mut self) {
        self.0 = None;
    }

    /// Why the last refresh failed, while its backoff lasts.
    pub(super) fn backing_off(&self) -> Option<FailedRefresh> {
        let (until, failed) = self.get()?.backoff()?;
        (Instant::now() < *until).then(|| failed.clone())
    }

    pub(super) fn back_off(&mut self, wait: Duration, reason: FailedRefresh) {
        if let Some(cached) = self.0.as_mut() {
            cached.rare.get_or_insert_with(Box::default).backoff =
                Some((Instant::now() + wait, reason));
        }
    }

    /// Keeps `record`, obtained in place of `current`, until it is saved: whoever holds the
    /// slot next saves it before using any token.
    pub(super) fn keep_unsaved(&mut self, current: Versioned, record: TokenRecord) {
        self.0 = Some(Cached {
            access_token: current.record.tokens.access_token().clone(),
            version: current.version,
            refresh_at: None,
            refreshed_at: None,
            rare: Some(Box::new(Rare {
                dead: current.record.needs_reauthorization.is_some(),
                unsaved: Some(Unsaved { current, record }),
                ..Rare::default()
            })),
        });
    }

    /// Whether nothing waits in them: no tokens to save, no failure's backoff still being
    /// answered. (Whether the slot is busy the cache reads from who holds it: a [`Busy`]
    /// holds the slot. A key let go after a failure is read again from the store; what is
    /// lost is only the `Recovered` event of a later success.)
    pub(super) fn settled(&self) -> bool {
        let now = Instant::now();
        self.get()
            .is_none_or(|c| c.unsaved().is_none() && c.backoff().is_none_or(|b| b.0 <= now))
    }
}

impl Slot {
    /// Notes that a refresh failed.
    pub(super) fn refresh_failed(&self) {
        self.failing.store(true, Ordering::Relaxed);
    }

    /// Whether the rejection of `version`'s access token is news (not told before).
    pub(super) fn first_rejection(&self, version: Version) -> bool {
        let marked = mark(version);
        self.told_rejected.swap(marked, Ordering::Relaxed) != marked
    }

    /// The scopes `cached` (its tokens) lack, if the app has not been told yet for their
    /// version.
    pub(super) fn missing_scopes_to_tell(&self, cached: &CachedTokens) -> Option<Vec<String>> {
        let cached = cached.get()?;
        if cached.missing_scopes().is_empty() {
            return None;
        }
        let marked = mark(cached.version);
        (self.told_missing.swap(marked, Ordering::Relaxed) != marked)
            .then(|| cached.missing_scopes().to_vec())
    }

    /// Notes that a refresh worked: true if the one before had failed.
    pub(super) fn recovered(&self) -> bool {
        self.failing.swap(false, Ordering::Relaxed)
    }

    /// Waits for the slot's lock (first come, first served) and holds it.
    pub(super) async fn hold(self: &Arc<Self>) -> Busy {
        // Its semaphore is never closed: acquiring only waits.
        let held = match self.busy.acquire().await {
            Ok(permit) => {
                permit.forget();
                true
            }
            Err(_) => false,
        };
        Busy {
            slot: self.clone(),
            held,
        }
    }
}

/// The slot's lock, held; let go when dropped.
pub(super) struct Busy {
    slot: Arc<Slot>,
    held: bool,
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.held {
            self.slot.busy.add_permits(1);
        }
    }
}

/// How cached tokens came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Obtained {
    /// Read from the store.
    Read,
    /// Saved after an authorization.
    Granted,
    /// Refreshed by this process.
    Refreshed,
}

/// More than the coarse clock can lag (a tick is 1 to 10 ms): added to the clock the fast path
/// reads, so that a token is never used past its refresh time (of the wall clock), only
/// treated as due a little early.
const COARSE_CLOCK_LAG_MS: u64 = 50;

impl TokenManager {
    /// `f` of the cached tokens of `slot`, under the lock that keeps them (see [`Slot`]).
    pub(super) fn with_tokens<R>(&self, slot: &Slot, f: impl FnOnce(&mut CachedTokens) -> R) -> R {
        self.slots.with_tokens(slot, f)
    }

    /// The cached token if it can be used as it is.
    pub(super) fn fresh(&self, slot: &Slot) -> Option<Result<AccessToken, TokenError>> {
        let now = super::slots::coarse_wall_millis();
        self.with_tokens(slot, |cached| {
            fresh_as(&slot.key, cached, now, |token| Ok(token.clone()), Err)
        })
    }

    /// The access token, unless the app now asks for scopes it was not granted.
    pub(super) fn checked(
        &self,
        key: &TokenKey,
        tokens: &TokenSet,
    ) -> Result<AccessToken, TokenError> {
        let missing = self.missing_scopes(key, tokens);
        if !missing.is_empty() {
            return Err(reauthorize(
                key,
                ReauthorizationReason::MissingScopes(missing),
            ));
        }
        Ok(tokens.access_token().clone())
    }

    fn missing_scopes(&self, key: &TokenKey, tokens: &TokenSet) -> Vec<String> {
        self.integrations
            .get(&key.installation, key.integration.as_ref())
            .map(|integration| tokens.missing_scopes(&integration.scope_items()))
            .unwrap_or_default()
    }

    /// Caches tokens read from the store.
    pub(super) fn remember(&self, key: &TokenKey, slot: &Slot, versioned: Versioned) {
        self.remember_as(key, slot, versioned, Obtained::Read);
    }

    /// Caches `versioned`. What is known about the same version (a failed refresh's backoff)
    /// is kept.
    pub(super) fn remember_as(
        &self,
        key: &TokenKey,
        slot: &Slot,
        versioned: Versioned,
        obtained: Obtained,
    ) {
        let missing_scopes = self.missing_scopes(key, &versioned.record.tokens);
        let refresh_at = versioned
            .record
            .tokens
            .expires_at()
            .map(|at| wall_millis(self.refresh_time(at, obtained != Obtained::Read)));
        let refreshed_at = (obtained == Obtained::Refreshed).then(now_millis);
        let replaced = self.with_tokens(slot, |cached| {
            let mut old = cached.0.take();
            cached.0 = Some(Cached::remembered(
                versioned,
                refresh_at,
                refreshed_at,
                missing_scopes,
                old.as_mut(),
            ));
            old
        });
        // Let go after the lock, which the calls of the slot's neighbours take.
        drop(replaced);
    }

    /// The margin and jitter before `expires_at`; for tokens just granted, never more than
    /// half their lifetime, so a short-lived token is used for a while, not refreshed on every
    /// call.
    fn refresh_time(&self, expires_at: SystemTime, just_granted: bool) -> SystemTime {
        let early = expires_at
            .checked_sub(self.policy.margin + random_part(self.policy.jitter))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        if !just_granted {
            return early;
        }
        let now = SystemTime::now();
        let halfway = expires_at
            .duration_since(now)
            .map_or(now, |left| now + left / 2);
        early.max(halfway)
    }
}

/// A random duration up to `max`. Jitter only spreads refreshes out, so it need not be
/// unguessable: a hasher's random keys (fresh for each hasher made) are enough, and cost far
/// less than the system's random source on a cache miss's path.
fn random_part(max: Duration) -> Duration {
    use std::hash::BuildHasher as _;
    if max.is_zero() {
        return Duration::ZERO;
    }
    let random = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    max.mul_f64((random >> 11) as f64 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::{COARSE_CLOCK_LAG_MS, now_millis, random_part, refreshed_within, wall_millis};
    use std::num::NonZeroU64;
    use std::time::{Duration, SystemTime};

    #[test]
    fn a_refresh_is_recent_for_its_window_and_never_after_the_clock_was_set_back() {
        let at = NonZeroU64::new(1_000_000);
        let recent = Duration::from_secs(30);
        assert!(refreshed_within(at, recent, 1_000_000));
        assert!(refreshed_within(at, recent, 1_029_999));
        assert!(!refreshed_within(at, recent, 1_030_000));
        // The clock set back a minute after the refresh: not recent, a 401 refreshes.
        assert!(!refreshed_within(at, recent, 940_000));
        assert!(!refreshed_within(None, recent, 1_000_000));
    }

    #[test]
    fn a_versions_mark_is_never_none_and_tells_neighbours_apart() {
        use super::mark;
        use crate::store::Version;
        for v in [
            0,
            1,
            2,
            u64::from(u32::MAX) - 1,
            u64::from(u32::MAX),
            1 << 40,
        ] {
            assert_ne!(mark(Version::new(v)), 0, "{v}");
            assert_ne!(
                mark(Version::new(v)),
                mark(Version::new(v.wrapping_add(1))),
                "{v}"
            );
        }
    }

    #[test]
    fn jitter_stays_below_its_bound_and_spreads() {
        let max = Duration::from_secs(60);
        let parts: Vec<Duration> = (0..1000).map(|_| random_part(max)).collect();
        assert!(parts.iter().all(|part| *part < max));
        let mut distinct = parts.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 990, "{} distinct", distinct.len());
        let mean = parts.iter().sum::<Duration>() / 1000;
        assert!(mean > max / 3 && mean < max * 2 / 3, "{mean:?}");
        assert_eq!(random_part(Duration::ZERO), Duration::ZERO);
    }

    /// Linux's coarse clock against the exact one (elsewhere the cache reads the exact one).
    #[cfg(target_os = "linux")]
    #[test]
    fn the_coarse_clock_plus_its_lag_is_never_behind_the_exact_clock_nor_ahead_of_it() {
        for _ in 0..10_000 {
            let before = wall_millis(SystemTime::now()).get();
            let coarse = now_millis().get();
            let after = wall_millis(SystemTime::now()).get();
            // A token due at `before` is seen as due: the check is never late.
            assert!(coarse + COARSE_CLOCK_LAG_MS >= before);
            // And never much early: the coarse clock does not run ahead.
            assert!(coarse <= after + 1);
        }
    }
}
