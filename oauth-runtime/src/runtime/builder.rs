//! [`RuntimeBuilder`]: a runtime's settings, its HTTP client and token manager made at `build`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::Runtime;
use crate::events::EventSender;
use crate::http_clients::{ClientSettings, IdentityClients};
use crate::oauth::IntegrationConfig;
use crate::oauth::source::{IntegrationSource, Integrations};
use crate::refresh::{RefreshPolicy, SlotLimits, TokenManager};
use crate::request::cache::ResponseCache;
use crate::request::{BudgetLimit, Budgets, SHARED_STARTS, Shared, SharedStarts};
use crate::store::TokenStore;
use crate::tokens::{InstallationId, TokenSource};

/// FDK's default timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// FDK's response limit (6 MB).
const DEFAULT_MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// The longest `Retry-After` waited for before another attempt.
const DEFAULT_MAX_RETRY_WAIT: Duration = Duration::from_secs(10);
/// Refresh this long before expiry (plus up to `DEFAULT_REFRESH_JITTER`).
const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);
const DEFAULT_REFRESH_JITTER: Duration = Duration::from_secs(30);
/// The longest wait for another process's refresh: longer than a refresh can take at the
/// default timeout (three attempts of 15 s and their delays).
const DEFAULT_REFRESH_LOCK_WAIT: Duration = Duration::from_secs(60);
/// How long a failed refresh's answer stands before the token endpoint is asked again.
const DEFAULT_REFRESH_BACKOFF: Duration = Duration::from_secs(5);
/// The longest a call waits for a token as a whole: another process's refresh (up to
/// `DEFAULT_REFRESH_LOCK_WAIT`), then a refresh of its own would take longer than this only
/// when the token endpoint keeps timing out.
const DEFAULT_TOKEN_WAIT: Duration = Duration::from_secs(90);
/// How long a user's or named installation's cached tokens outlive their last use…
const DEFAULT_TOKEN_CACHE_IDLE: Duration = Duration::from_secs(1800);
/// …and how many such keys are cached at most.
const DEFAULT_TOKEN_CACHE_KEYS: usize = 100_000;
/// How long an installation's integrations from the app's source are kept…
const DEFAULT_INTEGRATION_TTL: Duration = Duration::from_secs(600);
/// …and for how many installations at most.
const DEFAULT_INTEGRATION_CAPACITY: usize = 10_000;
/// The response cache holds this many answers at most…
const DEFAULT_CACHE_ENTRIES: usize = 1_000;
/// …and this many bytes of bodies.
const DEFAULT_CACHE_BYTES: usize = 32 * 1024 * 1024;

pub(crate) enum Tokens {
    None,
    Source(Arc<dyn TokenSource>),
    Store(Arc<dyn TokenStore>),
}

/// Configures a [`Runtime`].
pub struct RuntimeBuilder {
    timeout: Duration,
    max_response_bytes: usize,
    allow_insecure_http: bool,
    max_retry_wait: Duration,
    tokens: Tokens,
    events: Option<EventSender>,
    cache_entries: usize,
    cache_bytes: usize,
    root_certificates: Vec<Vec<u8>>,
    resolve: Vec<(String, std::net::SocketAddr)>,
    http_client: Option<reqwest::Client>,
    integrations: HashMap<String, IntegrationConfig>,
    integration_source: Option<Arc<dyn IntegrationSource>>,
    installation_budget: Option<BudgetLimit>,
    token_cache: SlotLimits,
    integration_cache: (Duration, usize),
    refresh_margin: Duration,
    refresh_jitter: Duration,
    refresh_lock_wait: Duration,
    refresh_backoff: Duration,
    token_wait: Duration,
    authorization_ttl: Duration,
    /// How many texts of fixed URL starts the runtime shares between clients.
    shared_starts: usize,
}

impl fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("max_retry_wait", &self.max_retry_wait)
            .field(
                "integrations",
                &self.integrations.values().collect::<Vec<_>>(),
            )
            .field("refresh_margin", &self.refresh_margin)
            .field("refresh_jitter", &self.refresh_jitter)
            .finish_non_exhaustive()
    }
}

