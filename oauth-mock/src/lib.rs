//! An embedded OAuth provider and API emulator, FreshID-like, for the quickstart, the examples
//! and your own tests: everything offline, on a loopback port.
//!
//! It speaks as the real providers do when given their [`Profile`] (GitHub, Slack, Google,
//! Microsoft, Zoom, Bitbucket, Asana, HubSpot, Shopify, Miro, Podio, Basecamp, GitLab,
//! TeamViewer, FreshID): their endpoint paths, client authentication, answer formats, scope
//! echo, lifetimes, rotation and error words, each profile citing the documentation it follows.
//! The default profile is FreshID's:
//!
//! - `GET /org/oauth/v2/authorize`: a consent page with account selection, the scopes asked
//!   for (those granted before marked so), Agree and Cancel; or, in auto-consent mode, an
//!   immediate redirect as if the first account had agreed.
//! - `POST /org/oauth/v2/token`: client authentication by HTTP Basic, the authorization-code
//!   grant (single-use codes, the same redirect URI, PKCE S256) and the refresh-token grant
//!   (optional rotation); access tokens live 30 minutes and refresh tokens 365 days unless set
//!   otherwise; faults on demand.
//! - A small Freshservice-like API: `POST /api/v2/tickets` (scope
//!   `freshservice.tickets.create`), `GET /api/v2/tickets/{id}` and `GET /api/v2/tickets`
//!   (`freshservice.tickets.view`); 401 for an unknown or expired token, 403 for a missing scope.
//!   Freshdesk-style API keys (`Basic base64(key:X)`) work too, see [`ProviderBuilder::api_key`].
//! - An Asana-like `GET /api/1.0/workspaces` (scope `default`).
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let provider = oauth_mock::Provider::builder()
//!     .client("my-client", "my-secret", "My app")
//!     .auto_consent(true)
//!     .start()
//!     .await?;
//! println!("authorize at {}/org/oauth/v2/authorize", provider.url());
//! # Ok(())
//! # }
//! ```

// Handlers return a response as their error: it is built once per request, on the way out.
#![allow(clippy::result_large_err)]

mod api;
mod authorize;
mod page;
mod profile;
mod state;
mod tls;
mod token;

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use profile::{Profile, Refresh, ScopeEcho};
pub use state::Fault;
use state::{Client, Data, Settings, State};
pub use tls::ClientIdentity;

/// A running provider; it stops when dropped.
pub struct Provider {
    address: SocketAddr,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
    /// The https sides, when asked for.
    https: Option<Https>,
}

/// The https side and, beside it, the side that requires client certificates.
struct Https {
    address: SocketAddr,
    mutual_address: SocketAddr,
    tls: tls::Tls,
    /// Handshakes completed on the mutual side.
    mutual_handshakes: Arc<AtomicUsize>,
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("address", &self.address)
            .finish()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.server.abort();
        for task in self.https.iter().flat_map(|https| &https.tasks) {
            task.abort();
        }
    }
}

/// Configures a [`Provider`].
pub struct ProviderBuilder {
    settings: Settings,
    data: Data,
    port: u16,
    /// Names the https side's certificate is for, beside `localhost` and `127.0.0.1`.
    https: Option<Vec<String>>,
}

