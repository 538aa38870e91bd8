//! [`TokenManager`]: access tokens from a [`TokenStore`], refreshed before they expire and
//! after a 401, once per key however many tasks wait, and never lost.
//!
//! Per key there is a slot: the last record read or written (so most calls touch no store)
//! and an async lock held by whoever reads the store or refreshes. A task that finds the
//! cached token stale takes the lock, then looks again: the holder before it has usually
//! refreshed already. Across processes the store's own refresh lock plays the same part, and
//! the version check on save fences a writer that went on without it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use tracing::Instrument as _;

use crate::oauth::IntegrationConfig;
use crate::oauth::authorize::PendingAuthorizations;
use crate::oauth::token_endpoint::{self, Resend};
use crate::oauth::token_response::{Failure, Granted};
use crate::store::{RefreshLock, StoreError, TokenStore, Versioned};
use crate::tokens::{
    AccessToken, DeadToken, ReauthorizationReason, Subject, TokenError, TokenFuture, TokenKey,
    TokenRecord, TokenSet, TokenSource,
};

/// When to refresh, and how long to wait for others.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefreshPolicy {
    /// Refresh this long before the access token expires…
    pub(crate) margin: Duration,
    /// …plus a random part of this, so replicas do not all refresh at the same moment.
    pub(crate) jitter: Duration,
    /// The longest wait for another process's refresh.
    pub(crate) lock_wait: Duration,
    /// The timeout of one token request.
    pub(crate) timeout: Duration,
    /// The longest `Retry-After` honoured.
    pub(crate) max_retry_wait: Duration,
    /// How long a started authorization may take.
    pub(crate) authorization_ttl: Duration,
    /// After a failed refresh, how long calls take its answer before anyone asks the token
    /// endpoint again, so a provider that is down is not hammered by every waiting call.
    pub(crate) backoff: Duration,
    /// The longest a call waits for a token as a whole: locks, token requests and save.
    pub(crate) token_wait: Duration,
}

pub(crate) struct TokenManager {
    pub(crate) http: reqwest::Client,
    store: Arc<dyn TokenStore>,
    pub(crate) integrations: HashMap<String, IntegrationConfig>,
    pub(crate) policy: RefreshPolicy,
    /// The installation's token of each integration: found without hashing or locking, as
    /// every call of an `account` integration's template asks for one.
    installation_slots: Vec<(String, Arc<Slot>)>,
    /// Users' tokens (`agent` integrations), and keys of integrations not configured.
    slots: Mutex<HashMap<TokenKey, Arc<Slot>>>,
    /// Authorizations started and not finished (see `handshake`).
    pub(crate) pending: PendingAuthorizations,
}

#[derive(Default)]
struct Slot {
    /// Held while reading the store or refreshing; owned, so that a token request can hold
    /// it in a task of its own.
    busy: Arc<tokio::sync::Mutex<()>>,
    cached: Mutex<Option<Cached>>,
}

struct Cached {
    versioned: Versioned,
    /// When to stop using the access token (expiry less margin and jitter).
    refresh_at: Option<SystemTime>,
    /// Tokens obtained but not yet saved (the store failed): saved before they are used.
    unsaved: Option<TokenRecord>,
    /// Scopes the integration asks for that were not asked for when the token was authorized.
    missing_scopes: Vec<String>,
    /// When this process refreshed it: a 401 soon after is about the call (a scope it lacks),
    /// not the token, and is not worth another refresh.
    refreshed_at: Option<Instant>,
    /// A refresh failed: no new attempt before this moment, and why it failed.
    backoff: Option<(Instant, FailedRefresh)>,
}

/// Why a refresh failed, kept while its backoff lasts so every waiting call gets the same
/// answer.
#[derive(Clone)]
struct FailedRefresh {
    reason: String,
    /// The token endpoint refused the client's credentials (not a passing failure).
    client_rejected: bool,
}

