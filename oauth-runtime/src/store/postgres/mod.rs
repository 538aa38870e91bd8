//! [`PostgresStore`] (feature `postgres`): tokens shared by many replicas of a service.
//!
//! Schema (created by [`PostgresStore::connect`], idempotently, under an advisory lock so
//! replicas starting together do not race):
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS oauth_tokens (
//!     installation text NOT NULL DEFAULT '', -- the installation's id; '' for the default
//!     integration  text NOT NULL,
//!     subject      text NOT NULL,          -- 'installation', or 'user:' || the user's id
//!     version      bigint NOT NULL,        -- from oauth_token_versions: never repeats
//!     record       bytea NOT NULL,         -- the tokens, AES-256-GCM sealed with a key
//!     updated_at   timestamptz NOT NULL DEFAULT now(),
//!     PRIMARY KEY (installation, integration, subject));
//! CREATE SEQUENCE IF NOT EXISTS oauth_token_versions;
//! CREATE TABLE IF NOT EXISTS oauth_authorizations (   -- authorizations in flight
//!     state_hash   text PRIMARY KEY,       -- base64url(SHA-256(state))
//!     installation text NOT NULL,
//!     integration  text NOT NULL,
//!     subject      text NOT NULL,
//!     verifier     bytea,                  -- the PKCE verifier, sealed like the records
//!     redirect_uri text NOT NULL,
//!     expires_at   timestamptz NOT NULL);
//! ```
//!
//! A table of the previous version (no `installation`, keyed by integration and subject) is
//! migrated in place: the column is added (its rows belong to the default installation) and
//! the primary key extended. Stop the replicas of the previous version before the first new
//! one starts: their queries name no installation, so once a named installation stores a key
//! they find two rows (or upsert on a key that is no longer the table's).
//!
//! Saves are compare-and-swap on `version`. A refresh holds a session-level advisory lock
//! (`pg_try_advisory_lock`) on its key, polled up to the runtime's `refresh_lock_wait`; a
//! replica that dies loses its session and so its lock, and a replica that stalls past the wait
//! is fenced by the version check. Use one `PostgresStore` per process: the lock belongs to its
//! database session.
//!
//! TLS (rustls): with `sslmode=require` the connection is encrypted and the server's
//! certificate verified against the system's roots and any CA the app gives
//! ([`PostgresOptions::ca_certificate_pem`]). Without it, a server on this machine is reached
//! in the clear, and a server elsewhere is refused, unless the app explicitly allows it
//! ([`PostgresOptions::allow_plaintext_to_remote_servers`], then TLS is used when offered,
//! verified): tokens (and, unencrypted at rest, the records) would otherwise cross the
//! network in clear.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use tokio::sync::RwLock;
use tokio_postgres::Client;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

mod authorizations;

use super::crypt::EncryptionKey;
use super::format::{decode_one, encode_one};
use super::{
    Kept, RefreshLock, SharedAuthorization, StoreError, StoreFuture, TokenStore, Version, Versioned,
};
use crate::tokens::{InstallationId, Subject, TokenKey, TokenRecord, UserId};

const MIGRATION: &str = "
    BEGIN;
    SELECT pg_advisory_xact_lock(7243110017);
    CREATE TABLE IF NOT EXISTS oauth_tokens (
        installation text NOT NULL DEFAULT '',
        integration  text NOT NULL,
        subject      text NOT NULL,
        version      bigint NOT NULL,
        record       bytea NOT NULL,
        updated_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (installation, integration, subject));
    CREATE SEQUENCE IF NOT EXISTS oauth_token_versions;
    ALTER TABLE oauth_tokens ADD COLUMN IF NOT EXISTS installation text NOT NULL DEFAULT '';
    DO $$ BEGIN
        IF NOT EXISTS (
            SELECT 1 FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
            WHERE i.indrelid = 'oauth_tokens'::regclass AND i.indisprimary
              AND a.attname = 'installation')
        THEN
            ALTER TABLE oauth_tokens DROP CONSTRAINT oauth_tokens_pkey;
            ALTER TABLE oauth_tokens ADD PRIMARY KEY (installation, integration, subject);
        END IF;
    END $$;
    CREATE TABLE IF NOT EXISTS oauth_authorizations (
        state_hash   text PRIMARY KEY,
        installation text NOT NULL,
        integration  text NOT NULL,
        subject      text NOT NULL,
        verifier     bytea,
        redirect_uri text NOT NULL,
        expires_at   timestamptz NOT NULL);
    CREATE INDEX IF NOT EXISTS oauth_authorizations_expiry ON oauth_authorizations (expires_at);
    COMMIT;";

/// How often a waiting refresh asks for another replica's lock again.
const LOCK_POLL: Duration = Duration::from_millis(20);

/// Tokens in PostgreSQL, shared by every replica connected to the same database.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    connector: Connector,
    client: RwLock<Arc<Client>>,
    key: Option<EncryptionKey>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: not shown.
        f.debug_struct("PostgresStore")
            .field("encrypted", &self.inner.key.is_some())
            .finish_non_exhaustive()
    }
}