impl RuntimeBuilder {
    /// Clients that share no fixed URL start: each composes its own, as one client does.
    #[cfg(test)]
    pub(crate) fn unshared_starts(mut self) -> Self {
        self.shared_starts = 0;
        self
    }

    /// Settings at FDK's defaults (see [`Runtime::builder`]).
    pub(super) fn new() -> RuntimeBuilder {
        RuntimeBuilder {
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            allow_insecure_http: false,
            max_retry_wait: DEFAULT_MAX_RETRY_WAIT,
            tokens: Tokens::None,
            events: None,
            cache_entries: DEFAULT_CACHE_ENTRIES,
            cache_bytes: DEFAULT_CACHE_BYTES,
            root_certificates: Vec::new(),
            resolve: Vec::new(),
            http_client: None,
            integrations: HashMap::new(),
            integration_source: None,
            installation_budget: None,
            token_cache: SlotLimits {
                idle: DEFAULT_TOKEN_CACHE_IDLE,
                max: DEFAULT_TOKEN_CACHE_KEYS,
            },
            integration_cache: (DEFAULT_INTEGRATION_TTL, DEFAULT_INTEGRATION_CAPACITY),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            refresh_jitter: DEFAULT_REFRESH_JITTER,
            refresh_lock_wait: DEFAULT_REFRESH_LOCK_WAIT,
            refresh_backoff: DEFAULT_REFRESH_BACKOFF,
            token_wait: DEFAULT_TOKEN_WAIT,
            authorization_ttl: crate::oauth::authorize::DEFAULT_TTL,
            shared_starts: SHARED_STARTS,
        }
    }

    /// The timeout of each request, unless a call sets its own.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest response body accepted, in bytes.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Allows plain `http` to hosts other than loopback (never do this in production).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The longest `Retry-After` the runtime waits before another attempt (default 10 s).
    /// When a server asks for longer, no further attempt is made and its answer is returned.
    pub fn max_retry_wait(mut self, wait: Duration) -> Self {
        self.max_retry_wait = wait;
        self
    }

    /// Access tokens come from `source` as it is (no refresh by the runtime). Replaces
    /// [`RuntimeBuilder::store`].
    pub fn tokens(mut self, source: impl TokenSource) -> Self {
        self.tokens = Tokens::Source(Arc::new(source));
        self
    }

    /// Access tokens come from `store`, and the runtime refreshes them: before they expire,
    /// and once after a 401. Replaces [`RuntimeBuilder::tokens`].
    pub fn store(mut self, store: impl TokenStore) -> Self {
        self.tokens = Tokens::Store(Arc::new(store));
        self
    }

