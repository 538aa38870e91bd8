//! `oauth-templates authorize INTEGRATION`: the authorization-code grant through the browser
//! and a loopback callback, tokens stored in the app's token file.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use oauth_runtime::loopback::CallbackServer;
use oauth_runtime::{CallbackOutcome, Runtime, Subject, UserId};

use crate::app::{self, Failed, fail};

pub(crate) struct Authorize<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) integration: &'a str,
    pub(crate) store: Option<&'a Path>,
    pub(crate) oauth_iparams: &'a [String],
    pub(crate) user: Option<&'a str>,
    pub(crate) port: u16,
    pub(crate) no_browser: bool,
    pub(crate) timeout: Duration,
    pub(crate) start_grace: Duration,
    pub(crate) trust: &'a crate::Trust,
}

pub(crate) fn run(args: Authorize<'_>) -> ExitCode {
    match authorize(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed) => ExitCode::FAILURE,
    }
}

fn authorize(args: &Authorize<'_>) -> Result<(), Failed> {
    let app = app::interpreter(args.dir)?;
    let spec = app::integration(app, args.integration)?;
    let lookup = app::oauth_iparams(args.oauth_iparams)?;
    let env = |var: &str| std::env::var(var).ok();
    let agent = spec.agent;
    let config = spec.configure(&lookup, &env).or_else(fail)?;
    let subject = match (agent, args.user) {
        (true, Some(user)) => Subject::User(UserId::new(user)),
        (false, None) => Subject::Installation,
        (true, None) => {
            return fail(format!(
                "`{}` is an agent integration: each user authorizes it; pass --user ID",
                args.integration
            ));
        }
        (false, Some(_)) => {
            return fail(format!(
                "`{}` is an account integration: the installation authorizes it; drop --user",
                args.integration
            ));
        }
    };
    let store = app::store(args.dir, args.store)?;
    app::warn_if_plain(&store);
    let store_path = store.path().to_path_buf();
    app::block_on(async {
        let asked = format!("http://localhost:{}/auth/callback", args.port);
        let asked = url::Url::parse(&asked).or_else(fail)?;
        let mut server = CallbackServer::bind(&asked)
            .await
            .or_else(fail)?
            .start_grace(args.start_grace);
        // The port actually bound (with --port 0, a free one).
        let redirect = server.redirect_uri().clone();
        let config = config.redirect_uri(redirect.as_str()).or_else(fail)?;
        let runtime = app::trust(Runtime::builder(), args.trust)?
            .store(store)
            .integration(config)
            .build()
            .or_else(fail)?;
        let request = runtime
            .authorize(args.integration, subject)
            .await
            .or_else(fail)?;
        // The browser gets a one-time address of the callback server, not the provider's: a
        // browser opener's argument is visible to every local user (`ps`), and the provider's
        // address holds the `state` and the PKCE challenge. The start address sets a cookie
        // the callback must carry.
        let start = server.browser_start().or_else(fail)?;
        println!("Open this address to authorize `{}`:", args.integration);
        println!();
        println!("  {start}");
        println!();
        if !args.no_browser {
            open_browser(start.as_str());
        }
        println!("Waiting for the authorization server to send you back to {redirect} …");
        let (callback, reply) = server.receive(&request, args.timeout).await.or_else(fail)?;
        let user = request.subject().clone();
        let user = match &user {
            Subject::User(user) => Some(user),
            Subject::Installation => None,
        };
        match runtime
            .complete_authorization(args.integration, user, &callback)
            .await
        {
            Ok(outcome @ CallbackOutcome::Authorized { .. }) => {
                reply.finish(Ok(&outcome)).await;
                println!(
                    "authorized: the tokens of `{}` are stored in {}",
                    args.integration,
                    store_path.display()
                );
                Ok(())
            }
            Ok(outcome) => {
                reply.finish(Ok(&outcome)).await;
                fail(format!(
                    "not authorized: the authorization of `{}` was cancelled",
                    args.integration
                ))
            }
            Err(error) => {
                reply
                    .finish(Err("the authorization could not be completed"))
                    .await;
                fail(error)
            }
        }
    })?
}

/// Opens `url` in the user's browser, if there is a way to; says so when there is not.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let opened = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok();
    if !opened {
        println!("(no browser could be opened: open the address yourself)");
    }
}