fn backend(error: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(Box::new(error))
}

/// The session is gone (the server shut it, or the connection broke): worth a new one.
fn connection_lost(error: &tokio_postgres::Error) -> bool {
    error.is_closed()
        || error.code().is_some_and(|code| {
            let code = code.code();
            code.starts_with("57P") || code.starts_with("08")
        })
}

fn subject_text(subject: &Subject) -> String {
    match subject {
        Subject::Installation => "installation".to_string(),
        Subject::User(user) => format!("user:{}", user.as_str()),
    }
}

fn subject_of(text: &str) -> Subject {
    match text.strip_prefix("user:") {
        Some(user) => Subject::User(UserId::new(user)),
        None => Subject::Installation,
    }
}

/// The error with its causes (a TLS failure's reason is in them), as one sentence.
fn connect_error(error: tokio_postgres::Error) -> StoreError {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    StoreError::Backend(Box::new(std::io::Error::other(format!(
        "cannot connect to PostgreSQL: {text}"
    ))))
}

fn refused(message: String) -> StoreError {
    StoreError::Backend(Box::new(std::io::Error::other(message)))
}

/// How connections are made: in the clear on loopback unless the URL requires TLS, with
/// verified TLS otherwise.
#[derive(Clone)]
enum Connector {
    Plain,
    Tls(MakeRustlsConnect),
}

async fn open(url: &str, connector: &Connector) -> Result<Client, StoreError> {
    match connector {
        Connector::Plain => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .map_err(connect_error)?;
            tokio::spawn(drive(connection));
            Ok(client)
        }
        Connector::Tls(tls) => {
            let (client, connection) = tokio_postgres::connect(url, tls.clone())
                .await
                .map_err(connect_error)?;
            tokio::spawn(drive(connection));
            Ok(client)
        }
    }
}

/// Runs a connection until it ends, saying why if it failed.
async fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(error) = connection.await {
        tracing::warn!(error = %error, "the PostgreSQL connection ended");
    }
}

/// What [`PostgresOptions::transport`] decided.
enum Transport {
    PlainLoopback,
    Tls,
}

/// How to reach PostgreSQL: the URL, the CA of a private server, the key sealing records at
/// rest. Made by [`PostgresStore::options`].
pub struct PostgresOptions {
    url: String,
    key: Option<EncryptionKey>,
    roots: Vec<CertificateDer<'static>>,
    allow_plaintext_remote: bool,
}

impl fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("encrypted", &self.key.is_some())
            .field("extra_roots", &self.roots.len())
            .field("allow_plaintext_remote", &self.allow_plaintext_remote)
            .finish_non_exhaustive()
    }
}

