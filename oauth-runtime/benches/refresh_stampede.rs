//! (3) Latency of 1000 concurrent calls across a refresh (the token expired: one token request,
//! 20 ms at the endpoint, while 1000 callers wait), against 1000 concurrent calls on a valid
//! token, side by side. Prints its figures. Run: `cargo bench -p oauth-runtime --bench refresh_stampede`.

use std::time::{Duration, Instant};

mod common;
use common::{client, context, server};

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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    // `cargo test --benches` runs this binary with `--bench` absent: do one small round only.
    let quick = !std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let port = runtime.block_on(server());
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
