//! Expansion time of the macro's work for 100 templates: read the config, validate it, generate
//! the client's tokens. Run: `cargo bench -p oauth-codegen --bench expand`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use oauth_codegen::{AppInput, ClientSpec, InputFile, check, generate};
use quote::quote;

mod common;
use common::{OAUTH, generated_requests};

fn bench(c: &mut Criterion) {
    let requests = generated_requests();
    let spec = ClientSpec {
        name: "Helpdesk".to_string(),
        vis: quote!(pub),
        attrs: quote!(),
        runtime: quote!(::oauth_runtime),
        requests_label: "config/requests.json".to_string(),
        tracked_files: Vec::new(),
    };
    c.bench_function("expand_100_templates", |b| {
        b.iter(|| {
            let app = check(AppInput {
                requests: Some(InputFile::in_memory(
                    "config/requests.json",
                    requests.clone(),
                )),
                oauth: Some(InputFile::in_memory("config/oauth_config.json", OAUTH)),
                ..AppInput::default()
            });
            // The compiler receives the tokens as text-like token trees; stringify to count it all.
            black_box(generate(&app.config, &spec).to_string())
        })
    });
    let app = check(AppInput {
        requests: Some(InputFile::in_memory(
            "config/requests.json",
            requests.clone(),
        )),
        oauth: Some(InputFile::in_memory("config/oauth_config.json", OAUTH)),
        ..AppInput::default()
    });
    c.bench_function("generate_only_100_templates", |b| {
        b.iter(|| black_box(generate(&app.config, &spec)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
