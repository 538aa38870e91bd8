//! Figures that criterion's one-after-the-other runs measure poorly, printed side by side:
//! - a whole call to a loopback server, template vs by hand, interleaved in rounds so that drift
//!   of the machine hits both alike (the median of the per-round ratios);
//! - the latency of 1000 concurrent calls across a refresh (the token expired: one token
//!   request, 20 ms at the endpoint, while 1000 callers wait) against 1000 concurrent calls on
//!   a valid token.
//!
//! - with `--features postgres` and `OAUTH_TEST_POSTGRES` set (`scripts/start-postgres` prints
//!   it), token reads per second through `PostgresStore` against `MemoryStore`, 64 readers.
//!
//! Run: `cargo bench -p oauth-runtime --bench figures` (add `--features postgres` and
//! `OAUTH_TEST_POSTGRES=$(scripts/start-postgres)` for the stores).

use std::time::{Duration, Instant};

mod common;
use common::{TOKEN, by_hand, client, context, server};

const CALLS: usize = 1000;
const ROUNDS: usize = 5;

async fn round(expired: bool, port: u16) -> Vec<Duration> {
    let lifetime = if expired {
        Duration::ZERO
    } else {
        Duration::from_secs(3600)
    };
    let bench = client(port, lifetime).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CALLS {
        let bench = bench.clone();
        tasks.spawn(async move {
            let started = Instant::now();
            let response = bench.get_ticket(&context()).send().await.unwrap();
            assert!(response.status().is_success());
            started.elapsed()
        });
    }
    let mut latencies = Vec::with_capacity(CALLS);
    while let Some(latency) = tasks.join_next().await {
        latencies.push(latency.unwrap());
    }
    latencies.sort();
    latencies
}

