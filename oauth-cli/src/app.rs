//! What the commands that talk to servers share: the app's checked config, its integrations
//! as runtime specs, the token store, and `K=V` arguments.

use std::path::{Path, PathBuf};

use oauth_codegen::model::{AppConfig, Integration, TokenType};
use oauth_codegen::placeholder::{Part, TemplateString, Term};
use oauth_codegen::{AppInput, check};
use oauth_runtime::FileStore;
use oauth_runtime::spec::{IntegrationSpec, SpecPiece, SpecTerm, SpecValue};
use oauth_runtime::store::EncryptionKey;

/// The variable holding the token file's encryption key (standard Base64 of 32 bytes).
pub(crate) const KEY_VARIABLE: &str = "OAUTH_TEMPLATES_STORE_KEY";

/// A failure already explained to the user; the command exits with 1.
#[derive(Debug)]
pub(crate) struct Failed;

/// Prints `message` as an error and fails.
pub(crate) fn fail<T>(message: impl std::fmt::Display) -> Result<T, Failed> {
    eprintln!("error: {message}");
    Err(Failed)
}

/// The app in `dir`, checked; its errors are printed and fail the command.
pub(crate) fn load(dir: &Path) -> Result<AppConfig, Failed> {
    let input = AppInput::read_dir(dir).or_else(fail)?;
    if input.is_empty() {
        return fail(format!(
            "no config/requests.json or config/oauth_config.json in {} (pass the app's folder with --dir)",
            dir.display()
        ));
    }
    let app = check(input);
    if app.diagnostics.has_errors() {
        eprintln!("{}", app.diagnostics.render(&app.sources, false));
        return fail(
            "the app's configuration has errors: fix them first (`oauth-templates check`)",
        );
    }
    Ok(app.config)
}

/// The token file: `--store`, or `DIR/.oauth-templates/tokens.json`; encrypted when
/// `OAUTH_TEMPLATES_STORE_KEY` is set.
pub(crate) fn store(dir: &Path, store: Option<&Path>) -> Result<FileStore, Failed> {
    let path = match store {
        Some(path) => path.to_path_buf(),
        None => {
            keep_out_of_version_control(dir)?;
            default_store(dir)
        }
    };
    match std::env::var(KEY_VARIABLE) {
        Ok(key) => {
            let key = EncryptionKey::from_base64(&key)
                .or_else(|e| fail(format!("{KEY_VARIABLE}: {e}")))?;
            Ok(FileStore::encrypted(path, key))
        }
        Err(_) => Ok(FileStore::new(path)),
    }
}

pub(crate) fn default_store(dir: &Path) -> PathBuf {
    dir.join(".oauth-templates").join("tokens.json")
}

/// The default store's folder sits inside the app's folder, often a git checkout: it gets a
/// `.gitignore` of `*`, so tokens are never committed by accident.
fn keep_out_of_version_control(dir: &Path) -> Result<(), Failed> {
    let folder = dir.join(".oauth-templates");
    let ignore = folder.join(".gitignore");
    match std::fs::symlink_metadata(&ignore) {
        // A link planted in a cloned folder is never written through.
        Ok(meta) if meta.file_type().is_symlink() => {
            return fail(format!(
                "{} is a symbolic link: refusing to write through it",
                ignore.display()
            ));
        }
        Ok(_) => return Ok(()),
        Err(_) => {}
    }
    std::fs::create_dir_all(&folder)
        .and_then(|()| std::fs::write(&ignore, "# Tokens: never commit them.\n*\n"))
        .or_else(|e| fail(format!("cannot write {}: {e}", ignore.display())))
}

/// Says, on standard error, when the token file is not encrypted.
pub(crate) fn warn_if_plain(store: &FileStore) {
    if std::env::var_os(KEY_VARIABLE).is_none() {
        eprintln!(
            "warning: {} is not encrypted: set {KEY_VARIABLE} to a key (`openssl rand -base64 32`) to seal the tokens at rest",
            store.path().display()
        );
    }
}