impl fmt::Debug for ProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderBuilder")
            .field("clients", &self.data.clients.keys().collect::<Vec<_>>())
            .field("accounts", &self.data.accounts)
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// A provider with one client (`client` / `secret`), two accounts, FreshID's token
    /// lifetimes and no rotation, started on a free loopback port.
    pub async fn start() -> std::io::Result<Provider> {
        Self::builder()
            .client("client", "secret", "Test app")
            .start()
            .await
    }

    /// Configures a provider.
    pub fn builder() -> ProviderBuilder {
        ProviderBuilder {
            settings: Settings {
                profile: Profile::freshid(),
                refresh_lifetime: Duration::from_secs(365 * 24 * 3600),
                auto_consent: false,
                require_pkce: false,
                grant_only: None,
            },
            data: Data {
                accounts: vec![
                    "acme.myfreshworks.com".to_string(),
                    "globex.myfreshworks.com".to_string(),
                ],
                ..Data::default()
            },
            port: 0,
            https: None,
        }
    }

    /// `https://127.0.0.1:PORT` when the provider serves https too
    /// ([`ProviderBuilder::https`]).
    pub fn https_url(&self) -> Option<String> {
        self.https_address()
            .map(|address| format!("https://{address}"))
    }

    /// The address of the https side, to map host names to with a client's `resolve`.
    pub fn https_address(&self) -> Option<SocketAddr> {
        self.https.as_ref().map(|https| https.address)
    }

    /// The certificate (PEM) of the throwaway authority that signed the https side's
    /// certificate: what a client trusts to reach it.
    pub fn ca_certificate(&self) -> Option<&str> {
        self.https.as_ref().map(|https| https.tls.ca_pem.as_str())
    }

    /// The address of the side that requires a client certificate the provider's authority
    /// signed ([`Provider::client_identity`]), as a server a template's `options.security`
    /// is for would; it serves what the https side serves. Present when the provider serves
    /// https.
    pub fn mutual_tls_address(&self) -> Option<SocketAddr> {
        self.https.as_ref().map(|https| https.mutual_address)
    }

    /// `https://127.0.0.1:PORT` of the side that requires a client certificate.
    pub fn mutual_tls_url(&self) -> Option<String> {
        self.mutual_tls_address()
            .map(|address| format!("https://{address}"))
    }

    /// A new client certificate for `name` and its key, signed by the provider's authority:
    /// what the mutual-TLS side accepts. Present when the provider serves https.
    pub fn client_identity(&self, name: &str) -> Option<std::io::Result<ClientIdentity>> {
        self.https
            .as_ref()
            .map(|https| https.tls.client_identity(name))
    }

    /// Base64 of the SHA-256 of the https certificate's public key (its SubjectPublicKeyInfo),
    /// for a browser that is not told of the provider's authority: Chromium's
    /// `--ignore-certificate-errors-spki-list` takes it, for a browser test of the consent page
    /// over https. Present when the provider serves https.
    pub fn server_spki_sha256(&self) -> Option<&str> {
        self.https
            .as_ref()
            .map(|https| https.tls.server_spki_sha256.as_str())
    }

    /// How many TLS handshakes the mutual-TLS side completed: connections a client reused
    /// count once.
    pub fn mutual_tls_handshakes(&self) -> usize {
        self.https
            .as_ref()
            .map_or(0, |https| https.mutual_handshakes.load(Ordering::Relaxed))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `127.0.0.1:PORT`: the host to give where an app asks for its Freshworks domain.
    pub fn host(&self) -> String {
        self.address.to_string()
    }

    /// The token endpoint answers `fault` to its next request (faults queue up).
    pub fn fault(&self, fault: Fault) {
        self.state.data().faults.push_back(fault);
    }

    /// Every access token issued so far that has a lifetime is expired from now on (the API
    /// rejects it); tokens that do not expire are left alone.
    pub fn expire_access_tokens(&self) {
        let now = std::time::Instant::now();
        for grant in self.state.data().access.values_mut() {
            if grant.expires.is_some() {
                grant.expires = Some(now);
            }
        }
    }

    /// Every refresh token is revoked (a refresh gets the provider's words for a dead grant).
    pub fn revoke_refresh_tokens(&self) {
        self.state.data().refresh.clear();
    }

    /// Every access token is revoked (the API rejects it; refresh tokens still work).
    pub fn revoke_access_tokens(&self) {
        self.state.data().access.clear();
    }

    /// Every token is revoked, access and refresh alike, as when the user revokes the app's
    /// access in the provider's settings.
    pub fn revoke_all(&self) {
        let mut data = self.state.data();
        data.refresh.clear();
        data.access.clear();
    }

    /// Whether refresh tokens rotate from now on.
    pub fn rotate_refresh_tokens(&self, rotate: bool) {
        self.state.settings().profile.refresh = if rotate {
            Refresh::Rotating
        } else {
            Refresh::Reused
        };
    }

    /// How many revocation requests it answered (RFC 7009).
    pub fn revocations(&self) -> usize {
        self.state.data().revocations
    }

    /// The profile it speaks with.
    pub fn profile(&self) -> Profile {
        self.state.settings().profile.clone()
    }

    /// How many codes were exchanged for tokens.
    pub fn code_redemptions(&self) -> usize {
        self.state.data().redemptions
    }

    /// Every token and code it issued so far: what must never appear in an app's output.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.state.data().issued.clone()
    }

    /// The account an access token was issued for, if it is one of this provider's.
    pub fn account_of(&self, access_token: &str) -> Option<String> {
        self.state
            .data()
            .access
            .get(access_token)
            .map(|grant| grant.account.clone())
    }

    /// How many requests reached the token endpoint.
    pub fn token_requests(&self) -> usize {
        self.state.data().token_requests
    }

    /// The tickets created so far, as the API returns them.
    pub fn tickets(&self) -> Vec<serde_json::Value> {
        self.state
            .data()
            .tickets
            .iter()
            .map(api::ticket_json)
            .collect()
    }
}