/// Token reads per second by 64 concurrent readers of `store` for `duration`.
#[cfg(feature = "postgres")]
async fn reads_per_second(
    store: std::sync::Arc<dyn oauth_runtime::TokenStore>,
    duration: Duration,
) -> f64 {
    use oauth_runtime::{TokenKey, TokenRecord, TokenSet};
    let key = TokenKey::installation("crm");
    let _ = store.delete(&key).await;
    store
        .save(
            &key,
            &TokenRecord::active(TokenSet::new("token").with_refresh_token("refresh")),
            None,
        )
        .await
        .unwrap();
    let reads = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stop = Instant::now() + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (store, reads, key) = (store.clone(), reads.clone(), key.clone());
        tasks.spawn(async move {
            while Instant::now() < stop {
                store.load(&key).await.unwrap();
                reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    reads.load(std::sync::atomic::Ordering::Relaxed) as f64 / duration.as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Median per-call time of `calls` sequential calls, template and by hand, in `rounds` rounds.
async fn interleaved(port: u16, rounds: usize, calls: usize) -> (Duration, Duration, f64) {
    let bench = client(port, Duration::from_secs(3600)).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let context = context();
    let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut pair = [Duration::ZERO; 2];
        // Alternate which side goes first.
        for side in [round % 2, 1 - round % 2] {
            let started = Instant::now();
            for _ in 0..calls {
                if side == 0 {
                    let response = bench.get_ticket(&context).send().await.unwrap();
                    std::hint::black_box(response.bytes());
                } else {
                    let response = http.execute(by_hand(&base, TOKEN, &context)).await.unwrap();
                    assert!(response.status().is_success());
                    std::hint::black_box(response.bytes().await.unwrap());
                }
            }
            pair[side] = started.elapsed() / calls as u32;
        }
        ours.push(pair[0]);
        theirs.push(pair[1]);
        ratios.push(pair[0].as_secs_f64() / pair[1].as_secs_f64());
    }
    ours.sort();
    theirs.sort();
    ratios.sort_by(f64::total_cmp);
    (ours[rounds / 2], theirs[rounds / 2], ratios[rounds / 2])
}

/// A recorder as exporters keep one: an atomic per metric, found by its key under a read
/// lock. Off, it hands out no-op metrics, as if none were installed.
#[derive(Default)]
struct Recorder {
    on: std::sync::atomic::AtomicBool,
    counters: std::sync::RwLock<
        std::collections::HashMap<metrics::Key, std::sync::Arc<std::sync::atomic::AtomicU64>>,
    >,
}

struct Cell(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl metrics::CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.0
            .fetch_add(value, std::sync::atomic::Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, std::sync::atomic::Ordering::Relaxed);
    }
}

impl metrics::HistogramFn for Cell {
    fn record(&self, value: f64) {
        self.0
            .fetch_add(value.to_bits() & 1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Recorder {
    fn cell(&self, key: &metrics::Key) -> std::sync::Arc<Cell> {
        if let Some(cell) = self.counters.read().unwrap().get(key) {
            return std::sync::Arc::new(Cell(cell.clone()));
        }
        let mut counters = self.counters.write().unwrap();
        std::sync::Arc::new(Cell(counters.entry(key.clone()).or_default().clone()))
    }

    fn on(&self) -> bool {
        self.on.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl metrics::Recorder for &'static Recorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        if !self.on() {
            return metrics::Counter::noop();
        }
        metrics::Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        key: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        if !self.on() {
            return metrics::Histogram::noop();
        }
        metrics::Histogram::from_arc(self.cell(key))
    }
}

/// Median per-call time of `calls` sequential calls to loopback, with an event subscriber and
/// a metrics recorder against without them, in `rounds` alternating rounds.
async fn observed(
    port: u16,
    rounds: usize,
    calls: usize,
    recorder: &'static Recorder,
) -> (Duration, Duration, f64) {
    let plain = client(port, Duration::from_secs(3600)).await;
    let (sender, mut receiver) = oauth_runtime::events::channel(1024);
    tokio::spawn(async move { while receiver.recv().await.is_some() {} });
    let watched = common::client_with_events(port, sender).await;
    let context = context();
    let (mut with, mut without, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut pair = [Duration::ZERO; 2];
        for side in [round % 2, 1 - round % 2] {
            recorder
                .on
                .store(side == 0, std::sync::atomic::Ordering::Relaxed);
            let bench = if side == 0 { &watched } else { &plain };
            let started = Instant::now();
            for _ in 0..calls {
                let response = bench.get_ticket(&context).send().await.unwrap();
                std::hint::black_box(response.into_bytes());
            }
            pair[side] = started.elapsed() / calls as u32;
        }
        with.push(pair[0]);
        without.push(pair[1]);
        ratios.push(pair[0].as_secs_f64() / pair[1].as_secs_f64());
    }
    with.sort();
    without.sort();
    ratios.sort_by(f64::total_cmp);
    (with[rounds / 2], without[rounds / 2], ratios[rounds / 2])
}

fn main() {
    let quick = common::quick();
    let recorder: &'static Recorder = Box::leak(Box::default());
    metrics::set_global_recorder(recorder).expect("the bench's only recorder");
    let runtime = common::two_workers();
    let port = runtime.block_on(server());
    let (rounds, calls) = if quick { (2, 20) } else { (30, 1000) };
    let (ours, theirs, ratio) = runtime.block_on(interleaved(port, rounds, calls));
    println!(
        "one call to a loopback server, median of {rounds} interleaved rounds of {calls}: \
         template {ours:.2?}, by hand {theirs:.2?}, ratio {ratio:.3}"
    );
    let (with, without, ratio) = runtime.block_on(observed(port, rounds, calls, recorder));
    println!(
        "the same call with an event subscriber and a metrics recorder: {with:.2?}, \
         without: {without:.2?}, ratio {ratio:.3}"
    );
    println!();
    #[cfg(feature = "postgres")]
    if let Ok(url) = std::env::var("OAUTH_TEST_POSTGRES") {
        let duration = if quick {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(3)
        };
        let (memory, postgres) = runtime.block_on(async {
            let memory = reads_per_second(
                std::sync::Arc::new(oauth_runtime::MemoryStore::new()),
                duration,
            )
            .await;
            // The server is on loopback: plain, so the figure is the store's, not TLS's.
            let plain = format!(
                "{url}{}sslmode=disable",
                if url.contains('?') { '&' } else { '?' }
            );
            let store = oauth_runtime::store::PostgresStore::connect(&plain)
                .await
                .unwrap();
            let postgres = reads_per_second(std::sync::Arc::new(store), duration).await;
            (memory, postgres)
        });
        println!(
            "token reads per second, 64 concurrent readers: MemoryStore {memory:.0}, PostgresStore {postgres:.0} (one connection, pipelined)"
        );
        println!();
    }
    println!("{CALLS} concurrent calls to a loopback server, median of {ROUNDS} rounds each");
    println!(
        "{:<28} {:>10} {:>10} {:>10} {:>10}",
        "", "p50", "p90", "p99", "max"
    );
    for (label, expired) in [("valid token", false), ("expired token (1 refresh)", true)] {
        let mut rows = Vec::new();
        for _ in 0..if quick { 1 } else { ROUNDS } {
            let latencies = runtime.block_on(round(expired, port));
            rows.push([0.5, 0.9, 0.99, 1.0].map(|p| percentile(&latencies, p)));
        }
        rows.sort_by_key(|r| r[0]);
        let row = rows[rows.len() / 2];
        println!(
            "{label:<28} {:>10.2?} {:>10.2?} {:>10.2?} {:>10.2?}",
            row[0], row[1], row[2], row[3]
        );
    }
}