impl FailedRefresh {
    fn error(&self, key: &TokenKey) -> TokenError {
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

impl Slot {
    fn cached(&self) -> MutexGuard<'_, Option<Cached>> {
        // Every change is one assignment: a panic elsewhere cannot leave it half-made.
        self.cached.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Why the last refresh failed, while its backoff lasts.
    fn backing_off(&self) -> Option<FailedRefresh> {
        let cached = self.cached();
        let (until, failed) = cached.as_ref()?.backoff.as_ref()?;
        (Instant::now() < *until).then(|| failed.clone())
    }

    fn back_off(&self, wait: Duration, reason: FailedRefresh) {
        if let Some(cached) = self.cached().as_mut() {
            cached.backoff = Some((Instant::now() + wait, reason));
        }
    }

    /// Keeps `record`, obtained in place of `current`, until it is saved: whoever holds the
    /// slot next saves it before using any token.
    fn keep_unsaved(&self, current: Versioned, record: TokenRecord) {
        *self.cached() = Some(Cached {
            versioned: current,
            refresh_at: None,
            unsaved: Some(record),
            missing_scopes: Vec::new(),
            refreshed_at: None,
            backoff: None,
        });
    }

    async fn hold(&self) -> Busy {
        self.busy.clone().lock_owned().await
    }
}

/// The slot's lock, held.
type Busy = tokio::sync::OwnedMutexGuard<()>;

/// The locks a refresh holds: its slot's (this process) and the store's (other processes).
struct Held {
    _busy: Busy,
    _refresh: RefreshLock,
}

/// How cached tokens came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Obtained {
    /// Read from the store.
    Read,
    /// Saved after an authorization.
    Granted,
    /// Refreshed by this process.
    Refreshed,
}

/// A 401 this soon after this process refreshed the token is not answered with another refresh.
const RECENT: Duration = Duration::from_secs(30);
/// Saves that meet a newer record (a dead mark, another writer) before giving up.
const MAX_CONFLICTS: usize = 3;

/// The wall clock as the fast path reads it on every call: on Linux the coarse clock, several
/// times cheaper, which lags by up to a clock tick. [`COARSE_CLOCK_LAG`] is added to it, so a
/// token is never used past its refresh time, only treated as due a little early.
fn coarse_now() -> SystemTime {
    #[cfg(target_os = "linux")]
    {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
        if let (Ok(secs), Ok(nanos)) = (u64::try_from(now.tv_sec), u32::try_from(now.tv_nsec)) {
            return SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
        }
    }
    SystemTime::now()
}

/// More than the coarse clock can lag (a tick is 1 to 10 ms).
const COARSE_CLOCK_LAG: Duration = Duration::from_millis(50);

fn is_expired(tokens: &TokenSet) -> bool {
    tokens
        .expires_at()
        .is_some_and(|at| SystemTime::now() >= at)
}

/// Whether the stored token can still be sent: not rejected by the server, not expired.
fn still_valid(current: &Versioned, rejected: Option<&AccessToken>) -> bool {
    rejected.is_none() && !is_expired(&current.record.tokens)
}

impl TokenManager {
    pub(crate) fn new(
        http: reqwest::Client,
        store: Arc<dyn TokenStore>,
        integrations: HashMap<String, IntegrationConfig>,
        policy: RefreshPolicy,
    ) -> Self {
        let installation_slots = integrations
            .keys()
            .map(|name| (name.clone(), Arc::default()))
            .collect();
        TokenManager {
            http,
            store,
            integrations,
            policy,
            installation_slots,
            slots: Mutex::new(HashMap::new()),
            pending: PendingAuthorizations::default(),
        }
    }

    pub(crate) fn store(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }

    fn installation_slot(&self, key: &TokenKey) -> Option<&Arc<Slot>> {
        if key.subject != Subject::Installation {
            return None;
        }
        self.installation_slots
            .iter()
            .find_map(|(name, slot)| (*name == key.integration).then_some(slot))
    }

    /// The slot of `key`, made the first time the key is seen.
    fn slot(&self, key: &TokenKey) -> Arc<Slot> {
        if let Some(slot) = self.installation_slot(key) {
            return slot.clone();
        }
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get(key) {
            return slot.clone();
        }
        slots.entry(key.clone()).or_default().clone()
    }