impl PostgresOptions {
    /// Seals every record with `key` at rest.
    pub fn encryption_key(mut self, key: EncryptionKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Trusts the CA certificates in `pem` (a private server's), besides the system's roots.
    pub fn ca_certificate_pem(mut self, pem: &[u8]) -> Result<Self, StoreError> {
        let before = self.roots.len();
        for certificate in CertificateDer::pem_slice_iter(pem) {
            let certificate = certificate
                .map_err(|e| refused(format!("the CA certificate is not valid PEM ({e})")))?;
            self.roots.push(certificate);
        }
        if self.roots.len() == before {
            return Err(refused(
                "the CA certificate PEM holds no certificate".to_string(),
            ));
        }
        Ok(self)
    }

    /// Allows a server not on this machine without `sslmode=require` (on a network you trust
    /// otherwise, such as a private link). Off by default.
    pub fn allow_plaintext_to_remote_servers(mut self, allow: bool) -> Self {
        self.allow_plaintext_remote = allow;
        self
    }

    /// Connects and creates the table if it is missing.
    pub async fn connect(self) -> Result<PostgresStore, StoreError> {
        let connector = match self.transport()? {
            Transport::PlainLoopback => Connector::Plain,
            Transport::Tls => Connector::Tls(self.tls()?),
        };
        let client = open(&self.url, &connector).await?;
        client.batch_execute(MIGRATION).await.map_err(backend)?;
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                url: self.url,
                connector,
                client: RwLock::new(Arc::new(client)),
                key: self.key,
            }),
        })
    }

    /// How to connect: verified TLS when the URL requires it or the server is elsewhere
    /// (then only with `sslmode=require`, unless allowed otherwise); in the clear on loopback,
    /// as libpq's `prefer` would with a server certificate nobody checks.
    fn transport(&self) -> Result<Transport, StoreError> {
        let config: tokio_postgres::Config = self
            .url
            .parse()
            .map_err(|e| refused(format!("the PostgreSQL URL is not valid ({e})")))?;
        if config.get_ssl_mode() == SslMode::Require {
            return Ok(Transport::Tls);
        }
        // `hostaddr` is where tokio-postgres connects when it is given, whatever `host` says.
        let remote = config
            .get_hostaddrs()
            .iter()
            .find(|ip| !ip.is_loopback())
            .map(ToString::to_string)
            .or_else(|| {
                config.get_hosts().iter().find_map(|host| match host {
                    Host::Tcp(name) => {
                        (!oauth_rules::is_loopback_host(name)).then(|| name.to_string())
                    }
                    #[cfg(unix)]
                    Host::Unix(_) => None,
                })
            });
        if remote.is_some() && self.allow_plaintext_remote {
            return Ok(Transport::Tls);
        }
        match remote {
            Some(host) => Err(refused(format!(
                "the PostgreSQL server `{host}` is not on this machine and the URL does not say \
                 `sslmode=require`: tokens would cross the network in clear. Add \
                 `sslmode=require` (and the server's CA with `ca_certificate_pem` if it is \
                 private), or allow it with `allow_plaintext_to_remote_servers`"
            ))),
            None => Ok(Transport::PlainLoopback),
        }
    }

    fn tls(&self) -> Result<MakeRustlsConnect, StoreError> {
        let mut roots = rustls::RootCertStore::empty();
        // The system's roots, where it has them; a private server's CA comes from the app.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        for certificate in &self.roots {
            roots
                .add(certificate.clone())
                .map_err(|e| refused(format!("the CA certificate cannot be used ({e})")))?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| refused(format!("TLS cannot be set up ({e})")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

impl PostgresStore {
    /// How to connect to `url` (`postgres://user@host:port/db?sslmode=require`): add a CA or
    /// an encryption key, then [`PostgresOptions::connect`].
    pub fn options(url: &str) -> PostgresOptions {
        PostgresOptions {
            url: url.to_string(),
            key: None,
            roots: Vec::new(),
            allow_plaintext_remote: false,
        }
    }

    /// Connects to `url` and creates the table if it is missing. Tokens are stored in clear
    /// (see [`PostgresStore::connect_encrypted`]); TLS as the URL's `sslmode` says.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::options(url).connect().await
    }

    /// Like [`PostgresStore::connect`], with tokens sealed with `key` at rest.
    pub async fn connect_encrypted(url: &str, key: EncryptionKey) -> Result<Self, StoreError> {
        Self::options(url).encryption_key(key).connect().await
    }

    /// The connection, opened again if it was lost.
    async fn client(&self) -> Result<Arc<Client>, StoreError> {
        let current = self.inner.client.read().await.clone();
        if !current.is_closed() {
            return Ok(current);
        }
        let mut slot = self.inner.client.write().await;
        if slot.is_closed() {
            *slot = Arc::new(open(&self.inner.url, &self.inner.connector).await?);
        }
        Ok(slot.clone())
    }

    fn decode(&self, key: &TokenKey, version: i64, bytes: &[u8]) -> Result<Versioned, StoreError> {
        let mut versioned =
            decode_one(bytes, self.inner.key.as_ref()).map_err(|reason| StoreError::Corrupt {
                path: format!(
                    "oauth_tokens ({:?}, {}, {})",
                    key.installation.as_str(),
                    key.integration,
                    subject_text(&key.subject)
                )
                .into(),
                reason,
            })?;
        versioned.version = Version::new(u64::try_from(version).unwrap_or_default());
        Ok(versioned)
    }

    /// Runs `query` once more on a fresh connection if the first one was lost: every query
    /// here is safe to repeat (reads, and writes fenced by their version check).
    async fn retrying<T, F, Fut>(&self, query: F) -> Result<T, StoreError>
    where
        F: Fn(Arc<Client>) -> Fut,
        Fut: std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let client = self.client().await?;
        match query(client.clone()).await {
            Err(error) if client.is_closed() || connection_lost(&error) => {
                tracing::warn!(error = %error, "the PostgreSQL connection was lost; trying once more");
                query(self.reconnect(&client).await?).await.map_err(backend)
            }
            result => result.map_err(backend),
        }
    }

    /// A new connection in place of `dead` (unless another task replaced it already).
    async fn reconnect(&self, dead: &Arc<Client>) -> Result<Arc<Client>, StoreError> {
        let mut slot = self.inner.client.write().await;
        if Arc::ptr_eq(&slot, dead) || slot.is_closed() {
            *slot = Arc::new(open(&self.inner.url, &self.inner.connector).await?);
        }
        Ok(slot.clone())
    }
}