/// The profile's endpoints, at the paths it names exactly as written (an app's token URL may
/// hold `{tenant}`, `//` or a trailing `/`, which a router would read as syntax).
async fn profile_endpoint(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::http::Method;
    use axum::response::IntoResponse as _;
    let (authorize, token, revoke, api) = {
        let settings = state.settings();
        let profile = &settings.profile;
        (
            uri.path() == profile.authorize_path,
            uri.path() == profile.token_path,
            profile.revocation_path == Some(uri.path()),
            uri.path() == profile.api_path,
        )
    };
    match method {
        Method::GET if authorize => authorize::show(&state, uri.query(), host_name(&headers)),
        Method::POST if authorize => authorize::decide(&state, &body),
        Method::POST if token => token::token_endpoint(&state, &headers, &body).await,
        Method::POST if revoke => token::revoke(&state, &headers, &body),
        Method::GET if api => api::whoami(&state, &headers),
        _ => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// The host name a request was sent to (its `Host` without the port).
pub(crate) fn host_name(headers: &axum::http::HeaderMap) -> Option<&str> {
    let host = headers.get(axum::http::header::HOST)?.to_str().ok()?;
    Some(host.rsplit_once(':').map_or(host, |(name, _)| name))
}

impl ProviderBuilder {
    /// Registers a client: its id, its secret, and the name the consent page shows.
    pub fn client(mut self, id: &str, secret: &str, name: &str) -> Self {
        self.data.clients.insert(
            id.to_string(),
            Client {
                secret: secret.to_string(),
                name: name.to_string(),
            },
        );
        self
    }

    /// The accounts the consent page offers (default: `acme.myfreshworks.com` and
    /// `globex.myfreshworks.com`).
    pub fn accounts<I: IntoIterator<Item = S>, S: Into<String>>(mut self, accounts: I) -> Self {
        self.data.accounts = accounts.into_iter().map(Into::into).collect();
        self
    }

    /// Speaks as `profile`'s provider (default [`Profile::freshid`]).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.settings.profile = profile;
        self
    }

    /// Access tokens live this long (default: the profile's, 30 minutes for FreshID).
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.settings.profile.access_lifetime = Some(lifetime);
        self
    }

    /// A consent grants only these of the scopes asked for (default: all), as when the user
    /// unticks some (RFC 6749 §3.3 lets a provider grant fewer).
    pub fn grant_only<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.settings.grant_only = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Refresh tokens live this long (default 365 days).
    pub fn refresh_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.settings.refresh_lifetime = lifetime;
        self
    }

    /// Whether a refresh returns a new refresh token and kills the old one (default no).
    pub fn rotate_refresh_tokens(mut self, rotate: bool) -> Self {
        self.settings.profile.refresh = if rotate {
            Refresh::Rotating
        } else {
            Refresh::Reused
        };
        self
    }

    /// Skip the consent page: authorizing redirects at once, as if the first account agreed.
    pub fn auto_consent(mut self, auto: bool) -> Self {
        self.settings.auto_consent = auto;
        self
    }

    /// An API key for `account`, accepted by the tickets API as Freshdesk takes it:
    /// `Authorization: Basic base64(KEY:X)`, with every ticket scope.
    pub fn api_key(mut self, key: &str, account: &str) -> Self {
        self.data
            .api_keys
            .insert(key.to_string(), account.to_string());
        self
    }

    /// Refuse authorization requests without a PKCE challenge (default: PKCE is checked when
    /// sent, as FreshID does).
    pub fn require_pkce(mut self, require: bool) -> Self {
        self.settings.require_pkce = require;
        self
    }

    /// Listen on this loopback port (default: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Serves https too, on a port of its own, with a certificate for `localhost`,
    /// `127.0.0.1` and `names` (the hosts a test maps to it, such as `api.github.com`),
    /// signed by a throwaway authority made at start ([`Provider::ca_certificate`]). Plain
    /// http stays available. A second https port requires client certificates
    /// ([`Provider::mutual_tls_address`]).
    ///
    /// The certificates are made with rcgen, the rustls project's certificate generator, on
    /// the aws-lc-rs already under reqwest: no second crypto library, and no OpenSSL.
    pub fn https<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.https = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Starts the provider on 127.0.0.1.
    pub async fn start(self) -> std::io::Result<Provider> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await?;
        let address = listener.local_addr()?;
        let state = Arc::new(State {
            settings: Mutex::new(self.settings),
            data: Mutex::new(self.data),
        });
        let app = axum::Router::new()
            .merge(api::routes())
            .fallback(profile_endpoint)
            .with_state(state.clone());
        let https = match self.https {
            Some(names) => {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
                let https_address = listener.local_addr()?;
                let mut all = vec!["localhost".to_string(), "127.0.0.1".to_string()];
                all.extend(names);
                let tls = tls::make(&all)?;
                let mutual_listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
                let mutual_address = mutual_listener.local_addr()?;
                let mutual_handshakes = Arc::new(AtomicUsize::new(0));
                let tasks = [
                    tokio::spawn(tls::serve(
                        listener,
                        tls.acceptor.clone(),
                        app.clone(),
                        Arc::new(AtomicUsize::new(0)),
                    )),
                    tokio::spawn(tls::serve(
                        mutual_listener,
                        tls.mutual_acceptor.clone(),
                        app.clone(),
                        mutual_handshakes.clone(),
                    )),
                ];
                Some(Https {
                    address: https_address,
                    mutual_address,
                    tls,
                    mutual_handshakes,
                    tasks,
                })
            }
            None => None,
        };
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Provider {
            address,
            state,
            server,
            https,
        })
    }
}