    /// The cached token if it can be used as it is.
    fn fresh(&self, key: &TokenKey, slot: &Slot) -> Option<Result<AccessToken, TokenError>> {
        let cached = slot.cached();
        let cached = cached.as_ref()?;
        if cached.unsaved.is_some()
            || cached.versioned.record.needs_reauthorization.is_some()
            || cached
                .refresh_at
                .is_some_and(|at| coarse_now() + COARSE_CLOCK_LAG >= at)
        {
            return None;
        }
        if !cached.missing_scopes.is_empty() {
            let missing = cached.missing_scopes.clone();
            return Some(Err(reauthorize(
                key,
                ReauthorizationReason::MissingScopes(missing),
            )));
        }
        Some(Ok(cached.versioned.record.tokens.access_token().clone()))
    }

    /// The access token, unless the app now asks for scopes it was not granted.
    fn checked(&self, key: &TokenKey, tokens: &TokenSet) -> Result<AccessToken, TokenError> {
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
            .get(key.integration.as_ref())
            .map(|integration| tokens.missing_scopes(&integration.scope_items()))
            .unwrap_or_default()
    }

    /// Caches tokens read from the store.
    fn remember(&self, key: &TokenKey, slot: &Slot, versioned: Versioned) {
        self.remember_as(key, slot, versioned, Obtained::Read);
    }

