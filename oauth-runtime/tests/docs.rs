//! The crate docs' first example shows the config it compiles: the JSON in the docs is the
//! file the doctest's macro reads.

#[test]
fn the_crate_docs_show_the_config_their_example_compiles() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let docs: Vec<&str> = lib
        .lines()
        .take_while(|line| line.starts_with("//!"))
        .map(|line| {
            line.trim_start_matches("//!")
                .strip_prefix(' ')
                .unwrap_or("")
        })
        .collect();
    let start = docs.iter().position(|l| *l == "```json").unwrap() + 1;
    let end = start + docs[start..].iter().position(|l| *l == "```").unwrap();
    let shown: serde_json::Value = serde_json::from_str(&docs[start..end].join("\n")).unwrap();
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("config/requests.json")).unwrap())
            .unwrap();
    assert_eq!(shown, file);
    let example_start = docs.iter().position(|l| *l == "```no_run").unwrap();
    assert!(
        docs[example_start + 1].contains(r#"requests = "config/requests.json""#),
        "the example reads the file shown"
    );
}
