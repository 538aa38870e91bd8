//! What the commands that talk to servers share: the app's checked plan, its integrations as
//! runtime specs, the token store, and `K=V` arguments.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use oauth_cli::interpret::Interpreter;
use oauth_codegen::model::AppConfig;
use oauth_codegen::plan::AppPlan;
use oauth_codegen::{AppInput, check};
use oauth_runtime::FileStore;
use oauth_runtime::spec::IntegrationSpec;
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

/// The app in `dir`, checked and planned, kept for the life of the process: the runtime names
/// templates and integrations by `&'static str`, as the generated code's constants do.
pub(crate) fn interpreter(dir: &Path) -> Result<&'static Interpreter, Failed> {
    static APP: OnceLock<Interpreter> = OnceLock::new();
    let app = load(dir)?;
    Ok(APP.get_or_init(|| Interpreter::new(AppPlan::new(&app))))
}

/// The runtime's spec of the integration whose tokens are stored under `name` (`oauth` for the
/// legacy format).
pub(crate) fn integration(
    app: &'static Interpreter,
    name: &str,
) -> Result<IntegrationSpec, Failed> {
    let integrations = &app.plan().integrations;
    if integrations.is_empty() {
        return fail("the app has no config/oauth_config.json");
    }
    match app.integration_spec(name) {
        Some(spec) => Ok(spec),
        None => fail(format!(
            "no integration `{name}` in oauth_config.json (there are: {})",
            integrations
                .iter()
                .map(|i| i.key.as_str())
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

/// Runs `future` on a runtime of its own.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .or_else(|e| fail(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(future))
}

/// `builder` trusting the `--ca-cert` files and resolving the `--resolve` hosts.
pub(crate) fn trust(
    mut builder: oauth_runtime::RuntimeBuilder,
    trust: &crate::Trust,
) -> Result<oauth_runtime::RuntimeBuilder, Failed> {
    for file in &trust.ca_certs {
        let pem =
            std::fs::read(file).or_else(|e| fail(format!("--ca-cert {}: {e}", file.display())))?;
        builder = builder.add_root_certificate(pem);
    }
    for entry in &trust.resolve {
        let Some((host, address)) = entry.split_once(':') else {
            return fail(format!("--resolve takes HOST:ADDR, not `{entry}`"));
        };
        let address = address
            .parse::<std::net::SocketAddr>()
            .or_else(|_| address.parse::<std::net::IpAddr>().map(|ip| (ip, 0).into()))
            .or_else(|_| {
                fail(format!(
                    "--resolve {entry}: `{address}` is not an IP address (with or without a port)"
                ))
            })?;
        builder = builder.resolve(host, address);
    }
    Ok(builder)
}