    /// Caches `versioned`. What is known about the same version (a failed refresh's backoff)
    /// is kept.
    fn remember_as(&self, key: &TokenKey, slot: &Slot, versioned: Versioned, obtained: Obtained) {
        let missing_scopes = self.missing_scopes(key, &versioned.record.tokens);
        let refresh_at = versioned
            .record
            .tokens
            .expires_at()
            .map(|at| self.refresh_time(at, obtained != Obtained::Read));
        let refreshed_at = (obtained == Obtained::Refreshed).then(Instant::now);
        let mut cached = slot.cached();
        let (kept_refreshed_at, backoff) = match cached.take() {
            Some(old) if old.versioned.version == versioned.version => {
                (old.refreshed_at, old.backoff)
            }
            _ => (None, None),
        };
        *cached = Some(Cached {
            versioned,
            refresh_at,
            unsaved: None,
            missing_scopes,
            refreshed_at: refreshed_at.or(kept_refreshed_at),
            backoff,
        });
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

    async fn access_token(&self, key: &TokenKey) -> Result<AccessToken, TokenError> {
        let slot = self.slot(key);
        if let Some(token) = self.fresh(key, &slot) {
            return token;
        }
        self.in_time(key, async {
            let busy = slot.hold().await;
            // Whoever held the lock before may have refreshed already.
            if let Some(token) = self.fresh(key, &slot) {
                return token;
            }
            self.obtain(key, &slot, None, busy).await
        })
        .await
    }

    /// `acquiring`, given up after the policy's `token_wait`. Giving up loses nothing: a
    /// token request under way goes on in its own task and leaves its tokens to be saved.
    async fn in_time(
        &self,
        key: &TokenKey,
        acquiring: impl Future<Output = Result<AccessToken, TokenError>>,
    ) -> Result<AccessToken, TokenError> {
        match tokio::time::timeout(self.policy.token_wait, acquiring).await {
            Ok(result) => result,
            Err(_) => {
                record_outcome("timed_out");
                Err(TokenError::Refresh {
                    integration: key.integration.to_string(),
                    reason: format!(
                        "no token within {} ms (the token endpoint, the token store or another \
                         process's refresh is slow); a refresh under way goes on and is saved",
                        self.policy.token_wait.as_millis()
                    ),
                })
            }
        }
    }

    async fn rejected(
        &self,
        key: &TokenKey,
        rejected: &AccessToken,
    ) -> Result<AccessToken, TokenError> {
        let slot = self.slot(key);
        self.in_time(key, self.renew(key, &slot, rejected)).await
    }

    /// After a 401 on `rejected`: its replacement, under the slot's lock.
    async fn renew(
        &self,
        key: &TokenKey,
        slot: &Arc<Slot>,
        rejected: &AccessToken,
    ) -> Result<AccessToken, TokenError> {
        let busy = slot.hold().await;
        let (replaced, just_refreshed) = match slot.cached().as_ref() {
            Some(c) => {
                let same = c.versioned.record.tokens.same_access_token(rejected);
                (
                    c.unsaved.is_none() && !same,
                    same && c.refreshed_at.is_some_and(|at| at.elapsed() < RECENT),
                )
            }
            None => (false, false),
        };
        if replaced && let Some(token) = self.fresh(key, slot) {
            return token;
        }
        if just_refreshed {
            return Err(TokenError::NotRenewed {
                integration: key.integration.to_string(),
            });
        }
        self.obtain(key, slot, Some(rejected), busy).await
    }

    /// Under the slot's lock: the freshest usable token, refreshing when it must.
    async fn obtain(
        &self,
        key: &TokenKey,
        slot: &Arc<Slot>,
        rejected: Option<&AccessToken>,
        busy: Busy,
    ) -> Result<AccessToken, TokenError> {
        if let Some(token) = self.save_unsaved(key, slot).await? {
            return Ok(token);
        }
        let current = self.load(key, slot).await?;
        if let Some(token) = self.usable(key, slot, &current, rejected) {
            return token;
        }
        if let Some(failed) = slot.backing_off() {
            // The last attempt failed moments ago: its answer stands for everyone waiting.
            if still_valid(&current, rejected) {
                return self.checked(key, &current.record.tokens);
            }
            return Err(failed.error(key));
        }
        let refresh_lock = self.store.lock_refresh(key, self.policy.lock_wait).await?;
        // Another process may have refreshed while we waited for its lock.
        let current = self.load(key, slot).await?;
        if let Some(token) = self.usable(key, slot, &current, rejected) {
            return token;
        }
        let held = Held {
            _busy: busy,
            _refresh: refresh_lock,
        };
        let span = tracing::info_span!(
            "oauth_runtime.refresh",
            integration = %key.integration,
            subject = subject_kind(&key.subject),
            outcome = tracing::field::Empty,
        );
        self.refresh(key, slot, current, rejected, held)
            .instrument(span)
            .await
    }

    /// Reads the store into the slot; an absent or dead record is the caller's error.
    async fn load(&self, key: &TokenKey, slot: &Slot) -> Result<Versioned, TokenError> {
        let Some(current) = self.store.load(key).await? else {
            *slot.cached() = None;
            return Err(reauthorize(key, ReauthorizationReason::NotAuthorized));
        };
        let dead = current.record.needs_reauthorization;
        self.remember(key, slot, current.clone());
        match dead {
            Some(dead) => Err(reauthorize(key, ReauthorizationReason::Dead(dead))),
            None => Ok(current),
        }
    }

    /// The stored access token (just remembered in `slot`), if it can be used without a
    /// refresh: the server has not rejected it and its refresh time has not come.
    fn usable(
        &self,
        key: &TokenKey,
        slot: &Slot,
        current: &Versioned,
        rejected: Option<&AccessToken>,
    ) -> Option<Result<AccessToken, TokenError>> {
        if rejected.is_some_and(|r| current.record.tokens.same_access_token(r)) {
            return None;
        }
        self.fresh(key, slot)
    }

    async fn refresh(
        &self,
        key: &TokenKey,
        slot: &Arc<Slot>,
        current: Versioned,
        rejected: Option<&AccessToken>,
        held: Held,
    ) -> Result<AccessToken, TokenError> {
        let tokens = &current.record.tokens;
        let still_valid = still_valid(&current, rejected);
        let Some(refresh_token) = tokens.refresh_token() else {
            if still_valid {
                return self.checked(key, tokens);
            }
            if tokens.expires_at().is_none() {
                // A token that does not expire, rejected, with nothing to renew it: most likely
                // revoked (GitHub OAuth apps' tokens live until the user revokes them). Not
                // marked dead in the store: a 401 may also be about the call (a header the
                // template writes wrong), and the token may still be good.
                record_outcome("access_token_rejected");
                return Err(reauthorize(
                    key,
                    ReauthorizationReason::Dead(DeadToken::AccessTokenRejected),
                ));
            }
            if !is_expired(tokens) {
                // A 401 on an unexpired token without a refresh token may be about the call
                // (a scope it lacks): return it, and leave the token as it is.
                return Err(TokenError::NotRenewed {
                    integration: key.integration.to_string(),
                });
            }
            record_outcome("no_refresh_token");
            return self
                .mark_dead(key, slot, current, DeadToken::NoRefreshToken)
                .await;
        };
        let Some(integration) = self.integrations.get(key.integration.as_ref()) else {
            record_outcome("not_configured");
            return Err(TokenError::Refresh {
                integration: key.integration.to_string(),
                reason: "the runtime has no IntegrationConfig for it, so it cannot refresh"
                    .to_string(),
            });
        };
        let (_held, granted) = self
            .redeem(slot, &current, integration, refresh_token, held)
            .await;
        match granted {
            Ok(record) => {
                record_outcome("refreshed");
                self.save(key, slot, record, current).await
            }
            Err(Failure::GrantRejected) => {
                record_outcome("refresh_token_rejected");
                self.mark_dead(key, slot, current, DeadToken::RefreshTokenRejected)
                    .await
            }
            Err(Failure::ClientRejected(reason) | Failure::ClientAuthRefused(reason)) => {
                record_outcome("client_rejected");
                let failed = FailedRefresh {
                    reason,
                    client_rejected: true,
                };
                self.refresh_failed(key, slot, tokens, still_valid, failed)
            }
            Err(Failure::Refused(reason) | Failure::Transient(reason)) => {
                record_outcome("failed");
                let failed = FailedRefresh {
                    reason,
                    client_rejected: false,
                };
                self.refresh_failed(key, slot, tokens, still_valid, failed)
            }
        }
    }

    /// Redeems `refresh_token` in a task of its own, which holds the locks until it has left
    /// the new tokens in the slot to be saved: a caller that stops waiting (its timeout, a
    /// dropped request) loses no rotated refresh token, and no one redeems the old one
    /// meanwhile. The locks come back with the answer (none if the task panicked).
    async fn redeem(
        &self,
        slot: &Arc<Slot>,
        current: &Versioned,
        integration: &IntegrationConfig,
        refresh_token: &str,
        held: Held,
    ) -> (Option<Held>, Result<TokenRecord, Failure>) {
        let http = self.http.clone();
        let integration = integration.clone();
        let refresh_token = refresh_token.to_string();
        let policy = self.policy;
        let slot = slot.clone();
        let current = current.clone();
        let task = tokio::spawn(
            async move {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.as_str()),
                ];
                let granted = token_endpoint::request(
                    &http,
                    &integration,
                    &form,
                    policy.timeout,
                    policy.max_retry_wait,
                    Resend::Allowed,
                )
                .await;
                let record = granted
                    .map(|granted| TokenRecord::active(renewed(&current.record.tokens, granted)));
                if let Ok(record) = &record {
                    slot.keep_unsaved(current, record.clone());
                }
                (Some(held), record)
            }
            .in_current_span(),
        );
        task.await.unwrap_or_else(|_| {
            (
                None,
                Err(Failure::Transient(
                    "the token request's task ended without an answer".to_string(),
                )),
            )
        })
    }

