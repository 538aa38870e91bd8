//! Throughput and latency under concurrency: the generated client (token from a `MemoryStore`
//! through the refreshing manager, valid, no refresh) against the same request built by hand
//! on one `reqwest::Client` (a pre-parsed base URL, segments and pairs appended, a constant
//! header name, `.bytes().await`), to a keep-alive loopback server, at 1, 64 and 1000 calls in
//! flight. Rounds alternate which side goes first; the figures are medians over rounds.
//!
//! Run: `cargo bench -p oauth-runtime --bench load`. `LOAD_ROUNDS=N` sets the rounds,
//! `LOAD_LEVELS=64,1000` the levels; `LOAD_PROFILE=template|hand` (with `LOAD_IN_FLIGHT`,
//! `LOAD_PROFILE_ROUNDS`) runs one side alone for a profiler (`perf record -e cpu-clock`;
//! callgrind stops at rustix's vDSO setup).

use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::{Bench, TOKEN, by_hand, client, context, server};

/// Calls in flight, and how many calls one round makes at that level.
const LEVELS: [(usize, usize); 3] = [(1, 2000), (64, 6400), (1000, 4000)];
const ROUNDS: usize = 20;

/// One side of the comparison.
#[derive(Clone)]
enum Side {
    Template(Bench),
    ByHand(reqwest::Client, url::Url),
}

impl Side {
    async fn call(&self) {
        match self {
            Side::Template(bench) => {
                let response = bench.get_ticket(&context()).send().await.unwrap();
                std::hint::black_box(response.into_bytes());
            }
            Side::ByHand(http, base) => {
                let response = http
                    .execute(by_hand(base, TOKEN, &context()))
                    .await
                    .unwrap();
                assert!(response.status().is_success());
                std::hint::black_box(response.bytes().await.unwrap());
            }
        }
    }
}

/// What one round of one side measured.
struct Measured {
    calls_per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// `calls` calls, `in_flight` at a time (each worker makes its share one after another).
async fn measure(side: &Side, in_flight: usize, calls: usize) -> Measured {
    let per_worker = calls / in_flight;
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let side = side.clone();
        workers.spawn(async move {
            let mut latencies = Vec::with_capacity(per_worker);
            for _ in 0..per_worker {
                let call = Instant::now();
                side.call().await;
                latencies.push(call.elapsed());
            }
            latencies
        });
    }
    let mut latencies = Vec::with_capacity(calls);
    while let Some(done) = workers.join_next().await {
        latencies.extend(done.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    Measured {
        calls_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.5),
        p99: at(0.99),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let quick = common::quick();
    let runtime = common::two_workers();
    let port = runtime.block_on(server());
    let template = Side::Template(runtime.block_on(client(port, Duration::from_secs(3600))));
    let base = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let by_hand = Side::ByHand(reqwest::Client::new(), base);
    let sides = Arc::new([template, by_hand]);
    // For a profiler: `LOAD_PROFILE=template` (or `hand`) runs that side alone, 80,000 calls,
    // `LOAD_IN_FLIGHT` (1000) at a time.
    if let Ok(only) = std::env::var("LOAD_PROFILE") {
        let side = &sides[usize::from(only == "hand")];
        let in_flight = std::env::var("LOAD_IN_FLIGHT")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1000);
        let rounds = std::env::var("LOAD_PROFILE_ROUNDS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(20);
        for _ in 0..rounds {
            runtime.block_on(measure(side, in_flight, 4000));
        }
        return;
    }
    let rounds = if quick {
        2
    } else {
        std::env::var("LOAD_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(ROUNDS)
    };
    println!(
        "{:>9} | {:>12} {:>12} {:>7} | {:>9} {:>9} {:>7} | {:>9} {:>9} {:>7}",
        "in flight",
        "calls/s tmpl",
        "calls/s hand",
        "ratio",
        "p50 tmpl",
        "p50 hand",
        "ratio",
        "p99 tmpl",
        "p99 hand",
        "ratio"
    );
    // `LOAD_LEVELS=64,1000` measures those levels only.
    let only: Option<Vec<usize>> = std::env::var("LOAD_LEVELS").ok().map(|levels| {
        levels
            .split(',')
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    });
    for (in_flight, calls) in LEVELS {
        if only.as_ref().is_some_and(|only| !only.contains(&in_flight)) {
            continue;
        }
        let calls = if quick { in_flight.max(20) } else { calls };
        // Warm both sides' connection pools to this level first.
        for side in sides.iter() {
            runtime.block_on(measure(side, in_flight, in_flight));
        }
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for round in 0..rounds {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for index in order {
                let measured = runtime.block_on(measure(&sides[index], in_flight, calls));
                if index == 0 {
                    ours.push(measured);
                } else {
                    theirs.push(measured);
                }
            }
        }
        let ratio = |f: &dyn Fn(&Measured) -> f64| {
            median(ours.iter().zip(&theirs).map(|(a, b)| f(a) / f(b)).collect())
        };
        let mid =
            |side: &[Measured], f: &dyn Fn(&Measured) -> f64| median(side.iter().map(f).collect());
        let throughput = |m: &Measured| m.calls_per_second;
        let p50 = |m: &Measured| m.p50.as_secs_f64() * 1e6;
        let p99 = |m: &Measured| m.p99.as_secs_f64() * 1e6;
        println!(
            "{in_flight:>9} | {:>12.0} {:>12.0} {:>6.3}x | {:>7.0}µs {:>7.0}µs {:>6.3}x | {:>7.0}µs {:>7.0}µs {:>6.3}x",
            mid(&ours, &throughput),
            mid(&theirs, &throughput),
            ratio(&throughput),
            mid(&ours, &p50),
            mid(&theirs, &p50),
            ratio(&p50),
            mid(&ours, &p99),
            mid(&theirs, &p99),
            ratio(&p99),
        );
    }
}
