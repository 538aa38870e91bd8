//! PostgresStore (feature `postgres`) against a real PostgreSQL server on loopback, started by
//! `scripts/start-postgres` (which `scripts/test` runs; its URL is in `OAUTH_TEST_POSTGRES`).
//! Replicas are runtimes with their own store, hence their own database session.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use oauth_runtime::store::{EncryptionKey, PostgresStore, StoreError};
use oauth_runtime::{
    Callback, CallbackError, CallbackOutcome, InstallationId, InvokeError, Runtime, Subject,
    TokenKey, TokenRecord, TokenSet, TokenStore,
};

use crate::support::Provider;
use crate::{Engine, GetThingContext};

/// A database of its own for one test, on the server `scripts/start-postgres` started.
async fn database(replica_names: &[&str]) -> Vec<String> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let server = std::env::var("OAUTH_TEST_POSTGRES").expect(
        "OAUTH_TEST_POSTGRES is not set: run `scripts/start-postgres` and export the URL it \
         prints (scripts/test does both)",
    );
    let (admin, connection) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
        .await
        .expect("the PostgreSQL server of scripts/start-postgres runs");
    tokio::spawn(connection);
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    // One statement each: a multi-statement batch runs as one transaction.
    for statement in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        admin.batch_execute(&statement).await.unwrap();
    }
    let base = server.rsplit_once('/').unwrap().0.to_string();
    replica_names
        .iter()
        .map(|replica| format!("{base}/{name}?application_name={replica}"))
        .collect()
}

/// The store at `url`, over TLS verified against the test server's CA.
async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
    PostgresStore::options(&format!("{url}&sslmode=require"))
        .ca_certificate_pem(&test_ca())?
        .connect()
        .await
}

/// As [`connect`], with records sealed with `key`.
async fn connect_encrypted(url: &str, key: EncryptionKey) -> Result<PostgresStore, StoreError> {
    PostgresStore::options(&format!("{url}&sslmode=require"))
        .ca_certificate_pem(&test_ca())?
        .encryption_key(key)
        .connect()
        .await
}

fn crm() -> TokenKey {
    TokenKey::installation("crm")
}

async fn stampede(runtimes: &[Runtime], provider: &Arc<Provider>, calls: usize) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..calls {
        let runtime = runtimes[i % runtimes.len()].clone();
        let port = provider.port();
        tasks.spawn(async move {
            let context = GetThingContext {
                port,
                id: "1".into(),
            };
            let response = Engine::new(runtime)
                .get_thing(&context)
                .send()
                .await
                .unwrap();
            response.json::<serde_json::Value>().unwrap()["token"]
                .as_str()
                .unwrap()
                .to_string()
        });
    }
    let mut tokens = Vec::new();
    while let Some(token) = tasks.join_next().await {
        tokens.push(token.unwrap());
    }
    tokens
}

#[tokio::test]
async fn postgres_store_compares_and_swaps_and_never_repeats_versions() {
    let url = database(&["cas"]).await.remove(0);
    let store = connect(&url).await.unwrap();
    crate::stores::compare_and_swap(&store).await;
    assert!(
        !format!("{store:?}").contains("postgres://"),
        "the URL is not shown"
    );
}

