//! OAuth integrations as the runtime uses them: where to refresh tokens and how the client
//! authenticates there.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::header::{HeaderName, HeaderValue};
use secrecy::SecretString;

pub(crate) mod authorize;
pub(crate) mod pkce;
pub(crate) mod revocation;
pub use revocation::Revocation;
pub(crate) mod pending;
mod provider_errors;
pub(crate) mod source;
pub mod spec;
pub(crate) mod token_endpoint;
pub(crate) mod token_response;

/// FDK's local redirect URL, so OAuth clients registered for FDK's local testing work as they are.
pub const DEFAULT_REDIRECT_URI: &str = "http://localhost:10001/auth/callback";

use oauth_rules::{ParamRule, ParamValue};

/// Whose tokens an integration holds (`token_type` in `oauth_config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenType {
    /// One token for the installation, authorized by an admin.
    #[default]
    Account,
    /// One token per end user, who authorizes before first use.
    Agent,
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// `Authorization: Basic base64(id:secret)`, each form-encoded first (RFC 6749 §2.3.1),
    /// or the integration's `customHeaders` verbatim when it has any. When the token endpoint
    /// refuses that, the request is sent once more with the credentials in the form, and the
    /// form is used from then on (RFC 6749 §2.3.1 lets a server take either).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body, always (`client_secret_post`).
    Post,
}

/// One integration of `oauth_config.json` with its values filled in (`oauth_iparams`
/// substituted, credentials supplied at run time): what the runtime needs to refresh tokens.
/// `Debug` shows no secret.
#[derive(Clone)]
pub struct IntegrationConfig {
    pub(crate) name: String,
    pub(crate) token_url: url::Url,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    /// The `scope` parameter as the app wrote it (Shopify needs its commas); its items are
    /// [`IntegrationConfig::scope_items`].
    pub(crate) scope: Option<String>,
    pub(crate) token_headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) client_auth: ClientAuth,
    /// Set when the token endpoint refused the header authentication and took the form's:
    /// remembered for the life of the runtime (shared by this config's clones).
    pub(crate) form_credentials_learned: Arc<AtomicBool>,
    pub(crate) authorize_url: Option<url::Url>,
    pub(crate) redirect_uri: url::Url,
    pub(crate) pkce: bool,
    pub(crate) authorize_params: Vec<(String, String)>,
    pub(crate) token_type: TokenType,
    /// Its RFC 7009 revocation endpoint, if the provider has one.
    pub(crate) revocation_url: Option<url::Url>,
}