impl TokenStore for PostgresStore {
    fn load<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Versioned>> {
        Box::pin(async move {
            let subject = subject_text(&key.subject);
            let row = self
                .retrying(|client| {
                    let subject = subject.clone();
                    async move {
                        client
                            .query_opt(
                                "SELECT version, record FROM oauth_tokens
                                 WHERE integration = $1 AND subject = $2 AND installation = $3",
                                &[&key.integration, &subject, &key.installation.as_str()],
                            )
                            .await
                    }
                })
                .await?;
            match row {
                Some(row) => {
                    let version: i64 = row.try_get(0).map_err(backend)?;
                    let record: Vec<u8> = row.try_get(1).map_err(backend)?;
                    Ok(Some(self.decode(key, version, &record)?))
                }
                None => Ok(None),
            }
        })
    }

    fn save<'a>(
        &'a self,
        key: &'a TokenKey,
        record: &'a TokenRecord,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Version> {
        Box::pin(async move {
            let subject = subject_text(&key.subject);
            let versioned = Versioned {
                record: record.clone(),
                version: expected.unwrap_or(Version::new(0)),
            };
            let bytes = encode_one(key, &versioned, self.inner.key.as_ref()).map_err(|reason| {
                StoreError::Corrupt {
                    path: "oauth_tokens".into(),
                    reason: reason.to_string(),
                }
            })?;
            let expected = expected.map(|v| i64::try_from(v.get()).unwrap_or(i64::MAX));
            let row = self
                .retrying(|client| {
                    let (subject, bytes) = (subject.clone(), bytes.clone());
                    async move {
                        match expected {
                            None => {
                                client
                                    .query_opt(
                                        "INSERT INTO oauth_tokens (integration, subject, installation, version, record)
                                         VALUES ($1, $2, $3, nextval('oauth_token_versions'), $4)
                                         ON CONFLICT DO NOTHING RETURNING version",
                                        &[&key.integration, &subject, &key.installation.as_str(), &bytes],
                                    )
                                    .await
                            }
                            Some(expected) => {
                                client
                                    .query_opt(
                                        "UPDATE oauth_tokens
                                         SET version = nextval('oauth_token_versions'), record = $4, updated_at = now()
                                         WHERE integration = $1 AND subject = $2 AND installation = $3 AND version = $5
                                         RETURNING version",
                                        &[&key.integration, &subject, &key.installation.as_str(), &bytes, &expected],
                                    )
                                    .await
                            }
                        }
                    }
                })
                .await?;
            match row {
                Some(row) => {
                    let version: i64 = row.try_get(0).map_err(backend)?;
                    Ok(Version::new(u64::try_from(version).unwrap_or_default()))
                }
                None => Err(StoreError::Conflict {
                    integration: key.integration.to_string(),
                }),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let subject = subject_text(&key.subject);
            let deleted = self
                .retrying(|client| {
                    let subject = subject.clone();
                    async move {
                        client
                            .execute(
                                "DELETE FROM oauth_tokens
                                 WHERE integration = $1 AND subject = $2 AND installation = $3",
                                &[&key.integration, &subject, &key.installation.as_str()],
                            )
                            .await
                    }
                })
                .await?;
            Ok(deleted > 0)
        })
    }

