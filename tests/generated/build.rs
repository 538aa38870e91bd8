//! Turns the generated-code snapshots of `oauth-codegen` into Rust files this crate includes, so
//! the exact code users get is compiled under `#![deny(warnings)]` and linted by clippy.

use std::path::Path;

fn main() {
    let snapshots = Path::new("../../oauth-codegen/tests/snapshots");
    println!("cargo::rerun-if-changed={}", snapshots.display());
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    for entry in std::fs::read_dir(snapshots).expect("the snapshots folder exists") {
        let path = entry.expect("a readable folder").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let Some(stem) = name
            .strip_prefix("generate__")
            .and_then(|n| n.strip_suffix(".snap"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("a readable snapshot");
        // An insta snapshot is a `---` header block, then the content.
        let code = text.splitn(3, "---\n").nth(2).expect("an insta snapshot");
        std::fs::write(Path::new(&out).join(format!("{stem}.rs")), code)
            .expect("OUT_DIR is writable");
    }
}
