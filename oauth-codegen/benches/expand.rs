//! Expansion time of the macro's work for 100 templates: read the config, validate it, generate
//! the client's tokens. Run: `cargo bench -p oauth-codegen --bench expand`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use oauth_codegen::generate;

mod common;
use common::{checked_app, generated_requests, spec};

fn bench(c: &mut Criterion) {
    let requests = generated_requests();
    let spec = spec();
    c.bench_function("expand_100_templates", |b| {
        b.iter(|| {
            let app = checked_app(&requests);
            // The compiler receives the tokens as token trees; stringify to count it all.
            black_box(generate(&app.config, &spec).to_string())
        })
    });
    let app = checked_app(&requests);
    c.bench_function("generate_only_100_templates", |b| {
        b.iter(|| black_box(generate(&app.config, &spec)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
