//! The `#[templates(…)]` attribute as a plain function: arguments, files, diagnostics, output.
//! The proc-macro crate only forwards to [`expand_attribute`].

use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};

use crate::app::{AppInput, InputFile, check};
use crate::codegen::{ClientSpec, generate};
use crate::diagnostic::{Diagnostic, Severity, render};
use crate::source::SourceMap;
use crate::suggest;

const KEYS: &[&str] = &["requests", "oauth", "iparams", "manifest", "crate"];

/// One config file named in the attribute.
struct FileArg {
    key: &'static str,
    relative: String,
    span: Span,
}

/// Expands `#[templates(args)] item`. `manifest_dir` is the user crate's `CARGO_MANIFEST_DIR`.
/// Every problem becomes a `compile_error!` at the place it concerns; nothing panics.
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
    let mut files: Vec<FileArg> = Vec::new();
    let mut runtime = quote!(::oauth_runtime);
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match key.as_str() {
            "requests" | "oauth" | "iparams" | "manifest" => {
                let literal: syn::LitStr = meta.value()?.parse()?;
                if files.iter().any(|f| f.key == key) {
                    return Err(meta.error(format!("`{key}` is given twice")));
                }
                let key = KEYS
                    .iter()
                    .find(|k| **k == key)
                    .copied()
                    .unwrap_or("requests");
                files.push(FileArg {
                    key,
                    relative: literal.value(),
                    span: literal.span(),
                });
                Ok(())
            }
            "crate" => {
                let value = meta.value()?;
                runtime = if value.peek(syn::LitStr) {
                    let literal: syn::LitStr = value.parse()?;
                    literal.parse::<syn::Path>()?.to_token_stream()
                } else {
                    value.parse::<syn::Path>()?.to_token_stream()
                };
                Ok(())
            }
            _ => {
                let help = suggest::help(&key, KEYS.iter().copied()).unwrap_or_else(|| {
                    "the keys are `requests`, `oauth`, `iparams`, `manifest` and `crate`"
                        .to_string()
                });
                Err(meta.error(format!("unknown key `{key}` in `#[templates]`; {help}")))
            }
        }
    });
    if let Err(error) = syn::parse::Parser::parse2(parser, args) {
        errors.push(error.to_compile_error());
    }
    let requests_span = files.iter().find(|f| f.key == "requests").map(|f| f.span);
    if requests_span.is_none() && errors.is_empty() {
        errors.push(
            syn::Error::new(
                Span::call_site(),
                "`#[templates]` needs the request templates: `#[templates(requests = \"config/requests.json\")]`",
            )
            .to_compile_error(),
        );
    }

    let mut input = AppInput::default();
    let mut tracked = Vec::new();
    for file in &files {
        match read_file(file, manifest_dir) {
            Ok((path, text)) => {
                tracked.push(path.display().to_string());
                let input_file = InputFile {
                    name: file.relative.clone(),
                    path,
                    text,
                };
                match file.key {
                    "requests" => input.requests = Some(input_file),
                    "oauth" => input.oauth = Some(input_file),
                    "iparams" => input.iparams = Some(input_file),
                    _ => input.manifest = Some(input_file),
                }
            }
            Err(message) => {
                errors.push(quote_spanned!(file.span=> ::core::compile_error!(#message);))
            }
        }
    }
    let app = check(input);
    for diagnostic in app.diagnostics.iter() {
        let span = file_span(diagnostic, &app.sources, &files)
            .or(requests_span)
            .unwrap_or_else(Span::call_site);
        errors.push(diagnostic_tokens(diagnostic, &app.sources, span));
    }

    let spec = ClientSpec {
        name: item.ident.to_string(),
        vis: item.vis.to_token_stream(),
        attrs: item.attrs.iter().map(ToTokens::to_token_stream).collect(),
        runtime,
        requests_label: files.iter().find(|f| f.key == "requests").map_or_else(
            || "config/requests.json".to_string(),
            |f| f.relative.clone(),
        ),
        tracked_files: tracked,
    };
    let client = generate(&app.config, &spec);
    quote!(#client #(#errors)*)
}

fn read_file(file: &FileArg, manifest_dir: Option<&Path>) -> Result<(PathBuf, String), String> {
    let relative = Path::new(&file.relative);
    if relative.is_absolute() {
        return Err(format!(
            "`{}` is an absolute path; paths are relative to the crate's folder (CARGO_MANIFEST_DIR), as in `config/requests.json`",
            file.relative
        ));
    }
    let Some(dir) = manifest_dir else {
        return Err("CARGO_MANIFEST_DIR is not set: build the crate with cargo".to_string());
    };
    let path = dir.join(relative);
    match InputFile::read(&path, file.relative.clone()) {
        Ok(Some(input)) => Ok((path, input.text)),
        Ok(None) => Err(format!(
            "cannot find `{}`: looked at {}",
            file.relative,
            path.display()
        )),
        Err(error) => Err(error.to_string()),
    }
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
            out.contains("unknown key `request` in `#[templates]`; did you mean `requests`?"),
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