    /// A refresh that failed without killing the token: backs off, and uses the current token
    /// while it is still valid. The token is kept either way.
    fn refresh_failed(
        &self,
        key: &TokenKey,
        slot: &Slot,
        tokens: &TokenSet,
        still_valid: bool,
        failed: FailedRefresh,
    ) -> Result<AccessToken, TokenError> {
        let error = failed.error(key);
        slot.back_off(self.policy.backoff, failed);
        if still_valid {
            // Refreshing early failed; the token itself still works.
            tracing::warn!(reason = %error, "early refresh failed; using the current token");
            return self.checked(key, tokens);
        }
        Err(error)
    }

    /// Saves refreshed tokens before anyone uses them. If the store fails they are kept in
    /// memory and saved by the next call, never dropped: a rotated refresh token may be the
    /// only one left.
    async fn save(
        &self,
        key: &TokenKey,
        slot: &Slot,
        record: TokenRecord,
        current: Versioned,
    ) -> Result<AccessToken, TokenError> {
        let redeemed = current.record.tokens.refresh_token().map(str::to_string);
        let mut expected = current.version;
        for _ in 0..MAX_CONFLICTS {
            match self.store.save(key, &record, Some(expected)).await {
                Ok(version) => {
                    let token = self.checked(key, &record.tokens);
                    self.remember_as(
                        key,
                        slot,
                        Versioned { record, version },
                        Obtained::Refreshed,
                    );
                    return token;
                }
                Err(StoreError::Conflict { .. }) => {
                    let Some(newer) = self.store.load(key).await? else {
                        // Deleted meanwhile (uninstalled): not brought back.
                        *slot.cached() = None;
                        return Err(reauthorize(key, ReauthorizationReason::NotAuthorized));
                    };
                    let ours_are_newer = newer.record.needs_reauthorization.is_some()
                        || newer.record.tokens.refresh_token() == redeemed.as_deref();
                    if !ours_are_newer {
                        // Someone obtained other tokens meanwhile (a new authorization, or a
                        // refresh of their own): theirs win.
                        let token = self.checked(key, &newer.record.tokens);
                        self.remember(key, slot, newer);
                        return token;
                    }
                    // Theirs is a dead mark, or tokens from before our refresh: ours, which
                    // may hold the only live refresh token, go on top.
                    expected = newer.version;
                }
                Err(error) => {
                    tracing::error!(error = %error, "refreshed tokens could not be saved; keeping them in memory");
                    slot.keep_unsaved(current, record);
                    return Err(TokenError::Store(error));
                }
            }
        }
        Err(TokenError::Store(StoreError::Conflict {
            integration: key.integration.to_string(),
        }))
    }

