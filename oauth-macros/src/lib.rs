//! The `#[templates]` attribute macro. Use it through `oauth_runtime::templates`.
//!
//! Not written yet: the macro arrives with the code generation issue. Everything it will do
//! lives in `oauth-codegen`, so this crate stays a thin shim.
