//! Many installations in one process: 10,000 installations × (the installation's token and
//! 10 agent users' tokens) = 110,000 keys in a `MemoryStore`, calls spread over all of them,
//! against the same process serving one key. Each side runs in a child process of its own, so
//! its resident memory is its own: after seeding, then each second while calls run (64 in
//! flight, a generated client made per call from `runtime.installation(id)`), and the p50 and
//! p99 of a call over the whole run.
//!
//! Run: `cargo bench -p oauth-runtime --bench installations`. `INSTALLATIONS_SECONDS` sets
//! how long each side runs (default 8), `INSTALLATIONS_ROUNDS` how many times each runs (default 5),
//! `INSTALLATIONS_TOKEN_CACHE=KEYS` bounds the token
//! cache (default: the runtime's, 100,000 keys). With `--features postgres` and
//! `INSTALLATIONS_POSTGRES=postgres://…` (a server where it may create a database), the many
//! keys are also served from a `PostgresStore`.

use std::time::{Duration, Instant, SystemTime};

use oauth_runtime::{
    IntegrationConfig, MemoryStore, Runtime, TokenKey, TokenRecord, TokenSet, TokenStore, UserId,
};

mod common;
use common::{Bench, MyTicketContext, TOKEN, context, iparams, quick, server, two_workers};

const INSTALLATIONS: usize = 10_000;
const USERS: usize = 10;
const IN_FLIGHT: usize = 64;