    async fn save_unsaved(
        &self,
        key: &TokenKey,
        slot: &Slot,
    ) -> Result<Option<AccessToken>, TokenError> {
        let pending = {
            let cached = slot.cached();
            match cached.as_ref() {
                Some(Cached {
                    versioned,
                    unsaved: Some(record),
                    ..
                }) => Some((versioned.clone(), record.clone())),
                _ => None,
            }
        };
        match pending {
            Some((current, record)) => self.save(key, slot, record, current).await.map(Some),
            None => Ok(None),
        }
    }

    async fn mark_dead(
        &self,
        key: &TokenKey,
        slot: &Slot,
        current: Versioned,
        dead: DeadToken,
    ) -> Result<AccessToken, TokenError> {
        let record = TokenRecord {
            tokens: current.record.tokens.clone(),
            needs_reauthorization: Some(dead),
        };
        match self.store.save(key, &record, Some(current.version)).await {
            Ok(version) => self.remember(key, slot, Versioned { record, version }),
            // Newer tokens arrived meanwhile (a reauthorization): use those.
            Err(StoreError::Conflict { .. }) => {
                let newer = self.load(key, slot).await?;
                return self.checked(key, &newer.record.tokens);
            }
            // The mark is an optimisation: the dead token stays dead without it.
            Err(error) => tracing::warn!(error = %error, "could not record that the token is dead"),
        }
        Err(reauthorize(key, ReauthorizationReason::Dead(dead)))
    }

