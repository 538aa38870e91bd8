//! `oauth-templates tokens list|revoke`: what the app's token file holds, never a secret.

use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use oauth_runtime::{Subject, TokenKey, TokenStore};

use crate::app::{self, Failed, fail};

pub(crate) fn list(dir: &Path, store: Option<&Path>) -> ExitCode {
    exit(list_tokens(dir, store))
}

pub(crate) fn revoke(
    dir: &Path,
    store: Option<&Path>,
    integration: Option<&str>,
    user: Option<&str>,
    all: bool,
) -> ExitCode {
    exit(revoke_tokens(dir, store, integration, user, all))
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

fn revoke_tokens(
    dir: &Path,
    store: Option<&Path>,
    integration: Option<&str>,
    user: Option<&str>,
    all: bool,
) -> Result<(), Failed> {
    if integration.is_none() && !all {
        return fail("name the integration whose tokens to delete, or pass --all");
    }
    let store = app::store(dir, store)?;
    app::block_on(async {
        let keys = store.keys().await.or_else(fail)?;
        let chosen: Vec<TokenKey> = keys
            .into_iter()
            .filter(|key| integration.is_none_or(|i| key.integration == i))
            .filter(|key| match (user, &key.subject) {
                (None, _) => true,
                (Some(user), Subject::User(id)) => id.as_str() == user,
                (Some(_), Subject::Installation) => false,
            })
            .collect();
        for key in &chosen {
            store.delete(key).await.or_else(fail)?;
            println!(
                "deleted the tokens of `{}` for {}",
                key.integration,
                subject(key)
            );
        }
        if chosen.is_empty() {
            println!("no such tokens in {}", store.path().display());
        }
        Ok(())
    })?
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
