//! The authorization-code grant on the [`TokenManager`]: start (authorize URL) and finish
//! (callback → code exchange → stored tokens).

use super::TokenManager;
use crate::oauth::TokenType;
use crate::oauth::authorize::{
    AuthorizationRequest, AuthorizeError, Callback, CallbackError, CallbackOutcome,
};
use crate::oauth::pending::{MAX_PENDING_PER_INTEGRATION, Pending};
use crate::oauth::pkce;
use crate::oauth::token_endpoint::{self, Resend};
use crate::oauth::token_response::{self, Failure};
use crate::store::Kept;
use crate::tokens::{InstallationId, Subject, TokenError, TokenKey, TokenSet, UserId};

impl TokenManager {
    /// Starts an authorization of `installation`'s integration `name` for `subject`, its
    /// integrations asked of the app's source first when they are not known.
    pub(crate) async fn authorize(
        &self,
        installation: &InstallationId,
        name: &str,
        subject: Subject,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        self.integrations
            .load(installation)
            .await
            .map_err(|error| AuthorizeError::Integrations(error.to_string()))?;
        let integration = self
            .integrations
            .get(installation, name)
            .ok_or_else(|| AuthorizeError::UnknownIntegration(name.to_string()))?;
        let agent = integration.token_type == TokenType::Agent;
        if agent != matches!(subject, Subject::User(_)) {
            return Err(AuthorizeError::WrongSubject {
                integration: name.to_string(),
                agent,
            });
        }
        let mut url = integration
            .authorize_url
            .clone()
            .ok_or_else(|| AuthorizeError::NoAuthorizeUrl(name.to_string()))?;
        let begun = self.pending.begin(
            installation,
            name,
            subject.clone(),
            integration.redirect_uri.clone(),
            integration.pkce,
            self.policy.authorization_ttl,
        )?;
        // Kept in the store too when it shares them, so any replica completes it, once.
        let kept = self
            .store
            .keep_authorization(&begun.shared, MAX_PENDING_PER_INTEGRATION)
            .await;
        let shared = match kept {
            Ok(Kept::Kept) => true,
            Ok(Kept::NotShared) => false,
            Ok(Kept::TooMany) => {
                self.pending.forget(&begun.state);
                return Err(AuthorizeError::TooManyPending(name.to_string()));
            }
            Err(error) => {
                self.pending.forget(&begun.state);
                return Err(AuthorizeError::Store(error.to_string()));
            }
        };
        let (state, challenge) = (begun.state, begun.challenge);
        let url = {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", &integration.client_id)
                .append_pair("redirect_uri", integration.redirect_uri.as_str())
                .append_pair("response_type", "code")
                .append_pair("state", &state);
            if let Some(scope) = &integration.scope {
                query.append_pair("scope", scope);
            }
            if let Some(challenge) = &challenge {
                query
                    .append_pair("code_challenge", challenge)
                    .append_pair("code_challenge_method", "S256");
            }
            for (key, value) in &integration.authorize_params {
                query.append_pair(key, value);
            }
            drop(query);
            url
        };
        self.pending.started(&state, &url, shared);
        Ok(AuthorizationRequest {
            url,
            state,
            integration: name.to_string(),
            subject,
            installation: installation.clone(),
        })
    }

    /// The URL a user sent back to authorize goes to: the live one issued for them before,
    /// or a new one, so failing calls do not pile up authorizations.
    pub(crate) async fn authorize_url_for(&self, key: &TokenKey) -> Option<url::Url> {
        let (installation, name) = (&key.installation, key.integration.as_ref());
        if let Some(url) = self.pending.live_url(
            installation,
            name,
            &key.subject,
            self.policy.authorization_ttl / 2,
        ) {
            return Some(url);
        }
        self.authorize(installation, name, key.subject.clone())
            .await
            .ok()
            .map(|r| r.url)
    }

