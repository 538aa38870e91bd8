//! The library behind `#[oauth_runtime::templates]` and the `oauth-templates` CLI: it reads an
//! FDK app's `config/requests.json`, `config/oauth_config.json`, `config/iparams.json` and
//! `manifest.json`, keeps the place of every value, and reports every mistake as a located,
//! rustc-style diagnostic.
//!
//! ```
//! use oauth_codegen::{AppInput, InputFile, check};
//!
//! let input = AppInput {
//!     requests: Some(InputFile::in_memory(
//!         "config/requests.json",
//!         r#"{ "getTicket": { "schema": { "method": "get", "host": "example.com" } } }"#,
//!     )),
//!     ..AppInput::default()
//! };
//! let app = check(input);
//! let error = &app.diagnostics[0];
//! assert_eq!(error.message, "unsupported method `get`");
//! assert_eq!(error.location(&app.sources).as_deref(), Some("config/requests.json:1:40"));
//! assert_eq!(error.help.as_deref(), Some("methods are written in upper case: `GET`"));
//! ```

// A panic here is a broken diagnostic for the macro's user.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
// Diagnostics are the error path of every parsing step; boxing them would cost the common path
// an allocation per error for nothing measurable.
#![allow(clippy::result_large_err)]

mod app;
mod attribute;
mod codegen;
mod diagnostic;
#[cfg(feature = "pretty")]
mod format;
pub mod ident;
pub mod json;
mod load;
pub mod model;
pub mod placeholder;
pub mod plan;
mod source;
mod suggest;
mod validate;

pub use app::{
    AppInput, CheckedApp, IPARAMS_PATH, InputFile, MANIFEST_PATH, OAUTH_PATH, REQUESTS_PATH,
    ReadError, check,
};
pub use attribute::expand_attribute;
pub use codegen::{ClientSpec, generate, generate_plan};
pub use diagnostic::{Diagnostic, Diagnostics, Severity, render};
#[cfg(feature = "pretty")]
pub use format::format_generated;
pub use placeholder::render_expr;
pub use source::{FileId, SourceFile, SourceMap, Span, Spanned};