#[tokio::test]
async fn encrypted_rows_hold_no_token_in_clear() {
    let urls = database(&["sealed", "reader"]).await;
    let key = || EncryptionKey::from_bytes(&[9; 32]);
    let store = connect_encrypted(&urls[0], key()).await.unwrap();
    let record =
        TokenRecord::active(TokenSet::new("sekrit-at-rest").with_refresh_token("sekrit-r"));
    store.save(&crm(), &record, None).await.unwrap();
    let (client, connection) = tokio_postgres::connect(&urls[1], tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let row = client
        .query_one("SELECT record FROM oauth_tokens", &[])
        .await
        .unwrap();
    let bytes: Vec<u8> = row.get(0);
    assert!(!bytes.windows(6).any(|w| w == b"sekrit"));
    let again = connect_encrypted(&urls[1], key()).await.unwrap();
    let loaded = again.load(&crm()).await.unwrap().unwrap();
    assert_eq!(
        loaded.record.tokens.access_token().secret(),
        "sekrit-at-rest"
    );
    let plain = connect(&urls[1]).await.unwrap();
    assert!(matches!(
        plain.load(&crm()).await,
        Err(StoreError::Corrupt { .. })
    ));
}

async fn replicas_refresh_once(count: usize) {
    let provider = Arc::new(Provider::start().await);
    let names: Vec<String> = (0..count).map(|i| format!("replica-{i}")).collect();
    let urls = database(&names.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let mut runtimes = Vec::new();
    for url in &urls {
        runtimes.push(provider.runtime(connect(url).await.unwrap()));
    }
    provider.seed_expired(&runtimes[0]).await;
    let tokens = stampede(&runtimes, &provider, 500).await;
    assert_eq!(tokens.len(), 500);
    assert!(
        tokens.iter().all(|t| t == "sekrit-access-1"),
        "all use the one new token"
    );
    assert_eq!(
        provider.token_requests(),
        1,
        "{count} replicas, one refresh"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_refresh_once() {
    replicas_refresh_once(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_replicas_refresh_once() {
    replicas_refresh_once(8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_dies_holding_the_lock_blocks_nobody() {
    let provider = Arc::new(Provider::start().await);
    let names = ["dying", "b", "c", "d", "admin"];
    let urls = database(&names).await;
    let dying = connect(&urls[0]).await.unwrap();
    let mut runtimes = Vec::new();
    for url in &urls[1..4] {
        let store = connect(url).await.unwrap();
        runtimes.push(
            provider
                .builder(store)
                .refresh_lock_wait(Duration::from_secs(10))
                .build()
                .unwrap(),
        );
    }
    provider.seed_expired(&runtimes[0]).await;
    // The dying replica takes the refresh lock, then its session is killed mid-refresh.
    let held = dying
        .lock_refresh(&crm(), Duration::from_secs(1))
        .await
        .unwrap();
    assert!(format!("{held:?}").contains("held: true"));
    let (admin, connection) = tokio_postgres::connect(&urls[4], tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dying'",
                &[],
            )
            .await
            .unwrap();
    });
    let started = Instant::now();
    let tokens = stampede(&runtimes, &provider, 60).await;
    killer.await.unwrap();
    assert!(tokens.iter().all(|t| t == "sekrit-access-1"));
    assert_eq!(
        provider.token_requests(),
        1,
        "one refresh after the dead replica's lock went away"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "recovered within the bound: {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "waited for the lock: {:?}",
        started.elapsed()
    );
    drop(held);
    let stored = runtimes[0]
        .store()
        .unwrap()
        .load(&crm())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.record.tokens.access_token().secret(),
        "sekrit-access-1",
        "no token lost"
    );
}

#[tokio::test]
async fn a_stale_replica_adopts_the_newer_token() {
    let provider = Provider::start().await;
    let urls = database(&["stale", "fresh"]).await;
    let stale = provider.runtime(connect(&urls[0]).await.unwrap());
    let fresh = connect(&urls[1]).await.unwrap();
    provider.seed_expired(&stale).await;
    let before = fresh.load(&crm()).await.unwrap().unwrap();
    let newer = TokenRecord::active(
        TokenSet::new("sekrit-newer")
            .with_refresh_token("sekrit-refresh-newer")
            .expires_in(Duration::from_secs(1800)),
    );
    fresh
        .save(&crm(), &newer, Some(before.version))
        .await
        .unwrap();
    assert!(matches!(
        fresh
            .save(&crm(), &before.record, Some(before.version))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    provider.accept("sekrit-newer");
    let context = GetThingContext {
        port: provider.port(),
        id: "1".into(),
    };
    let response = Engine::new(stale).get_thing(&context).send().await.unwrap();
    assert_eq!(
        response.json::<serde_json::Value>().unwrap()["token"],
        "sekrit-newer"
    );
    assert_eq!(provider.token_requests(), 0);
}

#[tokio::test]
async fn a_lost_connection_is_opened_again() {
    let urls = database(&["flaky", "killer"]).await;
    let store = connect(&urls[0]).await.unwrap();
    let record = TokenRecord::active(TokenSet::new("sekrit-kept"));
    store.save(&crm(), &record, None).await.unwrap();
    let (admin, connection) = tokio_postgres::connect(&urls[1], tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'flaky'",
            &[],
        )
        .await
        .unwrap();
    // The session is gone: the read is tried again on a new connection.
    let loaded = store.load(&crm()).await.unwrap().unwrap();
    assert_eq!(loaded.record.tokens.access_token().secret(), "sekrit-kept");
}

/// The CA of the test server's TLS certificate (`scripts/start-postgres` makes it).
fn test_ca() -> Vec<u8> {
    let path = std::env::var("OAUTH_TEST_POSTGRES_CA").expect(
        "OAUTH_TEST_POSTGRES_CA is not set: scripts/test exports the CA scripts/start-postgres made",
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Whether the session named `application` is encrypted, as the server sees it.
async fn session_uses_tls(admin_url: &str, application: &str) -> bool {
    let (admin, connection) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let row = admin
        .query_one(
            "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = $1",
            &[&application],
        )
        .await
        .unwrap();
    row.get::<_, Option<bool>>(0).unwrap_or(false)
}

#[tokio::test]
async fn tls_is_verified_against_the_ca_the_app_gives() {
    let urls = database(&["tls_checked"]).await;
    let url = format!("{}&sslmode=require", urls[0]);
    // Without the CA, the throwaway certificate is not trusted: refused, nothing sent.
    let error = PostgresStore::connect(&url).await.unwrap_err().to_string();
    assert!(
        error.contains("cannot connect to PostgreSQL")
            && error.to_lowercase().contains("certificate"),
        "{error}"
    );
    // With it, the session is encrypted.
    let store = PostgresStore::options(&url)
        .ca_certificate_pem(&test_ca())
        .unwrap()
        .connect()
        .await
        .unwrap();
    store
        .save(&crm(), &TokenRecord::active(TokenSet::new("sekrit")), None)
        .await
        .unwrap();
    let admin = std::env::var("OAUTH_TEST_POSTGRES").unwrap();
    assert!(session_uses_tls(&admin, "tls_checked").await);
    // A CA file that holds no certificate is a clear error.
    let error = PostgresStore::options(&url)
        .ca_certificate_pem(b"not a certificate")
        .unwrap_err();
    assert!(error.to_string().contains("no certificate"), "{error}");
}

#[tokio::test]
async fn sslmode_require_against_a_server_without_tls_is_a_clear_error() {
    // A server that refuses TLS answers `N` to the client's SSLRequest (PostgreSQL protocol,
    // "SSL Session Encryption"): exactly what a PostgreSQL server with `ssl = off` does.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 8];
            if socket.read_exact(&mut request).await.is_ok() {
                let _ = socket.write_all(b"N").await;
            }
        }
    });
    let url = format!("postgres://oauth@127.0.0.1:{port}/x?sslmode=require");
    let error = PostgresStore::connect(&url).await.unwrap_err().to_string();
    assert!(
        error.contains("cannot connect to PostgreSQL") && error.contains("TLS"),
        "{error}"
    );
}

#[tokio::test]
async fn a_remote_server_without_required_tls_is_refused_unless_allowed() {
    for url in [
        "postgres://oauth@db.example.com/tokens",
        "postgres://oauth@10.1.2.3:5432/tokens?sslmode=prefer",
        "postgres://oauth@db.example.com/tokens?sslmode=disable",
        // `hostaddr` is where the connection goes, whatever `host` says.
        "postgres://oauth@localhost/tokens?hostaddr=10.0.0.5",
    ] {
        let error = PostgresStore::connect(url).await.unwrap_err().to_string();
        assert!(
            error.contains("is not on this machine") && error.contains("sslmode=require"),
            "{url}: {error}"
        );
    }
    // Allowed explicitly, it goes on to connect (and fails here only because no such server
    // answers: the refusal above came before any connection).
    let error = PostgresStore::options("postgres://oauth@127.0.0.1:1/tokens?sslmode=disable")
        .allow_plaintext_to_remote_servers(true)
        .connect()
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("cannot connect to PostgreSQL"), "{error}");
}

#[tokio::test]
async fn a_loopback_server_without_required_tls_is_reached_in_the_clear() {
    // The test server offers TLS with a certificate nobody here trusts: without
    // `sslmode=require`, a loopback connection does not check it (as libpq's `prefer`), so a
    // local server's self-signed certificate does not stop the store.
    let urls = database(&["plain_loopback"]).await;
    let store = PostgresStore::connect(&urls[0]).await.unwrap();
    store
        .save(&crm(), &TokenRecord::active(TokenSet::new("a")), None)
        .await
        .unwrap();
    let admin = std::env::var("OAUTH_TEST_POSTGRES").unwrap();
    assert!(!session_uses_tls(&admin, "plain_loopback").await);
}

/// A table of the previous version (no `installation` column, keyed by integration and
/// subject), with a row in its exact format, is migrated in place: the row is the default
/// installation's, and named installations are kept beside it.
#[tokio::test]
async fn a_table_of_the_previous_version_opens_and_its_tokens_are_the_default_installations() {
    // Two databases: the old table's, and one where the store writes a record to copy.
    let urls = [
        database(&["old"]).await.remove(0),
        database(&["donor"]).await.remove(0),
    ];
    let old_url = format!("{}&sslmode=disable", urls[0]);
    let (raw, connection) = tokio_postgres::connect(&old_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    // The previous version's schema, verbatim.
    raw.batch_execute(
        "CREATE TABLE IF NOT EXISTS oauth_tokens (
            integration text NOT NULL,
            subject     text NOT NULL,
            version     bigint NOT NULL,
            record      bytea NOT NULL,
            updated_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (integration, subject));
         CREATE SEQUENCE IF NOT EXISTS oauth_token_versions;",
    )
    .await
    .unwrap();
    // A record's bytes as the store writes them for the default installation, which is
    // what the previous version wrote (its records name no installation).
    let donor = connect(&urls[1]).await.unwrap();
    donor
        .save(
            &crm(),
            &TokenRecord::active(TokenSet::new("sekrit-old").with_refresh_token("sekrit-r")),
            None,
        )
        .await
        .unwrap();
    let (donor_raw, connection) = tokio_postgres::connect(
        &format!("{}&sslmode=disable", urls[1]),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let record: Vec<u8> = donor_raw
        .query_one("SELECT record FROM oauth_tokens", &[])
        .await
        .unwrap()
        .get(0);
    raw.execute(
        "INSERT INTO oauth_tokens (integration, subject, version, record)
         VALUES ('crm', 'installation', nextval('oauth_token_versions'), $1)",
        &[&record],
    )
    .await
    .unwrap();

    let store = connect(&urls[0]).await.unwrap();
    let old = store.load(&crm()).await.unwrap().expect("the old row");
    assert_eq!(old.record.tokens.access_token().secret(), "sekrit-old");
    let acme = crm().in_installation("acme");
    assert!(store.load(&acme).await.unwrap().is_none());
    store
        .save(
            &acme,
            &TokenRecord::active(TokenSet::new("sekrit-acme")),
            None,
        )
        .await
        .unwrap();
    // The default installation's row is updated in place, not duplicated.
    store
        .save(
            &crm(),
            &TokenRecord::active(TokenSet::new("sekrit-new")),
            Some(old.version),
        )
        .await
        .unwrap();
    let mut keys = store.keys().await.unwrap();
    keys.sort();
    assert_eq!(keys, [crm(), acme.clone()]);
    // Connecting again (another replica) migrates nothing more.
    let again = connect(&urls[0]).await.unwrap();
    assert_eq!(
        again
            .load(&crm())
            .await
            .unwrap()
            .unwrap()
            .record
            .tokens
            .access_token()
            .secret(),
        "sekrit-new"
    );
    let primary_key: Vec<String> = raw
        .query(
            "SELECT a.attname::text FROM pg_index i
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
             WHERE i.indrelid = 'oauth_tokens'::regclass AND i.indisprimary ORDER BY a.attname",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(primary_key, ["installation", "integration", "subject"]);
}

/// Two installations on one database, one refresh lock each: a refresh of one does not wait
/// for the other's.
#[tokio::test]
async fn installations_share_a_table_without_sharing_tokens() {
    let url = database(&["shared"]).await.remove(0);
    let store = connect(&url).await.unwrap();
    let (acme, globex) = (
        crm().in_installation("acme"),
        crm().in_installation("globex"),
    );
    for (key, token) in [(&acme, "sekrit-acme"), (&globex, "sekrit-globex")] {
        store
            .save(key, &TokenRecord::active(TokenSet::new(token)), None)
            .await
            .unwrap();
    }
    let read = |key: TokenKey| {
        let store = store.clone();
        async move {
            store
                .load(&key)
                .await
                .unwrap()
                .unwrap()
                .record
                .tokens
                .access_token()
                .secret()
                .to_string()
        }
    };
    assert_eq!(read(acme.clone()).await, "sekrit-acme");
    assert_eq!(read(globex.clone()).await, "sekrit-globex");
    let held = store
        .lock_refresh(&acme, Duration::from_secs(5))
        .await
        .unwrap();
    let started = Instant::now();
    let _other = store
        .lock_refresh(&globex, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(held);
    assert!(store.delete(&acme).await.unwrap());
    assert_eq!(read(globex).await, "sekrit-globex");
}

/// A runtime on `store` whose `crm` integration authorizes at `auth.example.com` and sends
/// the user back to `redirect`.
fn authorizing(provider: &Provider, store: PostgresStore, ttl: Duration) -> Runtime {
    provider
        .builder(store)
        .integration(
            provider
                .integration("crm")
                .authorize_url("https://auth.example.com/authorize")
                .unwrap()
                .redirect_uri("https://app.example.com/oauth/crm/callback")
                .unwrap(),
        )
        .authorization_ttl(ttl)
        .build()
        .unwrap()
}

fn query_param(url: &url::Url, key: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

/// An authorization started on one replica completes on another (with its PKCE verifier,
/// sealed at rest), once: the same callback replayed on either replica is refused.
#[tokio::test]
async fn an_authorization_started_on_one_replica_completes_once_on_another() {
    let urls = database(&["started", "completed"]).await;
    let key = || EncryptionKey::from_bytes(&[4; 32]);
    let provider = Provider::start().await;
    let started = authorizing(
        &provider,
        connect_encrypted(&urls[0], key()).await.unwrap(),
        Duration::from_secs(600),
    );
    let completed = authorizing(
        &provider,
        connect_encrypted(&urls[1], key()).await.unwrap(),
        Duration::from_secs(600),
    );
    let request = started
        .installation("acme")
        .authorize("crm", Subject::Installation)
        .await
        .unwrap();
    let state = query_param(request.url(), "state");
    // The exchange must carry the verifier of this challenge.
    *provider.state.challenge.lock().unwrap() = Some(query_param(request.url(), "code_challenge"));
    // What the row holds: no state, no verifier in clear.
    let (raw, connection) = tokio_postgres::connect(
        &format!("{}&sslmode=disable", urls[0]),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let row = raw
        .query_one(
            "SELECT state_hash, installation, verifier FROM oauth_authorizations",
            &[],
        )
        .await
        .unwrap();
    let (hash, installation, sealed): (String, String, Vec<u8>) =
        (row.get(0), row.get(1), row.get(2));
    assert_ne!(hash, state);
    assert_eq!(installation, "acme");
    assert!(sealed.len() > 43, "a sealed verifier");

    let callback = Callback::from_query(&format!("state={state}&code=good-code"));
    let outcome = completed
        .complete_authorization("crm", None, &callback)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CallbackOutcome::Authorized {
            integration: "crm".into(),
            subject: Subject::Installation,
            installation: InstallationId::new("acme"),
        }
    );
    assert!(
        started
            .store()
            .unwrap()
            .load(&crm().in_installation("acme"))
            .await
            .unwrap()
            .is_some()
    );
    for replica in [&started, &completed] {
        let replay = replica
            .complete_authorization("crm", None, &callback)
            .await
            .unwrap_err();
        assert!(matches!(replay, CallbackError::UnknownState), "{replay:?}");
    }
    assert_eq!(provider.token_requests(), 1);
    let left: i64 = raw
        .query_one("SELECT count(*) FROM oauth_authorizations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_shared_authorization_expires_and_old_ones_are_purged() {
    let urls = database(&["a", "b"]).await;
    let provider = Provider::start().await;
    let a = authorizing(
        &provider,
        connect(&urls[0]).await.unwrap(),
        Duration::from_millis(100),
    );
    let b = authorizing(
        &provider,
        connect(&urls[1]).await.unwrap(),
        Duration::from_millis(100),
    );
    let request = a.authorize("crm", Subject::Installation).await.unwrap();
    let state = query_param(request.url(), "state");
    tokio::time::sleep(Duration::from_millis(150)).await;
    let late = b
        .complete_authorization(
            "crm",
            None,
            &Callback::from_query(&format!("state={state}&code=good-code")),
        )
        .await
        .unwrap_err();
    assert!(matches!(late, CallbackError::Expired { .. }), "{late:?}");
    // Starting others purges expired rows; a subject keeps three at most.
    let mut states = Vec::new();
    for _ in 0..5 {
        let request = a.authorize("crm", Subject::Installation).await.unwrap();
        states.push(query_param(request.url(), "state"));
    }
    let (raw, connection) = tokio_postgres::connect(
        &format!("{}&sslmode=disable", urls[0]),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let rows: i64 = raw
        .query_one("SELECT count(*) FROM oauth_authorizations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 3);
    assert_eq!(provider.token_requests(), 0);
}

/// Three replicas (their own runtimes, pools and database sessions) serving three
/// installations: each authorization started on replica A completes on B and is refused on C;
/// then, every token expired, 300 concurrent calls spread over replicas and installations make
/// one token request per installation, and one installation's dead refresh token leaves the
/// others working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_serve_three_installations_each_refreshing_once() {
    let urls = database(&["a", "b", "c"]).await;
    let provider = Arc::new(Provider::start().await);
    let mut replicas = Vec::new();
    for url in &urls {
        replicas.push(authorizing(
            &provider,
            connect(url).await.unwrap(),
            Duration::from_secs(600),
        ));
    }
    let installations = ["acme", "globex", "initech"];
    for (n, installation) in installations.iter().enumerate() {
        let request = replicas[0]
            .installation(*installation)
            .authorize("crm", Subject::Installation)
            .await
            .unwrap();
        let callback = Callback::from_query(&format!(
            "state={}&code=good-code",
            query_param(request.url(), "state")
        ));
        let outcome = replicas[1]
            .complete_authorization("crm", None, &callback)
            .await
            .unwrap();
        assert!(
            matches!(&outcome, CallbackOutcome::Authorized { installation: i, .. } if i.as_str() == *installation),
            "{outcome:?}"
        );
        let replay = replicas[2]
            .complete_authorization("crm", None, &callback)
            .await
            .unwrap_err();
        assert!(matches!(replay, CallbackError::UnknownState), "{replay:?}");
        assert_eq!(
            provider.token_requests(),
            n + 1,
            "no token request for the replay"
        );
    }

    // Every token expired, at the provider too (replica B keeps the ones it obtained, which
    // now get a 401); `acme`'s refresh token is dead at the provider.
    provider.state.accepted.lock().unwrap().clear();
    for installation in installations {
        let key = crm().in_installation(installation);
        let refresh = format!("sekrit-refresh-{installation}");
        provider
            .seed(
                &replicas[0],
                &key,
                "sekrit-expired",
                false,
                -60,
                Some(&refresh),
            )
            .await;
    }
    provider
        .state
        .live_refresh
        .lock()
        .unwrap()
        .remove("sekrit-refresh-acme");
    let before = provider.token_requests();
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..300 {
        let runtime = replicas[(i / 3) % 3].installation(installations[i % 3]);
        let port = provider.port();
        calls.spawn(async move {
            let installation = runtime.installation_id().as_str().to_string();
            let sent = Engine::new(runtime)
                .get_thing(&GetThingContext {
                    port,
                    id: "1".into(),
                })
                .send()
                .await;
            (installation, sent)
        });
    }
    let mut answered = std::collections::HashMap::<String, Vec<String>>::new();
    while let Some(done) = calls.join_next().await {
        let (installation, sent) = done.unwrap();
        let outcome = match sent {
            Ok(response) => response.json::<serde_json::Value>().unwrap()["token"]
                .as_str()
                .unwrap()
                .to_string(),
            Err(InvokeError::ReauthorizationRequired { .. }) => "reauthorize".to_string(),
            Err(other) => panic!("{installation}: {other}"),
        };
        answered.entry(installation).or_default().push(outcome);
    }
    assert_eq!(
        provider.token_requests() - before,
        3,
        "one refresh per installation, across replicas"
    );
    assert!(answered["acme"].iter().all(|o| o == "reauthorize"));
    for installation in ["globex", "initech"] {
        let tokens = &answered[installation];
        assert_eq!(tokens.len(), 100);
        assert!(
            tokens
                .iter()
                .all(|t| t == &tokens[0] && t.starts_with("sekrit-access-"))
        );
    }
    assert_ne!(answered["globex"][0], answered["initech"][0]);
}

/// The store's own limits on authorizations in flight: at an installation's limit a new one
/// is refused and nothing is let go for it; a subject keeps its three newest.
#[tokio::test]
async fn the_stores_limits_on_authorizations_in_flight() {
    use oauth_runtime::UserId;
    use oauth_runtime::store::{Kept, SharedAuthorization};
    let url = database(&["limits"]).await.remove(0);
    let store = connect(&url).await.unwrap();
    let authorization = |hash: &str, user: &str, minutes: u64| {
        SharedAuthorization::restore(
            hash.to_string(),
            InstallationId::new("acme"),
            "crm".to_string(),
            Subject::User(UserId::new(user)),
            Some("sekrit-verifier".to_string()),
            url::Url::parse("https://app.example.com/cb").unwrap(),
            std::time::SystemTime::now() + Duration::from_secs(60 * minutes),
        )
    };
    for (hash, user) in [("h1", "ana"), ("h2", "bo")] {
        let kept = store
            .keep_authorization(&authorization(hash, user, 10), 2)
            .await
            .unwrap();
        assert_eq!(kept, Kept::Kept);
    }
    // At the limit: refused, and ana's and bo's stay.
    assert_eq!(
        store
            .keep_authorization(&authorization("h3", "cy", 10), 2)
            .await
            .unwrap(),
        Kept::TooMany
    );
    // Ana's fourth start lets her oldest go (a subject keeps three).
    for (n, hash) in ["a1", "a2", "a3", "a4"].iter().enumerate() {
        let kept = store
            .keep_authorization(&authorization(hash, "dee", 10 + n as u64), 100)
            .await
            .unwrap();
        assert_eq!(kept, Kept::Kept);
    }
    // At the limit again, for dee, who has three: refused, and her oldest is not let go for
    // a start that did not happen.
    assert_eq!(
        store
            .keep_authorization(&authorization("a5", "dee", 20), 4)
            .await
            .unwrap(),
        Kept::TooMany
    );
    for (hash, there) in [
        ("h1", true),
        ("h2", true),
        ("h3", false),
        ("a1", false),
        ("a2", true),
        ("a4", true),
        ("a5", false),
    ] {
        let taken = store.take_authorization(hash).await.unwrap();
        assert_eq!(taken.is_some(), there, "{hash}");
        if let Some(taken) = taken {
            assert_eq!(taken.verifier(), Some("sekrit-verifier"));
            assert_eq!(taken.installation().as_str(), "acme");
        }
    }
    // Taken once: a second take finds nothing.
    assert!(store.take_authorization("h1").await.unwrap().is_none());
}
