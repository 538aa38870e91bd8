//! Load + validate time: the largest real config in the FDK corpus, and a generated config of
//! 100 templates (FDK's maximum). Run: `cargo bench -p oauth-codegen --bench load_validate`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oauth_codegen::{AppInput, InputFile, check};

mod common;
use common::{checked_app, generated_requests};

fn largest_corpus_file() -> Option<(PathBuf, String)> {
    let dir = std::env::var_os("FDK_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fdk-corpus"));
    let entries = std::fs::read_dir(&dir).ok()?;
    let path = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))?;
    let text = std::fs::read_to_string(&path).ok()?;
    Some((path, text))
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("load_validate");
    let generated = generated_requests();
    group.throughput(Throughput::Bytes(generated.len() as u64));
    group.bench_function("generated_100_templates", |b| {
        b.iter(|| {
            let app = checked_app(&generated);
            assert!(!app.diagnostics.has_errors());
            black_box(app)
        })
    });
    match largest_corpus_file() {
        Some((path, text)) => {
            eprintln!(
                "largest corpus file: {} ({} bytes)",
                path.display(),
                text.len()
            );
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_function("largest_corpus_file", |b| {
                b.iter(|| {
                    black_box(check(AppInput {
                        requests: Some(InputFile::in_memory("config/requests.json", text.clone())),
                        ..AppInput::default()
                    }))
                })
            });
        }
        None => eprintln!(
            "FDK corpus not found (set FDK_CORPUS): the largest-corpus-file benchmark did not run"
        ),
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
