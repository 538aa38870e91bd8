//! The attribute's arguments, read with `darling`: every unknown key (with a did-you-mean),
//! duplicate key and value of the wrong type is reported at once.

use darling::FromMeta;
use darling::ast::NestedMeta;
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};

/// `#[templates(requests = "…", oauth = "…", iparams = "…", manifest = "…", crate = path)]`.
#[derive(Debug, Default, FromMeta)]
struct Keys {
    requests: Option<syn::LitStr>,
    oauth: Option<syn::LitStr>,
    iparams: Option<syn::LitStr>,
    manifest: Option<syn::LitStr>,
    /// The runtime crate's path, for a crate that renames it.
    #[darling(rename = "crate")]
    runtime: Option<syn::Path>,
}

/// Which config file an argument names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Requests,
    OAuth,
    Iparams,
    Manifest,
}

/// One config file named in the attribute.
pub(crate) struct FileArg {
    pub(crate) kind: FileKind,
    /// As written, relative to the crate's folder.
    pub(crate) relative: String,
    /// The string literal, where errors about the file point.
    pub(crate) span: Span,
}

/// The arguments, read.
pub(crate) struct Args {
    pub(crate) files: Vec<FileArg>,
    /// The path to the runtime crate (`::oauth_runtime` unless `crate = …` says otherwise).
    pub(crate) runtime: TokenStream,
}

impl Args {
    /// The `requests` file.
    pub(crate) fn requests(&self) -> Option<&FileArg> {
        self.files.iter().find(|f| f.kind == FileKind::Requests)
    }
}

/// The arguments of `#[templates(args)]`, and the errors found in them, as tokens: what could
/// be read is kept, so the files named correctly are still checked.
pub(crate) fn parse(args: TokenStream) -> (Args, Vec<TokenStream>) {
    let mut errors = Vec::new();
    let keys = match NestedMeta::parse_meta_list(args) {
        Ok(list) => Keys::from_list(&list).unwrap_or_else(|error| {
            errors.push(error.write_errors());
            // The keys read anyway: darling reports every error, and a second pass keeps
            // the valid ones.
            valid_keys(&list)
        }),
        Err(error) => {
            errors.push(error.to_compile_error());
            Keys::default()
        }
    };
    let files = [
        (FileKind::Requests, keys.requests),
        (FileKind::OAuth, keys.oauth),
        (FileKind::Iparams, keys.iparams),
        (FileKind::Manifest, keys.manifest),
    ]
    .into_iter()
    .filter_map(|(kind, literal)| {
        literal.map(|literal| FileArg {
            kind,
            relative: literal.value(),
            span: literal.span(),
        })
    })
    .collect();
    let runtime = keys
        .runtime
        .map_or_else(|| quote!(::oauth_runtime), |path| path.to_token_stream());
    (Args { files, runtime }, errors)
}

/// The keys of `list` that read alone without an error.
fn valid_keys(list: &[NestedMeta]) -> Keys {
    let mut keys = Keys::default();
    for item in list {
        if let Ok(one) = Keys::from_list(std::slice::from_ref(item)) {
            keys.requests = keys.requests.or(one.requests);
            keys.oauth = keys.oauth.or(one.oauth);
            keys.iparams = keys.iparams.or(one.iparams);
            keys.manifest = keys.manifest.or(one.manifest);
            keys.runtime = keys.runtime.or(one.runtime);
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(args: TokenStream) -> String {
        let (_, errors) = parse(args);
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_bad_key_is_reported_at_once_with_did_you_mean() {
        let text = errors(quote!(request = "a.json", oauht = "b.json", iparams = 3));
        assert!(
            text.contains("Unknown field: `request`. Did you mean `requests`?"),
            "{text}"
        );
        assert!(
            text.contains("Unknown field: `oauht`. Did you mean `oauth`?"),
            "{text}"
        );
        assert!(text.contains("Unexpected type `int`"), "{text}");
    }

    #[test]
    fn a_duplicate_key_is_an_error_and_the_valid_keys_are_kept() {
        let (args, errors) = parse(quote!(
            requests = "r.json",
            requests = "s.json",
            iparams = "i.json",
            unknown = 1
        ));
        let text: String = errors.iter().map(ToString::to_string).collect();
        assert!(text.contains("Duplicate field `requests`"), "{text}");
        let files: Vec<(FileKind, &str)> = args
            .files
            .iter()
            .map(|f| (f.kind, f.relative.as_str()))
            .collect();
        assert_eq!(
            files,
            [
                (FileKind::Requests, "r.json"),
                (FileKind::Iparams, "i.json")
            ]
        );
    }

    #[test]
    fn the_runtime_path_is_a_path_or_a_string() {
        for args in [quote!(crate = ::my_rt), quote!(crate = "::my_rt")] {
            let (args, errors) = parse(args);
            assert!(errors.is_empty());
            assert_eq!(args.runtime.to_string(), ":: my_rt");
        }
    }
}