/// The integration called `name` (`oauth` for the legacy format).
pub(crate) fn integration<'a>(app: &'a AppConfig, name: &str) -> Result<&'a Integration, Failed> {
    let Some(oauth) = &app.oauth else {
        return fail("the app has no config/oauth_config.json");
    };
    let key = |i: &Integration| {
        i.name
            .as_ref()
            .map_or("oauth", |n| n.value.as_str())
            .to_string()
    };
    match oauth.integrations.iter().find(|i| key(i) == name) {
        Some(integration) => Ok(integration),
        None => fail(format!(
            "no integration `{name}` in oauth_config.json (there are: {})",
            oauth
                .integrations
                .iter()
                .map(key)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The `oauth_iparams` lookup of a command: `--oauth-iparam K=V`, else the environment
/// variable `OAUTH_IPARAM_<K>` (upper case), so a client secret asked for as an oauth_iparam
/// need not appear on the command line.
pub(crate) fn oauth_iparams(
    args: &[String],
) -> Result<impl Fn(&str) -> Option<String> + use<>, Failed> {
    let given = pairs(args, "--oauth-iparam")?;
    Ok(move |name: &str| {
        given
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(format!("OAUTH_IPARAM_{}", name.to_ascii_uppercase())).ok())
    })
}

/// The values of `--oauth-iparam K=V` (what may be secret among them).
pub(crate) fn oauth_iparams_given(args: &[String]) -> Result<Vec<String>, Failed> {
    Ok(pairs(args, "--oauth-iparam")?
        .into_iter()
        .map(|(_, value)| value)
        .collect())
}

/// `K=V` arguments as pairs.
pub(crate) fn pairs(args: &[String], flag: &str) -> Result<Vec<(String, String)>, Failed> {
    args.iter()
        .map(|arg| match arg.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => fail(format!("{flag} takes KEY=VALUE, not `{arg}`")),
        })
        .collect()
}

/// The runtime's spec of an integration, as the macro would emit it. The CLI runs once and
/// exits, so the spec's data is leaked to be `'static`, as the macro's constants are.
pub(crate) fn spec(integration: &Integration) -> &'static IntegrationSpec {
    let name = leak_str(
        integration
            .name
            .as_ref()
            .map_or("oauth", |n| n.value.as_str()),
    );
    let secret_in_iparams = integration.client_secret.placeholders().next().is_some();
    let spec = IntegrationSpec {
        name,
        authorize_url: value(&integration.authorize_url),
        token_url: value(&integration.token_url),
        client_id: value(&integration.client_id),
        client_secret: secret_in_iparams.then(|| value(&integration.client_secret)),
        scope: integration.scope.as_ref().map(|s| leak_str(&s.value)),
        token_headers: leak(
            integration
                .custom_headers
                .iter()
                .filter(|h| !h.is_literal_credential())
                .map(|h| (leak_str(&h.name.value), value(&h.value)))
                .collect(),
        ),
        authorize_params: leak(
            integration
                .extra_params
                .iter()
                .map(|(k, v)| (leak_str(&k.value), value(v)))
                .collect(),
        ),
        agent: integration.token_type.value == TokenType::Agent,
    };
    Box::leak(Box::new(spec))
}

fn value(text: &TemplateString) -> SpecValue {
    SpecValue(leak(
        text.parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => SpecPiece::Text(leak_str(text)),
                Part::Placeholder(p) => SpecPiece::Expr(
                    terms(&p.expr.terms),
                    p.expr.default.as_ref().map(|d| leak_str(d.value.text())),
                ),
            })
            .collect(),
    ))
}

fn terms(terms: &[Term]) -> &'static [SpecTerm] {
    leak(
        terms
            .iter()
            .map(|term| match term {
                Term::Literal(literal) => SpecTerm::Literal(leak_str(literal.value.text())),
                Term::Path(path) => match path.segments.as_slice() {
                    [_, name] => SpecTerm::Iparam(leak_str(&name.value)),
                    _ => SpecTerm::Literal(""),
                },
                Term::Encode { terms: inner, .. } => SpecTerm::Encode(self::terms(inner)),
            })
            .collect(),
    )
}

fn leak<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}

pub(crate) fn leak_str(text: &str) -> &'static str {
    Box::leak(text.to_string().into_boxed_str())
}

/// Runs `future` on a runtime of its own.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .or_else(|e| fail(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(future))
}
