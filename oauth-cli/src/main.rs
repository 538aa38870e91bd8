//! `oauth-templates`: check FDK request templates and OAuth configs, and expand them into the
//! Rust client the macro generates.

mod app;
mod authorize;
mod check;
mod expand;
mod invoke;
mod tokens;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// Check, expand, authorize and invoke FDK request templates.
#[derive(Debug, Parser)]
#[command(name = "oauth-templates", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate config/requests.json, config/oauth_config.json, config/iparams.json and manifest.json.
    ///
    /// Prints every error and warning with its file:line:col. Exits with 0 when there are no
    /// errors, 1 when there are, 2 when the files cannot be read.
    Check {
        /// The app's folder (the one holding `config/`).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Print (or write) the Rust code `#[oauth_runtime::templates]` generates for the app.
    ///
    /// For checking the code in, or generating it from build.rs. With --check, compares with
    /// the file given by -o and exits with 1 when it is stale.
    Expand {
        /// The app's folder (the one holding `config/`).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The client struct's name.
        #[arg(long, default_value = "Client")]
        name: String,
        /// Write the code to FILE instead of standard output.
        #[arg(short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// Do not write: exit with 1 if FILE differs from what would be written.
        #[arg(long)]
        check: bool,
    },
    /// Authorize an integration: prints the address to open (and opens the browser), waits
    /// for the authorization server to send the user back to a loopback callback, and stores
    /// the tokens.
    ///
    /// The client secret comes from OAUTH_{INTEGRATION}_CLIENT_SECRET unless the integration
    /// asks for it as an oauth_iparam. The token file is DIR/.oauth-templates/tokens.json
    /// unless --store says otherwise; with OAUTH_TEMPLATES_STORE_KEY set (32 bytes in Base64)
    /// it is encrypted.
    Authorize {
        /// The integration's name in oauth_config.json (`oauth` for the legacy format).
        integration: String,
        /// The app's folder (the one holding `config/`).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The token file.
        #[arg(long, value_name = "FILE")]
        store: Option<PathBuf>,
        /// A value of the integration's oauth_iparams, as KEY=VALUE (or in the environment as
        /// OAUTH_IPARAM_{KEY}, better for secrets).
        #[arg(long = "oauth-iparam", value_name = "KEY=VALUE")]
        oauth_iparams: Vec<String>,
        /// The user authorizing an agent integration.
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        /// The callback's port: http://localhost:PORT/auth/callback (FDK's local redirect URL).
        #[arg(long, default_value_t = 10001)]
        port: u16,
        /// Print the address only; do not open a browser.
        #[arg(long)]
        no_browser: bool,
        /// How long to wait for the callback, in seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
        /// How long after it starts waiting a callback is held, in seconds, watching for a
        /// second opening of the start address (someone else went first): then the
        /// authorization is abandoned. 0 does not watch.
        #[arg(long, default_value_t = 8)]
        start_grace: u64,
        #[command(flatten)]
        trust: Trust,
    },
    /// Send one template, with its values from the command line; prints the status, the
    /// headers (secrets redacted) and the body. Exits with 1 when the status is not 2xx.
    Invoke {
        /// The template's name in requests.json.
        template: String,
        /// The app's folder (the one holding `config/`).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The token file.
        #[arg(long, value_name = "FILE")]
        store: Option<PathBuf>,
        /// A `context.KEY` value, as KEY=VALUE.
        #[arg(long, value_name = "KEY=VALUE")]
        context: Vec<String>,
        /// An installation value, as KEY=VALUE (`iparam.KEY`; `app_settings.a.b=…` whole).
        #[arg(long = "iparam", value_name = "KEY=VALUE")]
        iparams: Vec<String>,
        /// An installation value read from a file, as KEY=FILE: a PEM client certificate or
        /// key for a template's `options.security`, say.
        #[arg(long = "iparam-file", value_name = "KEY=FILE")]
        iparam_files: Vec<String>,
        /// A value of the integration's oauth_iparams (to refresh its token), as KEY=VALUE.
        #[arg(long = "oauth-iparam", value_name = "KEY=VALUE")]
        oauth_iparams: Vec<String>,
        /// The user whose token an agent integration's template sends.
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        /// The body: JSON text, or @FILE.
        #[arg(long, value_name = "JSON|@FILE")]
        body: Option<String>,
        #[command(flatten)]
        trust: Trust,
    },
    /// What the token file holds (never a secret), or delete tokens from it.
    Tokens {
        #[command(subcommand)]
        action: TokensAction,
    },
}

