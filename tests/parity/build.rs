//! Generates, for every fixture app and every corpus app that checks without errors, the
//! client the macro generates and a `call` function that invokes any of its templates with
//! values given by name, so the test can hold each generated request against the CLI's.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use oauth_codegen::plan::{AppPlan, IparamKind, TemplatePlan};
use oauth_codegen::{AppInput, ClientSpec, InputFile, check, generate_plan};
use quote::quote;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut apps: Vec<(String, AppInput)> = Vec::new();
    let fixtures = ["oauth-codegen/tests/fixtures", "examples"];
    for folder in fixtures {
        let dir = root.join(folder);
        println!("cargo::rerun-if-changed={}", dir.display());
        for entry in sorted(&dir) {
            if entry.join("config").is_dir() {
                let input = AppInput::read_dir(&entry).expect("a readable fixture");
                apps.push((entry.display().to_string(), input));
            }
        }
    }
    for dir in [
        "oauth-runtime/benches",
        "oauth-runtime/tests/engine",
        "tests/renamed",
    ] {
        let dir = root.join(dir);
        // Once a build script names a file to watch, cargo watches only what it names.
        for watched in [dir.join("config"), dir.join("manifest.json")] {
            if watched.exists() {
                println!("cargo::rerun-if-changed={}", watched.display());
            }
        }
        let input = AppInput::read_dir(&dir).expect("a readable fixture");
        apps.push((dir.display().to_string(), input));
    }
    let fixture_count = apps.len();
    println!("cargo::rerun-if-env-changed=FDK_CORPUS");
    let corpus = std::env::var_os("FDK_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/fdk-corpus"));
    let corpus_found = corpus.join("INDEX.md").is_file();
    if corpus_found {
        println!("cargo::rerun-if-changed={}", corpus.display());
        for file in sorted(&corpus) {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if !name.contains("config_requests") || !name.ends_with(".json") {
                continue;
            }
            let mut input = AppInput {
                requests: read(&file, "config/requests.json"),
                ..AppInput::default()
            };
            let oauth = corpus.join(name.replace("config_requests", "config_oauth_config"));
            if oauth.is_file() {
                input.oauth = read(&oauth, "config/oauth_config.json");
            }
            apps.push((file.display().to_string(), input));
        }
    }

    let mut out = String::new();
    let mut table = String::new();
    let mut skipped = 0;
    for (index, (label, input)) in apps.into_iter().enumerate() {
        let files = [
            &input.requests,
            &input.oauth,
            &input.iparams,
            &input.manifest,
        ]
        .map(|f| f.as_ref().map(|f| f.path.display().to_string()));
        let checked = check(input);
        if checked.diagnostics.has_errors() {
            assert!(index >= fixture_count, "the fixture {label} has errors");
            skipped += 1;
            continue;
        }
        let plan = AppPlan::new(&checked.config);
        let module = format!("app_{index}");
        let spec = ClientSpec {
            name: "Client".into(),
            vis: quote!(pub),
            attrs: quote!(),
            runtime: quote!(::oauth_runtime),
            requests_label: "config/requests.json".into(),
            tracked_files: Vec::new(),
        };
        let client = generate_plan(&plan, &spec);
        let call = call_fn(&plan);
        let client_new = client_fn(&plan);
        let _ = writeln!(
            out,
            "pub mod {module} {{ #![allow(warnings, clippy::all)] use super::*; {client} {call} {client_new} }}"
        );
        let [requests, oauth, iparams, manifest] = files.map(|f| format!("{f:?}"));
        let _ = writeln!(
            table,
            "App {{ label: {label:?}, files: [{requests}, {oauth}, {iparams}, {manifest}], call: {module}::call }},"
        );
    }
    let _ = writeln!(
        out,
        "/// The apps compared.\npub const APPS: &[App] = &[{table}];\n/// Whether the corpus was found.\npub const CORPUS_FOUND: bool = {corpus_found};\n/// Corpus apps left out for their config errors.\npub const SKIPPED: usize = {skipped};"
    );
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(dest.join("apps.rs"), out).expect("OUT_DIR is writable");
}

fn sorted(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

fn read(path: &Path, name: &str) -> Option<InputFile> {
    InputFile::read(path, name).ok().flatten()
}

/// `call(client, template, given, user)`: the template's generated method, its context made
/// from `given`.
fn call_fn(plan: &AppPlan) -> proc_macro2::TokenStream {
    let arms = plan.templates.iter().map(|template| {
        let name = &template.name;
        let method = quote::format_ident!("{}", template.method_name);
        let mut args = Vec::new();
        if !template.context.is_empty() {
            args.push(context_value(template));
        }
        if template.auth.as_ref().is_some_and(|a| a.agent) {
            args.push(quote!(user));
        }
        quote!(#name => ::core::option::Option::Some([client.#method(#(#args),*), client.#method(#(#args),*), client.#method(#(#args),*)]),)
    });
    quote! {
        /// The template `template`'s request from its generated method: at the client's first
        /// call (its fixed part composed, not kept), second (composed and kept) and third
        /// (copied).
        pub fn call(runtime: Runtime, template: &str, given: &Given, user: &UserId) -> ::core::option::Option<[RequestBuilder; 3]> {
            let client = client(runtime, given);
            match template {
                #(#arms)*
                _ => ::core::option::Option::None,
            }
        }
    }
}

fn context_value(template: &TemplatePlan) -> proc_macro2::TokenStream {
    let ty = quote::format_ident!("{}", template.context_name);
    let fields = template.context.iter().map(|field| {
        let ident = quote::format_ident!("{}", field.ident);
        let name = &field.name;
        if field.optional {
            quote!(#ident: given.context.get(#name).cloned())
        } else {
            quote!(#ident: given.context.get(#name).cloned().unwrap_or_default())
        }
    });
    quote!(&#ty { #(#fields),* })
}

/// `client(runtime, given)`: the generated client, its iparams made from `given`.
fn client_fn(plan: &AppPlan) -> proc_macro2::TokenStream {
    if plan.iparams.is_empty() {
        return quote!(
            fn client(runtime: Runtime, _: &Given) -> Client {
                Client::new(runtime)
            }
        );
    }
    let fields = plan.iparams.iter().map(|field| {
        let ident = quote::format_ident!("{}", field.ident);
        let label = &field.label;
        let read = match field.kind {
            IparamKind::Text => quote!(text),
            IparamKind::Secret => quote!(secret),
            IparamKind::Number => quote!(number),
            IparamKind::Checkbox => quote!(checkbox),
            IparamKind::Multiselect => quote!(multiselect),
        };
        if field.required {
            quote!(#ident: required(given, #label, #read))
        } else {
            quote!(#ident: given.iparams.get(#label).map(|v| #read(v)))
        }
    });
    quote! {
        fn client(runtime: Runtime, given: &Given) -> Client {
            Client::new(runtime, ClientIparams { #(#fields),* })
        }
    }
}
