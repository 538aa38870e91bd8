//! One compile-fail case per kind of diagnostic the macro gives, with its exact output.
//!
//! trybuild builds the cases in `target/tests/trybuild/oauth-runtime`, which is the
//! `CARGO_MANIFEST_DIR` the macro sees: the cases name their config files relative to it.

#[test]
fn diagnostics() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
