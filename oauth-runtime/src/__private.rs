//! Names that generated code uses. Not a public API: it changes with the macro.

pub use crate::request::{
    Compose, FixedPart, Installation, MethodKind, PathPart, PathText, TemplateInfo,
};
pub use http::HeaderName;
pub use secrecy::SecretString;

use crate::runtime::Runtime;

// Here, where the runtime meets the request: `request` reads what a runtime's calls share,
// and does not import `runtime`. Beside the generated code's other names, as the generated
// code is what calls it.
impl<'c> Compose<'c> {
    /// Starts a request for `template` on `runtime`, sending its installation's tokens.
    #[inline(always)]
    pub fn new(runtime: &Runtime, template: &'static TemplateInfo) -> Self {
        Compose::on(&runtime.shared, &runtime.installation, template)
    }
}

/// Concatenates the terms of a placeholder (`a + ':' + b`).
pub fn concat(parts: &[&str]) -> String {
    parts.concat()
}

/// `encode(…)`: Base64 (standard alphabet, padded) of the UTF-8 text.
pub fn base64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The text of a secure value, for the one place it is sent.
pub fn expose(secret: &SecretString) -> &str {
    secrecy::ExposeSecret::expose_secret(secret)
}

/// The text of a non-string installation parameter (number, checkbox).
pub fn display(value: &impl std::fmt::Display) -> String {
    value.to_string()
}

/// The text of a multiselect installation parameter: its values joined with `,`.
pub fn join(values: &[String]) -> String {
    values.join(",")
}

/// `value || 'default'`: the default when the value is absent or empty (as JavaScript's `||`).
pub fn or<'a>(value: Option<&'a str>, default: &'static str) -> &'a str {
    match value {
        Some(v) if !v.is_empty() => v,
        _ => default,
    }
}

/// An optional value that is absent when empty (`options.security.ca`).
pub fn present(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}
