//! The `#[templates(…)]` attribute as a plain function: its arguments (`args`), the files they
//! name (`files`), then diagnostics and the client. The proc-macro crate only forwards to
//! [`expand_attribute`].

use std::path::Path;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};

use crate::app::check;
use crate::codegen::{ClientSpec, generate};
use crate::diagnostic::{Diagnostic, Severity, render};
use crate::source::SourceMap;

mod args;
mod files;

use args::FileArg;

/// Expands `#[templates(args)] item`. `manifest_dir` is the user crate's `CARGO_MANIFEST_DIR`.
/// Every problem becomes a `compile_error!` at the place it concerns; nothing panics. The client
/// is emitted even when there are errors (a skeleton for a config with errors), so one mistake
/// gives one error, not one per use of the client.
pub fn expand_attribute(
    args: TokenStream,
    item: TokenStream,
    manifest_dir: Option<&Path>,
) -> TokenStream {
    let item: syn::ItemStruct = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new(
                Span::call_site(),
                "`#[templates]` goes on a unit struct, such as `pub struct Helpdesk;`",
            )
            .to_compile_error();
            return quote!(#item #error);
        }
    };
    let mut errors = Vec::new();
    if !matches!(item.fields, syn::Fields::Unit) || !item.generics.params.is_empty() {
        errors.push(
            syn::Error::new(
                item.ident.span(),
                "`#[templates]` goes on a unit struct without generics, such as `pub struct Helpdesk;`: the macro adds the fields",
            )
            .to_compile_error(),
        );
    }
    let (args, mut arg_errors) = args::parse(args);
    let requests_span = args.requests().map(|f| f.span);
    if requests_span.is_none() && arg_errors.is_empty() {
        arg_errors.push(
            syn::Error::new(
                Span::call_site(),
                "`#[templates]` needs the request templates: `#[templates(requests = \"config/requests.json\")]`",
            )
            .to_compile_error(),
        );
    }
    errors.append(&mut arg_errors);

    let read = files::read(&args.files, manifest_dir);
    errors.extend(read.errors);
    let app = check(read.input);
    for diagnostic in app.diagnostics.iter() {
        let span = file_span(diagnostic, &app.sources, &args.files)
            .or(requests_span)
            .unwrap_or_else(Span::call_site);
        errors.push(diagnostic_tokens(diagnostic, &app.sources, span));
    }

    let spec = ClientSpec {
        name: item.ident.to_string(),
        vis: item.vis.to_token_stream(),
        attrs: item.attrs.iter().map(ToTokens::to_token_stream).collect(),
        runtime: args.runtime.clone(),
        requests_label: args.requests().map_or_else(
            || "config/requests.json".to_string(),
            |f| f.relative.clone(),
        ),
        tracked_files: read.tracked,
    };
    let client = generate(&app.config, &spec);
    quote!(#client #(#errors)*)
}

/// The span of the attribute argument naming the file a diagnostic points into.
fn file_span(diagnostic: &Diagnostic, sources: &SourceMap, files: &[FileArg]) -> Option<Span> {
    let span = diagnostic.span.as_ref()?;
    let name = sources.file(span.file).name();
    files.iter().find(|f| f.relative == name).map(|f| f.span)
}

/// An error becomes `compile_error!`; a warning becomes a deprecation warning, the one kind of
/// warning a macro can raise on stable Rust.
fn diagnostic_tokens(diagnostic: &Diagnostic, sources: &SourceMap, span: Span) -> TokenStream {
    let rendered = render(diagnostic, sources, false);
    match diagnostic.severity {
        Severity::Error => {
            let text = rendered.strip_prefix("error: ").unwrap_or(&rendered);
            quote_spanned!(span=> ::core::compile_error!(#text);)
        }
        Severity::Warning => {
            let text = rendered.strip_prefix("warning: ").unwrap_or(&rendered);
            let text = format!("\n{text}");
            quote_spanned! {span=>
                const _: () = {
                    #[deprecated(note = #text)]
                    struct ConfigWarning;
                    let _ = ConfigWarning;
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: TokenStream, item: TokenStream) -> String {
        expand_attribute(args, item, Some(Path::new("/nonexistent"))).to_string()
    }

    #[test]
    fn unknown_keys_get_did_you_mean() {
        let out = expand(
            quote!(request = "config/requests.json"),
            quote!(
                pub struct C;
            ),
        );
        assert!(
            out.contains("Unknown field: `request`. Did you mean `requests`?"),
            "{out}"
        );
    }

    #[test]
    fn only_unit_structs() {
        let out = expand(
            quote!(requests = "r.json"),
            quote!(
                pub struct C {
                    x: u8,
                }
            ),
        );
        assert!(
            out.contains("goes on a unit struct without generics"),
            "{out}"
        );
        let out = expand(
            quote!(requests = "r.json"),
            quote!(
                fn f() {}
            ),
        );
        assert!(out.contains("goes on a unit struct, such as"), "{out}");
    }

    #[test]
    fn missing_and_absolute_files_say_where_they_looked() {
        let out = expand(
            quote!(requests = "config/requests.json"),
            quote!(
                pub struct C;
            ),
        );
        assert!(
            out.contains(
                "cannot find `config/requests.json`: looked at /nonexistent/config/requests.json"
            ),
            "{out}"
        );
        let out = expand(
            quote!(requests = "/etc/requests.json"),
            quote!(
                pub struct C;
            ),
        );
        assert!(
            out.contains("is an absolute path; paths are relative to the crate's folder"),
            "{out}"
        );
    }
}