    /// Like [`RuntimeBuilder::store`], for a store already shared.
    pub fn shared_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.tokens = Tokens::Store(store);
        self
    }

    /// An integration the runtime refreshes tokens for (one per name; a later one replaces).
    pub fn integration(mut self, integration: IntegrationConfig) -> Self {
        self.integrations
            .insert(integration.name.clone(), integration);
        self
    }

    /// Where named installations' integrations come from, when each installation has its
    /// own (its `oauth_iparams`: FreshID's token URL holds the organisation's domain). The
    /// default installation keeps those given with [`RuntimeBuilder::integration`]; without a
    /// source, every installation uses those. Answers are kept for 10 minutes, for at most
    /// 10,000 installations ([`RuntimeBuilder::integration_cache`]).
    pub fn integration_source(mut self, source: impl IntegrationSource) -> Self {
        self.integration_source = Some(Arc::new(source));
        self
    }

    /// How long a user's or a named installation's tokens stay cached in memory after their
    /// last use (default 30 minutes), and how many keys are cached at most (default
    /// 100,000, about 0.3 KiB each; beyond it, keys not used lately go: a clock hand passes
    /// over the keys, giving one used since it last passed another turn, a few at most when
    /// all have been). A key let go is read from the store at its next call; nothing under
    /// way is let go (a refresh, tokens not yet saved).
    /// The default installation's tokens stay cached.
    pub fn token_cache(mut self, idle: Duration, keys: usize) -> Self {
        self.token_cache = SlotLimits {
            idle,
            max: keys.max(1),
        };
        self
    }

    /// A request budget for each installation: at most `requests` calls per `per` (FDK
    /// allows an app 50 a minute per account; off by default). A call over budget waits for
    /// its turn when it comes within the call's timeout, else it fails at once with
    /// [`InvokeError::RateLimited`](crate::InvokeError::RateLimited); calls wait in the order
    /// they asked, and one installation's calls never delay another's. Retries and answers
    /// from the response cache do not count.
    pub fn installation_budget(mut self, requests: u32, per: Duration) -> Self {
        self.installation_budget = Some(BudgetLimit {
            requests: requests.max(1),
            per,
        });
        self
    }

    /// How long the source's answer for an installation is kept, and for how many
    /// installations at most (the oldest answers go first; they are asked again when needed).
    pub fn integration_cache(mut self, ttl: Duration, installations: usize) -> Self {
        self.integration_cache = (ttl, installations);
        self
    }

    /// Refresh this long before an access token expires (default 60 s)…
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// …plus a random part of this (default 30 s), so replicas spread their refreshes.
    pub fn refresh_jitter(mut self, jitter: Duration) -> Self {
        self.refresh_jitter = jitter;
        self
    }

    /// After a refresh fails, how long calls get its answer (or the still-valid token) before
    /// the token endpoint is asked again (default 5 s): a provider that is down is not
    /// hammered by every waiting call.
    pub fn refresh_backoff(mut self, backoff: Duration) -> Self {
        self.refresh_backoff = backoff;
        self
    }

    /// How long a user may take between [`Runtime::authorize`] and the callback (default 10
    /// minutes); a later callback is refused.
    pub fn authorization_ttl(mut self, ttl: Duration) -> Self {
        self.authorization_ttl = ttl;
        self
    }

    /// The longest wait for another process's refresh of a shared token (default 60 s);
    /// after it this process refreshes itself. Keep it longer than a refresh can take.
    pub fn refresh_lock_wait(mut self, wait: Duration) -> Self {
        self.refresh_lock_wait = wait;
        self
    }

    /// The longest a call waits for its token as a whole (default 90 s): the wait for another
    /// refresh, the token requests and the save together; after it the call fails with
    /// [`TokenError::Refresh`](crate::TokenError::Refresh). A refresh under way is not cut short: it goes on, and its
    /// tokens are saved for the next call. Keep it longer than
    /// [`refresh_lock_wait`](Self::refresh_lock_wait).
    pub fn token_wait(mut self, wait: Duration) -> Self {
        self.token_wait = wait;
        self
    }

    /// The bounds of the response cache ([`RequestBuilder::cache`](crate::RequestBuilder::cache)): at most `entries`
    /// answers and `bytes` of bodies (default 1,000 and 32 MiB); the oldest goes first.
    pub fn response_cache(mut self, entries: usize, bytes: usize) -> Self {
        self.cache_entries = entries;
        self.cache_bytes = bytes;
        self
    }

    /// Sends the tokens' lifecycle events (authorized, refreshed, refresh failed, recovered,
    /// reauthorization required) to `events` (see [`crate::events`]). Only a runtime with a
    /// store has them.
    pub fn events(mut self, events: EventSender) -> Self {
        self.events = Some(events);
        self
    }

    /// Also trusts the certificate authorities in `pem` (one or more PEM certificates), beside
    /// the platform's: a company's private CA, or the embedded provider's (`oauth_mock`) in
    /// tests. The token endpoint and the templates' calls trust the same. Read at `build`.
    pub fn add_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Sends requests for `host` to `address` instead of resolving it; TLS still checks that
    /// the certificate is `host`'s. The address's port is used when the URL names none, so a
    /// local server on any port can stand in for `https://api.github.com`. For tests that run
    /// an app's config unchanged against a local server, or a host that DNS does not know.
    pub fn resolve(mut self, host: &str, address: std::net::SocketAddr) -> Self {
        self.resolve.push((host.to_string(), address));
        self
    }

    /// Sends every request (the templates' calls and the token endpoint's) with `client`,
    /// configured by the app (a proxy, HTTP versions, its own TLS trust). The runtime's own
    /// per-request settings still apply: the timeout, the response size limit, retries and the
    /// token. `add_root_certificate` and `resolve` do not (set them on the client), and the
    /// client's redirect policy is its own: a client that follows redirects may carry a
    /// token to where a redirect points, so build it with `redirect::Policy::none()`.
    ///
    /// A template with a client certificate (`options.security`) is the exception: a
    /// `reqwest::Client` takes its identity when it is built, so those calls go through a
    /// client the runtime builds for that identity, trusting the platform's roots and the
    /// template's `ca`, without this client's other settings.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// What the clients the runtime builds trust and resolve: checked here, so that a bad
    /// root certificate is a build error.
    fn client_settings(&self) -> Result<ClientSettings, BuildError> {
        if self.http_client.is_some()
            && (!self.root_certificates.is_empty() || !self.resolve.is_empty())
        {
            return Err(BuildError::new(
                "add_root_certificate and resolve configure the runtime's own HTTP client: \
                 with http_client, set them on that client",
                None,
            ));
        }
        let mut roots = Vec::new();
        for pem in &self.root_certificates {
            let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                BuildError::new("a root certificate is not a PEM certificate", Some(e))
            })?;
            if certificates.is_empty() {
                return Err(BuildError::new(
                    "a root certificate holds no PEM certificate",
                    None,
                ));
            }
            roots.extend(certificates);
        }
        Ok(ClientSettings {
            roots,
            resolve: self.resolve.clone(),
            timeout: self.timeout,
        })
    }

    /// The HTTP client: the app's, or one trusting the platform's roots and those added,
    /// following no redirect (a redirect must not carry a token to another place).
    fn make_http_client(
        &mut self,
        settings: &ClientSettings,
    ) -> Result<reqwest::Client, BuildError> {
        if let Some(client) = self.http_client.take() {
            return Ok(client);
        }
        settings
            .builder()
            .build()
            .map_err(|e| BuildError::new("the HTTP client could not be created", Some(e)))
    }

    /// Builds the runtime and its HTTP client.
    pub fn build(mut self) -> Result<Runtime, BuildError> {
        let settings = self.client_settings()?;
        // The app's client has its own settings: each call sets the runtime's timeout.
        let client_times_out = self.http_client.is_none();
        let http = self.make_http_client(&settings)?;
        let policy = RefreshPolicy {
            margin: self.refresh_margin,
            jitter: self.refresh_jitter,
            lock_wait: self.refresh_lock_wait,
            timeout: self.timeout,
            max_retry_wait: self.max_retry_wait,
            backoff: self.refresh_backoff,
            token_wait: self.token_wait,
            authorization_ttl: self.authorization_ttl,
            slot_limits: self.token_cache,
        };
        let (tokens, manager) = match self.tokens {
            Tokens::None => (None, None),
            Tokens::Source(source) => (Some(source), None),
            Tokens::Store(store) => {
                let manager = Arc::new(TokenManager::new(
                    http.clone(),
                    store,
                    Integrations::new(
                        self.integrations,
                        self.integration_source,
                        self.integration_cache.0,
                        self.integration_cache.1,
                    ),
                    policy,
                    self.events,
                ));
                (Some(manager.clone() as Arc<dyn TokenSource>), Some(manager))
            }
        };
        Ok(Runtime {
            installation: InstallationId::default(),
            shared: Arc::new(Shared {
                http,
                client_times_out,
                timeout: self.timeout,
                max_response_bytes: self.max_response_bytes,
                allow_insecure_http: self.allow_insecure_http,
                max_retry_wait: self.max_retry_wait,
                tokens,
                manager,
                cache: ResponseCache::new(self.cache_entries, self.cache_bytes),
                starts: SharedStarts::new(self.shared_starts),
                identities: IdentityClients::new(settings),
                budgets: self.installation_budget.map(Budgets::new),
            }),
        })
    }
}

/// The runtime could not be built: its HTTP client's TLS setup failed, a root certificate
/// could not be read, or the settings contradict each other.
#[derive(Debug)]
pub struct BuildError {
    reason: String,
    source: Option<reqwest::Error>,
}

impl BuildError {
    fn new(reason: impl Into<String>, source: Option<reqwest::Error>) -> Self {
        BuildError {
            reason: reason.into(),
            source,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