impl IntegrationConfig {
    /// The integration `name` (as in `oauth_config.json`; `oauth` for the legacy format),
    /// refreshing at `token_url` as `client_id`. The URL must be `https`, or `http` to a
    /// loopback host.
    pub fn new(
        name: impl Into<String>,
        token_url: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<Self, InvalidIntegration> {
        let name = name.into();
        let invalid = |reason: String| InvalidIntegration {
            integration: name.clone(),
            reason,
        };
        let token_url = url::Url::parse(token_url)
            .map_err(|e| invalid(format!("the token URL is not a URL ({e})")))?;
        check_endpoint(&token_url).map_err(|reason| invalid(format!("the token URL {reason}")))?;
        Ok(IntegrationConfig {
            token_url,
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
            scope: None,
            token_headers: Vec::new(),
            client_auth: ClientAuth::default(),
            form_credentials_learned: Arc::default(),
            authorize_url: None,
            redirect_uri: url::Url::parse(DEFAULT_REDIRECT_URI)
                .map_err(|e| invalid(format!("the default redirect URI is not a URL ({e})")))?,
            pkce: true,
            authorize_params: Vec::new(),
            token_type: TokenType::default(),
            revocation_url: None,
            name,
        })
    }

    /// Like [`IntegrationConfig::new`], with the client's id and secret from the environment:
    /// `OAUTH_<NAME>_CLIENT_ID` and `OAUTH_<NAME>_CLIENT_SECRET`, the integration's name in
    /// upper case with `_` for anything but letters and digits (`freshservice` →
    /// `OAUTH_FRESHSERVICE_CLIENT_ID`). Credentials stay out of the binary and the configs.
    pub fn from_env(name: &str, token_url: &str) -> Result<Self, InvalidIntegration> {
        Self::from_vars(name, token_url, |var| std::env::var(var).ok())
    }

    /// Like [`IntegrationConfig::from_env`], reading the variables with `lookup` (a secrets
    /// manager, a test's map).
    pub fn from_vars(
        name: &str,
        token_url: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, InvalidIntegration> {
        let id_var = oauth_rules::client_variable(name, oauth_rules::ClientVariable::Id);
        let secret_var = oauth_rules::client_variable(name, oauth_rules::ClientVariable::Secret);
        let read = |var: &str| lookup(var).filter(|v| !v.is_empty());
        match (read(&id_var), read(&secret_var)) {
            (Some(id), Some(secret)) => Self::new(name, token_url, id, secret),
            (id, _) => Err(InvalidIntegration {
                integration: name.to_string(),
                reason: format!(
                    "no client {}: set {} (looked in the environment)",
                    if id.is_none() { "id" } else { "secret" },
                    if id.is_none() { &id_var } else { &secret_var },
                ),
            }),
        }
    }

    /// Where users are sent to authorize (`authorize_url`): `https`, or `http` to loopback.
    /// Its own query parameters follow the rule of `options` (`oauth_rules::authorize_param`,
    /// as `oauth-templates check` applies it): those the runtime sets (`response_type=code`,
    /// `client_id`…) are dropped, a mistake (`response_type=token`) is refused.
    pub fn authorize_url(mut self, url: &str) -> Result<Self, InvalidIntegration> {
        let mut parsed = self.endpoint(url, "authorize URL")?;
        let mut kept = Vec::new();
        let mut dropped = false;
        for (key, value) in parsed.query_pairs() {
            match oauth_rules::authorize_param(&key, ParamValue::Text(&value)) {
                ParamRule::Send => kept.push((key.into_owned(), value.into_owned())),
                ParamRule::Ignored { .. } => dropped = true,
                ParamRule::Refused { why, .. } => {
                    return Err(InvalidIntegration {
                        integration: self.name.clone(),
                        reason: format!("the authorize URL sets `{key}`: {why}"),
                    });
                }
            }
        }
        if dropped {
            if kept.is_empty() {
                parsed.set_query(None);
            } else {
                parsed.query_pairs_mut().clear().extend_pairs(&kept);
            }
        }
        self.authorize_url = Some(parsed);
        Ok(self)
    }

    /// The provider's token revocation endpoint (RFC 7009), where it has one:
    /// `oauth_config.json` has no such key, so it is given here. With it, forgetting a key's
    /// tokens (`Runtime::revoke_tokens`, `forget_tokens`, `uninstall`) first revokes them at
    /// the provider. The URL must be `https`, or `http` to a loopback host.
    pub fn revocation_url(mut self, url: &str) -> Result<Self, InvalidIntegration> {
        self.revocation_url = Some(self.endpoint(url, "revocation URL")?);
        Ok(self)
    }

    /// Where the authorization server sends the user back (default
    /// [`DEFAULT_REDIRECT_URI`]); the code exchange names the same URI.
    pub fn redirect_uri(mut self, uri: &str) -> Result<Self, InvalidIntegration> {
        self.redirect_uri = self.endpoint(uri, "redirect URI")?;
        Ok(self)
    }

    /// PKCE (S256) on the authorization request; on unless the provider cannot take it.
    pub fn pkce(mut self, enabled: bool) -> Self {
        self.pkce = enabled;
        self
    }

    /// An extra query parameter of the authorize URL (the integration's other `options`, such
    /// as `access_type` or `prompt`). The parameters the runtime sets itself are refused: the
    /// checker warns about them in `options` and the generated code never passes them.
    pub fn authorize_param(mut self, key: &str, value: &str) -> Result<Self, InvalidIntegration> {
        match oauth_rules::authorize_param(key, ParamValue::Text(value)) {
            ParamRule::Send => {}
            ParamRule::Ignored { why, .. } | ParamRule::Refused { why, .. } => {
                return Err(InvalidIntegration {
                    integration: self.name.clone(),
                    reason: format!("`{key}` cannot be an extra parameter: {why}"),
                });
            }
        }
        self.authorize_params
            .push((key.to_string(), value.to_string()));
        Ok(self)
    }

    /// Whose tokens the integration holds (default: the installation's).
    pub fn token_type(mut self, token_type: TokenType) -> Self {
        self.token_type = token_type;
        self
    }

    fn endpoint(&self, url: &str, what: &str) -> Result<url::Url, InvalidIntegration> {
        let invalid = |reason: String| InvalidIntegration {
            integration: self.name.clone(),
            reason: format!("the {what} {reason}"),
        };
        let parsed = url::Url::parse(url).map_err(|e| invalid(format!("is not a URL ({e})")))?;
        check_endpoint(&parsed).map_err(invalid)?;
        Ok(parsed)
    }

    /// The scopes the app asks for, sent joined with spaces. A stored token authorized
    /// without one of them needs reauthorization.
    pub fn scopes<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        self.scope(&oauth_rules::scope_text(&scopes))
    }

    /// The scopes the app asks for as `options.scope` writes them: sent exactly so (Shopify
    /// wants `read_orders,write_orders`), compared as items split on spaces and commas.
    pub fn scope(mut self, text: &str) -> Self {
        self.scope = oauth_rules::scope_items(text)
            .next()
            .is_some()
            .then(|| text.to_string());
        self
    }

    /// The scopes the app asks for, as sets of scopes compare them.
    pub(crate) fn scope_items(&self) -> Vec<String> {
        self.scope
            .as_deref()
            .map(|text| oauth_rules::scope_items(text).map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// A header sent verbatim on token requests (`options.customHeaders`, such as FreshID's
    /// `Authorization: Basic …`). With any, the client authenticates with these alone.
    pub fn token_header(mut self, name: &str, value: &str) -> Result<Self, InvalidIntegration> {
        let invalid = |reason: &str| InvalidIntegration {
            integration: self.name.clone(),
            reason: format!("the custom header `{name}` {reason}"),
        };
        let header_name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid("is not a header name"))?;
        let mut header_value = HeaderValue::from_str(value)
            .map_err(|_| invalid("has a value that is not one line of text"))?;
        header_value.set_sensitive(true);
        self.token_headers.push((header_name, header_value));
        Ok(self)
    }

    /// How the client authenticates (default: Basic, or the custom headers, with the form's
    /// credentials as the fallback the token endpoint may ask for).
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = auth;
        self
    }

    /// The integration's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for IntegrationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntegrationConfig")
            .field("name", &self.name)
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("scope", &self.scope)
            .field(
                "token_headers",
                &self
                    .token_headers
                    .iter()
                    .map(|(name, _)| name.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("client_auth", &self.client_auth)
            .field(
                "form_credentials_learned",
                &self.form_credentials_learned.load(Ordering::Relaxed),
            )
            .field(
                "authorize_url",
                &self.authorize_url.as_ref().map(url::Url::as_str),
            )
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("pkce", &self.pkce)
            .field("token_type", &self.token_type)
            .finish()
    }
}

/// `https`, or `http` to loopback only: tokens and secrets never cross a network in clear.
pub(crate) fn check_endpoint(url: &url::Url) -> Result<(), String> {
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err("has no host".to_string()),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        scheme => Err(format!(
            "must use https (plain http only to loopback), not `{scheme}`"
        )),
    }
}

/// An integration's settings are not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidIntegration {
    /// The integration.
    pub integration: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for InvalidIntegration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "integration `{}`: {}", self.integration, self.reason)
    }
}

