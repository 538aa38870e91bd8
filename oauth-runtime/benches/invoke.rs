//! The invoke path against the same request written by hand on reqwest, side by side:
//! (1) building the request (3 placeholders + the token from a store), (2) a whole call to a
//! loopback server. Run: `cargo bench -p oauth-runtime --bench invoke`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use common::{TOKEN, by_hand, client, client_with_token, context, server};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let port = runtime.block_on(server());
    let bench = runtime.block_on(client(port, Duration::from_secs(3600)));
    let context = context();
    let base = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();

    // Both sides must build the same request.
    let ours = runtime
        .block_on(bench.get_ticket(&context).build())
        .unwrap();
    let theirs = by_hand(&base, TOKEN, &context);
    assert_eq!(ours.url(), theirs.url());
    assert_eq!(
        ours.headers()["authorization"],
        theirs.headers()["authorization"]
    );

    let mut build = c.benchmark_group("build_request");
    build.bench_function("by_hand", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(by_hand(&base, TOKEN, black_box(&context))) })
    });
    build.bench_function("template", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(bench.get_ticket(black_box(&context)).build().await) })
    });
    let in_hand = client_with_token(port);
    build.bench_function("template_token_in_hand", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(in_hand.get_ticket(black_box(&context)).build().await) })
    });
    build.finish();

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut invoke = c.benchmark_group("invoke_loopback");
    invoke.measurement_time(Duration::from_secs(8));
    invoke.bench_function("by_hand", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = by_hand(&base, TOKEN, &context);
            let response = http.execute(request).await.unwrap();
            assert!(response.status().is_success());
            black_box(response.bytes().await.unwrap())
        })
    });
    invoke.bench_function("template", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = bench.get_ticket(&context).send().await.unwrap();
            black_box(response.bytes())
        })
    });
    invoke.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