    fn keys(&self) -> StoreFuture<'_, Vec<TokenKey>> {
        Box::pin(async move {
            let rows = self
                .retrying(|client| async move {
                    client
                        .query(
                            "SELECT installation, integration, subject FROM oauth_tokens",
                            &[],
                        )
                        .await
                })
                .await?;
            rows.iter()
                .map(|row| {
                    let installation: String = row.try_get(0).map_err(backend)?;
                    let integration: String = row.try_get(1).map_err(backend)?;
                    let subject: String = row.try_get(2).map_err(backend)?;
                    Ok(TokenKey {
                        installation: InstallationId::new(installation),
                        integration: integration.into(),
                        subject: subject_of(&subject),
                    })
                })
                .collect()
        })
    }

    fn keep_authorization<'a>(
        &'a self,
        authorization: &'a SharedAuthorization,
        max: usize,
    ) -> StoreFuture<'a, Kept> {
        Box::pin(self.keep(authorization, max))
    }

    fn take_authorization<'a>(
        &'a self,
        state_hash: &'a str,
    ) -> StoreFuture<'a, Option<SharedAuthorization>> {
        Box::pin(self.take(state_hash))
    }

    fn lock_refresh<'a>(
        &'a self,
        key: &'a TokenKey,
        wait: Duration,
    ) -> StoreFuture<'a, RefreshLock> {
        Box::pin(async move {
            let id = lock_id(key);
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                let client = self.client().await?;
                let row = client
                    .query_one("SELECT pg_try_advisory_lock($1)", &[&id])
                    .await
                    .map_err(backend)?;
                let taken: bool = row.try_get(0).map_err(backend)?;
                if taken {
                    return Ok(RefreshLock::held(AdvisoryLock { client, id }));
                }
                if tokio::time::Instant::now() >= deadline {
                    tracing::warn!(
                        installation = key.installation.as_str(), integration = %key.integration,
                        "another replica still holds the refresh lock after the wait; refreshing without it"
                    );
                    return Ok(RefreshLock::none());
                }
                tokio::time::sleep(LOCK_POLL).await;
            }
        })
    }
}

/// The advisory lock of a key, held by this store's session; released when dropped (or when
/// the session ends, if this process dies).
struct AdvisoryLock {
    client: Arc<Client>,
    id: i64,
}

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        let (client, id) = (self.client.clone(), self.id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = client
                    .execute("SELECT pg_advisory_unlock($1)", &[&id])
                    .await;
            });
        }
    }
}

/// A stable 64-bit number for a key (FNV-1a), the advisory lock's id. The default
/// installation's keys hash as they did before installations existed, so replicas of both
/// versions take the same lock during an upgrade.
fn lock_id(key: &TokenKey) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let subject = subject_text(&key.subject);
    let installation = match key.installation.is_default() {
        true => None,
        false => Some(key.installation.as_str()),
    };
    let named = installation
        .into_iter()
        .flat_map(|id| [0u8].into_iter().chain(id.bytes()));
    for byte in key
        .integration
        .bytes()
        .chain([0])
        .chain(subject.bytes())
        .chain(named)
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}
