//! `oauth-templates tokens list|revoke`: what the app's token file holds, never a secret.

use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use oauth_runtime::{Revocation, Runtime, Subject, TokenKey, TokenStore};

use crate::app::{self, Failed, fail};

pub(crate) fn list(dir: &Path, store: Option<&Path>) -> ExitCode {
    exit(list_tokens(dir, store))
}

/// What `tokens revoke` was given.
pub(crate) struct Revoke<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) store: Option<&'a Path>,
    pub(crate) integration: Option<&'a str>,
    pub(crate) user: Option<&'a str>,
    pub(crate) all: bool,
    pub(crate) revocation_url: Option<&'a str>,
    pub(crate) oauth_iparams: &'a [String],
    pub(crate) trust: &'a crate::Trust,
}

pub(crate) fn revoke(args: Revoke<'_>) -> ExitCode {
    exit(revoke_tokens(&args))
}

fn exit(result: Result<(), Failed>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed) => ExitCode::FAILURE,
    }
}

fn list_tokens(dir: &Path, store: Option<&Path>) -> Result<(), Failed> {
    let store = app::store(dir, store)?;
    app::block_on(async {
        let mut keys = store.keys().await.or_else(fail)?;
        keys.sort();
        if keys.is_empty() {
            println!("no tokens in {}", store.path().display());
            return Ok(());
        }
        println!(
            "{:<20} {:<24} {:<22} {:<8} state",
            "integration", "subject", "access token", "refresh"
        );
        for key in keys {
            let Some(stored) = store.load(&key).await.or_else(fail)? else {
                continue;
            };
            let tokens = &stored.record.tokens;
            let expiry = match tokens.expires_at() {
                None => "no expiry".to_string(),
                Some(at) => match at.duration_since(SystemTime::now()) {
                    Ok(left) => format!("expires in {}", human(left.as_secs())),
                    Err(past) => format!("expired {} ago", human(past.duration().as_secs())),
                },
            };
            let state = match stored.record.needs_reauthorization {
                Some(_) => "needs reauthorization",
                None => "active",
            };
            println!(
                "{:<20} {:<24} {:<22} {:<8} {state}",
                key.integration,
                subject(&key),
                expiry,
                if tokens.refresh_token().is_some() {
                    "yes"
                } else {
                    "no"
                },
            );
        }
        Ok(())
    })?
}

fn revoke_tokens(args: &Revoke<'_>) -> Result<(), Failed> {
    let Revoke {
        dir,
        integration,
        user,
        ..
    } = *args;
    if integration.is_none() && !args.all {
        return fail("name the integration whose tokens to delete, or pass --all");
    }
    let store = app::store(dir, args.store)?;
    let path = store.path().to_path_buf();
    // With a revocation endpoint, through a runtime configured for the integration.
    let runtime = match (args.revocation_url, integration) {
        (Some(url), Some(name)) => {
            let app = app::interpreter(dir)?;
            let spec = app::integration(app, name)?;
            let lookup = app::oauth_iparams(args.oauth_iparams)?;
            let config = spec
                .configure(&lookup, &|var| std::env::var(var).ok())
                .or_else(fail)?
                .revocation_url(url)
                .or_else(fail)?;
            Some(
                app::trust(Runtime::builder(), args.trust)?
                    .store(store)
                    .integration(config)
                    .build()
                    .or_else(fail)?,
            )
        }
        (Some(_), None) => {
            return fail("--revocation-url revokes one integration's tokens: name it");
        }
        (None, _) => {
            return app::block_on(delete(&store, integration, user))?;
        }
    };
    let Some(runtime) = runtime else {
        return Ok(());
    };
    app::block_on(async {
        let Some(store) = runtime.store() else {
            return fail("the runtime has no store");
        };
        let chosen = chosen(store.keys().await.or_else(fail)?, integration, user);
        for key in &chosen {
            let said = match runtime.revoke_tokens(key).await.or_else(fail)? {
                Revocation::Revoked => "revoked at the provider, then deleted".to_string(),
                Revocation::Failed { reason } => format!(
                    "NOT revoked at the provider ({reason}); deleted here anyway: they may \
                     work at the provider until they expire"
                ),
                Revocation::NotSupported => "deleted (not revoked at the provider)".to_string(),
                Revocation::NothingStored => continue,
                _ => "deleted".to_string(),
            };
            println!(
                "the tokens of `{}` for {}: {said}",
                key.integration,
                subject(key)
            );
        }
        if chosen.is_empty() {
            println!("no such tokens in {}", path.display());
        }
        Ok(())
    })?
}

/// Deletes the chosen tokens from the file, without telling the provider.
async fn delete(
    store: &oauth_runtime::FileStore,
    integration: Option<&str>,
    user: Option<&str>,
) -> Result<(), Failed> {
    let chosen = chosen(store.keys().await.or_else(fail)?, integration, user);
    for key in &chosen {
        store.delete(key).await.or_else(fail)?;
        println!(
            "deleted the tokens of `{}` for {} (not revoked at the provider: pass \
             --revocation-url to revoke them there first)",
            key.integration,
            subject(key)
        );
    }
    if chosen.is_empty() {
        println!("no such tokens in {}", store.path().display());
    }
    Ok(())
}

/// The keys of `integration` (every one without it), of `user` when given.
fn chosen(keys: Vec<TokenKey>, integration: Option<&str>, user: Option<&str>) -> Vec<TokenKey> {
    keys.into_iter()
        .filter(|key| integration.is_none_or(|i| key.integration == i))
        .filter(|key| match (user, &key.subject) {
            (None, _) => true,
            (Some(user), Subject::User(id)) => id.as_str() == user,
            (Some(_), Subject::Installation) => false,
        })
        .collect()
}

fn subject(key: &TokenKey) -> String {
    match &key.subject {
        Subject::Installation => "installation".to_string(),
        Subject::User(user) => format!("user {}", user.as_str()),
    }
}

fn human(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86400),
    }
}