impl std::error::Error for InvalidIntegration {}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> IntegrationConfig {
        IntegrationConfig::new("crm", "https://a.com/token", "id", "secret").unwrap()
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        let error = config().token_header("Bad Header", "x").unwrap_err();
        assert_eq!(
            error.to_string(),
            "integration `crm`: the custom header `Bad Header` is not a header name"
        );
        let error = config()
            .token_header("Authorization", "Basic a\r\nX-Evil: 1")
            .unwrap_err();
        assert!(
            error.to_string().contains("not one line of text"),
            "{error}"
        );
        let error = config()
            .redirect_uri("http://app.example.com/cb")
            .unwrap_err();
        assert!(error.to_string().contains("must use https"), "{error}");
        let error = config().authorize_param("state", "x").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`state` cannot be an extra parameter: the runtime sets this parameter"),
            "{error}"
        );
        let error = IntegrationConfig::new("crm", "not a url", "id", "s").unwrap_err();
        assert!(
            error.to_string().contains("the token URL is not a URL"),
            "{error}"
        );
        let debug = format!(
            "{:?}",
            config()
                .token_header("Authorization", "Basic c2VjcmV0")
                .unwrap()
        );
        assert!(debug.contains("[REDACTED]"), "{debug}");
        assert!(!debug.contains("c2VjcmV0"), "{debug}");
    }
}