/// Whom the HTTP client trusts, and where it finds hosts: for a private CA, or a local server
/// standing in for a real one (the embedded provider in tests).
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct Trust {
    /// Also trust the certificate authorities in FILE (PEM), beside the system's.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub(crate) ca_certs: Vec<PathBuf>,
    /// Send requests for HOST to ADDR (an IP address, with a port used when the URL names
    /// none); TLS still checks the certificate is HOST's.
    #[arg(long = "resolve", value_name = "HOST:ADDR")]
    pub(crate) resolve: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum TokensAction {
    /// Every stored token: integration, subject, expiry, whether it can be refreshed, state.
    List {
        /// The app's folder (the one holding `config/`).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The token file.
        #[arg(long, value_name = "FILE")]
        store: Option<PathBuf>,
    },
    /// Delete an integration's tokens (all of its users', or one's with --user), or --all,
    /// from the token file. With --revocation-url, each is first revoked at the provider
    /// (RFC 7009: the refresh token, then the access token), and deleted here whatever the
    /// provider answers.
    Revoke {
        /// The integration.
        integration: Option<String>,
        /// Only this user's token.
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        /// Every token in the file.
        #[arg(long)]
        all: bool,
        /// The provider's revocation endpoint (oauth_config.json has no such key); needs the
        /// integration's client secret, as `authorize` does.
        #[arg(long, value_name = "URL")]
        revocation_url: Option<String>,
        /// An oauth_iparam of the integration (its token URL's host, say), as for `authorize`.
        #[arg(long = "oauth-iparam", value_name = "K=V")]
        oauth_iparams: Vec<String>,
        #[command(flatten)]
        trust: Trust,
        /// The app's folder (the one holding `config/`).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The token file.
        #[arg(long, value_name = "FILE")]
        store: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { dir } => check::run(&dir),
        Command::Expand {
            dir,
            name,
            output,
            check,
        } => expand::run(expand::Expand {
            dir: &dir,
            name: &name,
            output: output.as_deref(),
            check,
        }),
        Command::Authorize {
            integration,
            dir,
            store,
            oauth_iparams,
            user,
            port,
            no_browser,
            timeout,
            start_grace,
            trust,
        } => authorize::run(authorize::Authorize {
            dir: &dir,
            integration: &integration,
            store: store.as_deref(),
            oauth_iparams: &oauth_iparams,
            user: user.as_deref(),
            port,
            no_browser,
            timeout: Duration::from_secs(timeout),
            start_grace: Duration::from_secs(start_grace),
            trust: &trust,
        }),
        Command::Invoke {
            template,
            dir,
            store,
            context,
            iparams,
            iparam_files,
            oauth_iparams,
            user,
            body,
            trust,
        } => invoke::run(invoke::Invoke {
            dir: &dir,
            template: &template,
            store: store.as_deref(),
            context: &context,
            iparams: &iparams,
            iparam_files: &iparam_files,
            oauth_iparams: &oauth_iparams,
            user: user.as_deref(),
            body: body.as_deref(),
            trust: &trust,
        }),
        Command::Tokens { action } => match action {
            TokensAction::List { dir, store } => tokens::list(&dir, store.as_deref()),
            TokensAction::Revoke {
                integration,
                user,
                all,
                revocation_url,
                oauth_iparams,
                trust,
                dir,
                store,
            } => tokens::revoke(tokens::Revoke {
                dir: &dir,
                store: store.as_deref(),
                integration: integration.as_deref(),
                user: user.as_deref(),
                all,
                revocation_url: revocation_url.as_deref(),
                oauth_iparams: &oauth_iparams,
                trust: &trust,
            }),
        },
    }
}
