//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The FDK corpus: `FDK_CORPUS`, or `../shared/fdk-corpus` beside the workspace. When it is
/// missing the caller's test says it did not run, or fails if `FDK_CORPUS_REQUIRED` is set.
pub(crate) fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FDK_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fdk-corpus"));
    if dir.join("INDEX.md").is_file() {
        return Some(dir);
    }
    let message = format!(
        "the FDK corpus was not found at {} (set FDK_CORPUS): the corpus tests did NOT run",
        dir.display()
    );
    assert!(
        std::env::var_os("FDK_CORPUS_REQUIRED").is_none(),
        "{message}"
    );
    eprintln!("{message}");
    None
}