    /// Stores tokens obtained by an authorization, replacing whatever was there.
    pub(crate) async fn put(&self, key: &TokenKey, tokens: TokenSet) -> Result<(), TokenError> {
        let slot = self.slot(key);
        let _busy = slot.hold().await;
        let record = TokenRecord::active(tokens);
        for _ in 0..MAX_CONFLICTS {
            let expected = self.store.load(key).await?.map(|v| v.version);
            match self.store.save(key, &record, expected).await {
                Ok(version) => {
                    self.remember_as(key, &slot, Versioned { record, version }, Obtained::Granted);
                    return Ok(());
                }
                Err(StoreError::Conflict { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Err(TokenError::Store(StoreError::Conflict {
            integration: key.integration.to_string(),
        }))
    }

    /// Deletes the tokens of `key`; true if there were any.
    pub(crate) async fn forget(&self, key: &TokenKey) -> Result<bool, TokenError> {
        let slot = self.slot(key);
        let _busy = slot.hold().await;
        *slot.cached() = None;
        Ok(self.store.delete(key).await?)
    }
}

impl TokenSource for TokenManager {
    fn access_token<'a>(&'a self, key: &'a TokenKey) -> TokenFuture<'a> {
        Box::pin(self.access_token(key))
    }

    fn ready_token(&self, key: &TokenKey) -> Option<Result<AccessToken, TokenError>> {
        match self.installation_slot(key) {
            Some(slot) => self.fresh(key, slot),
            None => {
                // Only read: a key never seen has nothing cached, and `access_token` makes
                // its slot.
                let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
                let slot = slots.get(key).cloned()?;
                drop(slots);
                self.fresh(key, &slot)
            }
        }
    }

    fn can_renew(&self) -> bool {
        true
    }

    fn rejected<'a>(&'a self, key: &'a TokenKey, rejected: &'a AccessToken) -> TokenFuture<'a> {
        Box::pin(self.rejected(key, rejected))
    }
}

/// The new tokens: a response without a refresh token keeps the old one (RFC 6749 §6),
/// without `scope` keeps the scopes granted before, and without other fields keeps the old
/// ones; the scopes asked for are those of the authorization, which a refresh does not change.
fn renewed(old: &TokenSet, granted: Granted) -> TokenSet {
    let mut tokens = TokenSet::new(granted.access_token);
    if let Some(refresh) = granted.refresh_token.as_deref().or(old.refresh_token()) {
        tokens = tokens.with_refresh_token(refresh);
    }
    if let Some(lifetime) = granted.expires_in {
        tokens = tokens.expires_in(lifetime);
    }
    if let Some(requested) = old.requested_scopes() {
        tokens = tokens.with_requested_scopes(requested.iter().cloned());
    }
    tokens = match granted.scopes {
        Some(scopes) => tokens.with_granted_scopes(scopes),
        None => match old.granted_scopes() {
            Some(scopes) => tokens.with_granted_scopes(scopes.iter().cloned()),
            None => tokens,
        },
    };
    if granted.extra.is_empty() {
        tokens.with_extra(old.extra().clone())
    } else {
        tokens.with_extra(granted.extra)
    }
}

fn reauthorize(key: &TokenKey, reason: ReauthorizationReason) -> TokenError {
    TokenError::ReauthorizationRequired {
        integration: key.integration.to_string(),
        subject: key.subject.clone(),
        reason,
    }
}

fn subject_kind(subject: &Subject) -> &'static str {
    match subject {
        Subject::Installation => "installation",
        Subject::User(_) => "user",
    }
}

fn record_outcome(outcome: &'static str) {
    tracing::Span::current().record("outcome", outcome);
}

/// A random duration up to `max`, from the system's random source.
fn random_part(max: Duration) -> Duration {
    use aws_lc_rs::rand::SecureRandom as _;
    let mut bytes = [0u8; 4];
    if max.is_zero()
        || aws_lc_rs::rand::SystemRandom::new()
            .fill(&mut bytes)
            .is_err()
    {
        return Duration::ZERO;
    }
    max.mul_f64(f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::{COARSE_CLOCK_LAG, coarse_now};
    use std::time::SystemTime;

    #[test]
    fn the_coarse_clock_plus_its_lag_is_never_behind_the_exact_clock_nor_ahead_of_it() {
        for _ in 0..10_000 {
            let before = SystemTime::now();
            let coarse = coarse_now();
            let after = SystemTime::now();
            // A token due at `before` is seen as due: the check is never late.
            assert!(coarse + COARSE_CLOCK_LAG >= before);
            // And never much early: the coarse clock does not run ahead.
            assert!(coarse <= after + std::time::Duration::from_millis(1));
        }
    }
}
