//! The `#[templates]` attribute macro. Use it as `oauth_runtime::templates`; all of its logic
//! is `oauth_codegen::expand_attribute`, an ordinary, tested function.

use proc_macro::TokenStream;

/// Generates a typed client from FDK request templates; see the `oauth-runtime` crate.
#[proc_macro_attribute]
pub fn templates(args: TokenStream, item: TokenStream) -> TokenStream {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(std::path::PathBuf::from);
    oauth_codegen::expand_attribute(args.into(), item.into(), manifest_dir.as_deref()).into()
}