    /// Deletes every token of the installation, its own and its users' (uninstall).
    pub(crate) async fn uninstall(
        &self,
        installation: &InstallationId,
    ) -> Result<usize, TokenError> {
        let keys = self.store().keys().await?;
        let mut deleted = 0;
        for key in keys.iter().filter(|k| k.installation == *installation) {
            if self.forget(key).await? {
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// Completes an authorization from its callback; `installation`, when given, is the only
    /// one whose authorizations it completes (a handle's), else the `state` says whose it is.
    pub(crate) async fn complete(
        &self,
        name: &str,
        user: Option<&UserId>,
        installation: Option<&InstallationId>,
        callback: &Callback,
    ) -> Result<CallbackOutcome, CallbackError> {
        let state = callback.state().ok_or(CallbackError::NoState)?;
        let pending = match self.pending.take(state) {
            Some(pending) if !pending.shared => pending,
            // Kept in a shared store (or started elsewhere): the store decides, and the first
            // replica to take it completes it.
            _ => {
                let taken = self
                    .store
                    .take_authorization(&pkce::challenge(state))
                    .await
                    .map_err(|error| CallbackError::Exchange {
                        integration: name.to_string(),
                        source: error.into(),
                    })?;
                match taken {
                    Some(shared) => Pending::from_shared(state, shared),
                    None => return Err(CallbackError::UnknownState),
                }
            }
        };
        let pending = pending.check(name, user)?;
        if installation.is_some_and(|i| *i != pending.installation) {
            return Err(CallbackError::WrongInstallation {
                integration: name.to_string(),
            });
        }
        let integration = pending.integration.clone();
        if let Some(error) = callback.error() {
            return match error {
                "access_denied" => Ok(CallbackOutcome::Denied {
                    integration,
                    subject: pending.subject,
                }),
                other => Err(CallbackError::Provider {
                    integration,
                    error: token_response::clean(other),
                }),
            };
        }
        let code = callback.code().ok_or_else(|| CallbackError::NoCode {
            integration: integration.clone(),
        })?;
        let exchange_error = |source| CallbackError::Exchange {
            integration: integration.clone(),
            source,
        };
        self.integrations
            .load(&pending.installation)
            .await
            .map_err(exchange_error)?;
        let config = self
            .integrations
            .get(&pending.installation, name)
            .ok_or_else(|| exchange_error(TokenError::new("the integration is not configured")))?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", pending.redirect_uri.as_str()),
        ];
        if let Some(verifier) = pending.verifier() {
            form.push(("code_verifier", verifier));
        }
        let granted = token_endpoint::request(
            &self.http,
            &config,
            &form,
            self.policy.timeout,
            self.policy.max_retry_wait,
            Resend::Never,
        )
        .await
        .map_err(|failure| {
            exchange_error(match failure {
                Failure::GrantRejected => TokenError::Exchange {
                    integration: name.to_string(),
                    reason: "the authorization server refused the code (it expired, was used, or was issued for another redirect URI)".to_string(),
                },
                Failure::ClientRejected(reason) | Failure::ClientAuthRefused(reason) => TokenError::Exchange {
                    integration: name.to_string(),
                    reason: format!(
                        "the token endpoint refused the app's client credentials ({reason}): \
                         check the integration's client id and client secret"
                    ),
                },
                Failure::Refused(reason) | Failure::Transient(reason) => TokenError::Exchange {
                    integration: name.to_string(),
                    reason,
                },
            })
        })?;
        let mut tokens = TokenSet::new(granted.access_token)
            .with_requested_scopes(config.scope_items())
            .with_extra(granted.extra);
        if let Some(refresh) = granted.refresh_token {
            tokens = tokens.with_refresh_token(refresh);
        }
        if let Some(lifetime) = granted.expires_in {
            tokens = tokens.expires_in(lifetime);
        }
        // RFC 6749 §5.1: without `scope`, the scopes granted are the ones asked for.
        tokens = tokens.with_granted_scopes(granted.scopes.unwrap_or_else(|| config.scope_items()));
        let key = TokenKey {
            installation: pending.installation.clone(),
            integration: name.to_string().into(),
            subject: pending.subject.clone(),
        };
        self.put(&key, tokens).await.map_err(exchange_error)?;
        Ok(CallbackOutcome::Authorized {
            integration,
            subject: pending.subject,
            installation: pending.installation,
        })
    }
}