fn main() {
    if let Ok(side) = std::env::var("INSTALLATIONS_SIDE") {
        two_workers().block_on(run_side(&side));
        return;
    }
    let seconds: u64 = match std::env::var("INSTALLATIONS_SECONDS") {
        Ok(text) => text.parse().expect("INSTALLATIONS_SECONDS is a number"),
        Err(_) if quick() => 1,
        Err(_) => 8,
    };
    println!(
        "{INSTALLATIONS} installations × (1 + {USERS} users) = {} keys, against 1 key; \
         {IN_FLIGHT} calls in flight for {seconds} s each",
        INSTALLATIONS * (1 + USERS)
    );
    println!(
        "{:<10} {:>12} {:>24} {:>10} {:>10} {:>12}",
        "side", "RSS seeded", "RSS while calling", "p50", "p99", "calls/s"
    );
    let mut figures = Vec::new();
    // The machine's speed drifts (a shared host): sides alternate, and the ratios are each
    // round's `many` against the `one` just before it, summed up as medians.
    let rounds = match std::env::var("INSTALLATIONS_ROUNDS") {
        Ok(text) => text.parse().expect("INSTALLATIONS_ROUNDS is a number"),
        Err(_) if quick() => 1,
        Err(_) => 5,
    };
    // With `--features postgres` and INSTALLATIONS_POSTGRES set to a server, each round's
    // `many` also runs on a PostgresStore.
    let mut sides = vec!["one", "many"];
    if cfg!(feature = "postgres") && std::env::var_os("INSTALLATIONS_POSTGRES").is_some() {
        sides.push("many-postgres");
    }
    let per_round = sides.len();
    for side in sides.repeat(rounds) {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .env("INSTALLATIONS_SIDE", side)
            .env("INSTALLATIONS_SECONDS", seconds.to_string())
            .output()
            .expect("the side runs");
        assert!(
            output.status.success(),
            "{side}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8_lossy(&output.stdout).to_string();
        print!("{text}");
        figures.push(text);
    }
    let field = |line: &str, n: usize| -> f64 {
        line.split_whitespace()
            .nth(n)
            .and_then(|f| {
                f.trim_end_matches(|c: char| c.is_alphabetic())
                    .rsplit(',')
                    .next()
            })
            .and_then(|f| f.parse().ok())
            .unwrap_or(f64::NAN)
    };
    // Each round's `many` sides against its `one`.
    let mut ratios: Vec<(String, f64, f64, f64)> = Vec::new();
    for round in figures.chunks(per_round) {
        let one = round[0].trim();
        for many in &round[1..] {
            let many = many.trim();
            ratios.push((
                many.split_whitespace().next().unwrap_or("?").to_string(),
                field(many, 2) - field(one, 2),
                field(many, 3) / field(one, 3),
                field(many, 4) / field(one, 4),
            ));
        }
    }
    for side in &sides_of(&ratios) {
        let of = |pick: fn(&(String, f64, f64, f64)) -> f64| {
            let mut values: Vec<f64> = ratios.iter().filter(|r| &r.0 == side).map(pick).collect();
            values.sort_by(f64::total_cmp);
            let median = values[values.len() / 2];
            (median, values[0], values[values.len() - 1])
        };
        let (memory, p50, p99) = (of(|r| r.1), of(|r| r.2), of(|r| r.3));
        println!(
            "{side} − one, medians of {} rounds (least–most): {:+.1} MiB resident at the end \
             ({:+.1}–{:+.1}); p50 {:.3}× ({:.3}–{:.3}), p99 {:.3}× ({:.3}–{:.3})",
            ratios.iter().filter(|r| &r.0 == side).count(),
            memory.0,
            memory.1,
            memory.2,
            p50.0,
            p50.1,
            p50.2,
            p99.0,
            p99.1,
            p99.2
        );
    }
}

/// The `many` sides measured, in order.
fn sides_of(ratios: &[(String, f64, f64, f64)]) -> Vec<String> {
    let mut sides: Vec<String> = Vec::new();
    for (side, ..) in ratios {
        if !sides.contains(side) {
            sides.push(side.clone());
        }
    }
    sides
}

/// Call latencies in buckets 2% apart from 1 µs: a few kilobytes however many calls, so the
/// measuring does not grow the memory being measured.
struct Histogram([u64; 1200]);

impl Default for Histogram {
    fn default() -> Self {
        Histogram([0; 1200])
    }
}

impl Histogram {
    fn record(&mut self, took: Duration) {
        let micros = took.as_secs_f64() * 1e6;
        let bucket = (micros.max(1.0).ln() / 1.02f64.ln()) as usize;
        self.0[bucket.min(self.0.len() - 1)] += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += b;
        }
    }

    fn count(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The upper bound of the bucket holding the `q` quantile.
    fn quantile(&self, q: f64) -> Duration {
        let target = (self.count() as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (bucket, n) in self.0.iter().enumerate() {
            seen += n;
            if seen >= target.max(1) {
                return Duration::from_secs_f64(1.02f64.powi(bucket as i32 + 1) / 1e6);
            }
        }
        Duration::MAX
    }
}

/// A PostgresStore on a database of its own on the server at INSTALLATIONS_POSTGRES.
#[cfg(feature = "postgres")]
async fn postgres_store() -> oauth_runtime::store::PostgresStore {
    let server = std::env::var("INSTALLATIONS_POSTGRES").expect("INSTALLATIONS_POSTGRES");
    let (admin, connection) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
        .await
        .expect("the PostgreSQL server answers");
    tokio::spawn(connection);
    let name = format!("bench_installations_{}", std::process::id());
    for statement in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        admin.batch_execute(&statement).await.unwrap();
    }
    let base = server
        .rsplit_once('/')
        .map_or(server.as_str(), |(base, _)| base);
    oauth_runtime::store::PostgresStore::connect(&format!("{base}/{name}"))
        .await
        .expect("a store")
}

#[cfg(not(feature = "postgres"))]
async fn postgres_store() -> MemoryStore {
    unreachable!("the PostgreSQL side runs with --features postgres only")
}

/// Resident memory, in MiB.
fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

fn installation(n: usize) -> String {
    format!("account-{n:05}")
}

/// One side: seeds its keys, then calls for the given time and prints one line.
async fn run_side(side: &str) {
    let seconds: u64 = std::env::var("INSTALLATIONS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let many = side.starts_with("many");
    let port = server().await;
    let integration = |name: &str| {
        IntegrationConfig::new(
            name,
            &format!("http://127.0.0.1:{port}/token"),
            "client",
            "secret",
        )
        .unwrap()
    };
    let store: std::sync::Arc<dyn TokenStore> = match side {
        "many-postgres" => std::sync::Arc::new(postgres_store().await),
        _ => std::sync::Arc::new(MemoryStore::new()),
    };
    let mut builder = Runtime::builder()
        .shared_store(store.clone())
        .integration(integration("crm"))
        .integration(integration("desk").token_type(oauth_runtime::TokenType::Agent));
    if let Some(keys) = std::env::var("INSTALLATIONS_TOKEN_CACHE")
        .ok()
        .and_then(|k| k.parse().ok())
    {
        builder = builder.token_cache(Duration::from_secs(1800), keys);
    }
    let runtime = builder.build().unwrap();
    let record = TokenRecord::active(
        TokenSet::new(TOKEN)
            .with_refresh_token("refresh")
            .with_expires_at(SystemTime::now() + Duration::from_secs(3600)),
    );
    let installations = if many { INSTALLATIONS } else { 1 };
    // Seeded 32 at a time: a database's round trips would otherwise take minutes.
    let mut seeding = tokio::task::JoinSet::new();
    for part in 0..32 {
        let (store, record) = (store.clone(), record.clone());
        seeding.spawn(async move {
            for n in (part..installations).step_by(32) {
                let id = if many { installation(n) } else { String::new() };
                let account = TokenKey::installation("crm").in_installation(id.as_str());
                store.save(&account, &record, None).await.unwrap();
                if many {
                    for user in 0..USERS {
                        let key = TokenKey::user("desk", UserId::new(format!("user-{user}")))
                            .in_installation(id.as_str());
                        store.save(&key, &record, None).await.unwrap();
                    }
                }
            }
        });
    }
    while let Some(done) = seeding.join_next().await {
        done.unwrap();
    }
    let seeded = resident_mib();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let sampler = tokio::spawn(async move {
        let mut samples = Vec::new();
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
            samples.push(resident_mib());
        }
        samples
    });
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..IN_FLIGHT {
        let runtime = runtime.clone();
        workers.spawn(async move {
            let mut latencies = Histogram::default();
            let mut seed = 0x9E37_79B9_7F4A_7C15_u64 ^ (worker as u64 + 1);
            while Instant::now() < deadline {
                // xorshift: which installation, and the installation's token or a user's.
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let (n, pick) = (
                    seed as usize % INSTALLATIONS,
                    (seed >> 32) as usize % (USERS + 1),
                );
                let handle = match many {
                    true => runtime.installation(installation(n)),
                    false => runtime.clone(),
                };
                let client = Bench::new(handle, iparams(port));
                let begun = Instant::now();
                let response = if many && pick < USERS {
                    let user = UserId::new(format!("user-{pick}"));
                    let context = MyTicketContext {
                        ticket_id: "12345".into(),
                        include: "requester".into(),
                    };
                    client.my_ticket(&context, &user).send().await
                } else {
                    client.get_ticket(&context()).send().await
                };
                std::hint::black_box(response.expect("answered").into_bytes());
                latencies.record(begun.elapsed());
            }
            latencies
        });
    }
    let mut latencies = Histogram::default();
    while let Some(done) = workers.join_next().await {
        latencies.merge(&done.unwrap());
    }
    let took = started.elapsed();
    let samples = sampler.await.unwrap();
    let shown: Vec<String> = samples.iter().map(|s| format!("{s:.0}")).collect();
    println!(
        "{:<10} {:>10.1}Mi {:>24} {:>9.1}us {:>9.1}us {:>12.0}",
        side,
        seeded,
        format!("{}Mi", shown.join(",")),
        latencies.quantile(0.5).as_secs_f64() * 1e6,
        latencies.quantile(0.99).as_secs_f64() * 1e6,
        latencies.count() as f64 / took.as_secs_f64()
    );
}
