//! The validated shape of an app's configuration, every value with its place in its file.

use crate::placeholder::TemplateString;
use crate::source::{FileId, Span, Spanned};

/// Everything read from one app's `config/` folder and `manifest.json`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AppConfig {
    /// The templates of `config/requests.json`, in file order.
    pub templates: Vec<Template>,
    /// `config/oauth_config.json`, if the app has one.
    pub oauth: Option<OAuthConfig>,
    /// `config/iparams.json`, if the app has one.
    pub iparams: Option<Iparams>,
    /// The request declarations of `manifest.json`, if the app has one.
    pub manifest: Option<Manifest>,
}

/// An HTTP method a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// Every method, as written in the config.
    pub const ALL: [(&'static str, Method); 5] = [
        ("GET", Method::Get),
        ("POST", Method::Post),
        ("PUT", Method::Put),
        ("PATCH", Method::Patch),
        ("DELETE", Method::Delete),
    ];

    /// The method as written in the config (`GET`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Plain HTTP: refused at run time except to loopback, unless the user opts in.
    Http,
    /// HTTPS, the default.
    Https,
}

/// One entry of `requests.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The template's name (the JSON key).
    pub name: Spanned<String>,
    /// `schema`.
    pub schema: Schema,
    /// `options`.
    pub options: TemplateOptions,
}

impl Template {
    /// The query keys the template sets itself: its `query` object's, then the literal ones of
    /// its path's own query string (`/search?query="…"`). A key given at the call with
    /// `.query(key, value)` that is among them is not added: the template's own win.
    pub fn query_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .schema
            .query
            .iter()
            .map(|q| q.name.value.clone())
            .collect();
        let Some(path) = &self.schema.path else {
            return keys;
        };
        let mut in_query = false;
        for part in &path.parts {
            let crate::placeholder::Part::Text(text) = part else {
                continue;
            };
            // Text after a placeholder continues that placeholder's value up to the next `&`.
            let mut rest = if in_query {
                match text.split_once('&') {
                    Some((_, rest)) => rest,
                    None => continue,
                }
            } else {
                match text.split_once('?') {
                    Some((_, rest)) => {
                        in_query = true;
                        rest
                    }
                    None => continue,
                }
            };
            rest = rest.split('#').next().unwrap_or_default();
            for pair in rest.split('&') {
                let key = pair.split('=').next().unwrap_or_default();
                if !key.is_empty() && !keys.iter().any(|k| k == key) {
                    keys.push(key.to_string());
                }
            }
        }
        keys
    }
}

/// A template's `schema`: the request it sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// `method`.
    pub method: Spanned<Method>,
    /// `protocol`; `https` when absent.
    pub protocol: Protocol,
    /// `host`, possibly with placeholders and a `:port`.
    pub host: TemplateString,
    /// `path`; `/` when absent. May carry `?a=b`.
    pub path: Option<TemplateString>,
    /// `headers`, in file order.
    pub headers: Vec<Header>,
    /// `query`, in file order.
    pub query: Vec<QueryParam>,
}

/// A header and its (templated) value.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The header's name as written.
    pub name: Spanned<String>,
    /// The value.
    pub value: TemplateString,
}

impl Header {
    /// An `Authorization` header written as text (`customHeaders` of FreshID apps hold
    /// `Basic base64(id:secret)`): a credential, never compiled in. The runtime authenticates
    /// with the client's credentials instead (`client_secret_basic`, the same header).
    pub fn is_literal_credential(&self) -> bool {
        self.name.value.eq_ignore_ascii_case("authorization")
            && self.value.placeholders().next().is_none()
    }
}

/// A query parameter of a template.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryParam {
    /// The parameter's name.
    pub name: Spanned<String>,
    /// The value.
    pub value: QueryValue,
}

/// Query values may be strings (with placeholders), numbers or booleans in real apps.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    /// A string, possibly with placeholders.
    Text(TemplateString),
    /// A number as written, sent as its text.
    Number(Spanned<String>),
    /// A boolean, sent as `true` / `false`.
    Bool(Spanned<bool>),
}

/// A template's `options`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TemplateOptions {
    /// Which OAuth token the template carries (`oauth` or legacy `isOAuth: true`).
    pub auth: Option<Spanned<AuthRef>>,
    /// `maxAttempts` (1..=5); 1 when absent.
    pub max_attempts: Option<Spanned<u8>>,
    /// `retryDelay` in milliseconds (0..=1500).
    pub retry_delay_ms: Option<Spanned<u16>>,
    /// `security`: the client certificate the template presents (mutual TLS).
    pub security: Option<Security>,
}

/// A template's `options.security`: the client certificate it presents to the server, read
/// from the installation's values at each call (never compiled in).
#[derive(Debug, Clone, PartialEq)]
pub struct Security {
    /// The `security` key: where a problem with it as a whole is reported.
    pub span: Span,
    /// `cert`: the client certificate (PEM).
    pub certificate: TemplateString,
    /// `key`: its private key (PEM).
    pub key: TemplateString,
    /// `ca`: an authority (PEM) trusted for this template beside the runtime's.
    pub ca: Option<TemplateString>,
}

impl Security {
    /// Its values with their keys' names: `cert`, `key`, then `ca` when given.
    pub fn values(&self) -> impl Iterator<Item = (&'static str, &TemplateString)> {
        [
            ("cert", Some(&self.certificate)),
            ("key", Some(&self.key)),
            ("ca", self.ca.as_ref()),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
    }
}

/// The integration whose token a template uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthRef {
    /// `options.oauth: "name"` (multi-OAuth, platform 3.x).
    Integration(String),
    /// `options.isOAuth: true` (the single legacy config, platform 2.x).
    Legacy,
}

impl AuthRef {
    /// The name the integration's tokens are stored under: its key, or
    /// [`oauth_rules::LEGACY_INTEGRATION`] for the legacy format.
    pub fn key(&self) -> &str {
        match self {
            AuthRef::Integration(name) => name,
            AuthRef::Legacy => oauth_rules::LEGACY_INTEGRATION,
        }
    }
}

/// `config/oauth_config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthConfig {
    /// Multi-OAuth (`integrations`) or the legacy single format.
    pub format: OAuthFormat,
    /// The integrations; exactly one in the legacy format.
    pub integrations: Vec<Integration>,
    /// The file it came from.
    pub file: FileId,
}

/// The two shapes of `oauth_config.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthFormat {
    /// `{ "integrations": { "name": { … } } }`, platform 3.x.
    Multi,
    /// The keys of one integration at top level, platform 2.x.
    Legacy,
}

/// Whose token an integration holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// One token for the installation, authorized by an admin.
    Account,
    /// One token per end user.
    Agent,
}

/// One OAuth provider configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    /// The key under `integrations`; `None` for the legacy format.
    pub name: Option<Spanned<String>>,
    /// `display_name`.
    pub display_name: Option<Spanned<String>>,
    /// `client_id`.
    pub client_id: TemplateString,
    /// `client_secret`.
    pub client_secret: TemplateString,
    /// `authorize_url`.
    pub authorize_url: TemplateString,
    /// `token_url`.
    pub token_url: TemplateString,
    /// `options.scope` as the authorize URL sends it: the text as written, or an array's items
    /// joined with spaces. Sets of scopes compare its items split on spaces and commas
    /// (`oauth_rules::scope_items`).
    pub scope: Option<Spanned<String>>,
    /// `options.customHeaders`, sent verbatim on token requests.
    pub custom_headers: Vec<Header>,
    /// Other `options` keys: extra query parameters of the authorize URL.
    pub extra_params: Vec<(Spanned<String>, TemplateString)>,
    /// `token_type`.
    pub token_type: Spanned<TokenType>,
    /// `oauth_iparams`: values asked for at installation, before the handshake.
    pub oauth_iparams: Vec<OAuthIparam>,
    /// The whole integration object.
    pub span: Span,
}

impl Integration {
    /// The name its tokens are stored under: its key, or
    /// [`oauth_rules::LEGACY_INTEGRATION`] for the legacy format.
    pub fn key(&self) -> &str {
        self.name
            .as_ref()
            .map_or(oauth_rules::LEGACY_INTEGRATION, |n| n.value.as_str())
    }
}

/// One entry of an integration's `oauth_iparams`.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthIparam {
    /// Its name.
    pub name: Spanned<String>,
    /// `display_name`.
    pub display_name: Option<String>,
    /// `required`.
    pub required: bool,
    /// `secure`: the value is a secret (a client secret, say), never shown or logged.
    pub secure: bool,
}

/// `config/iparams.json`: installation parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Iparams {
    /// The parameters, in file order.
    pub params: Vec<Iparam>,
}

/// One installation parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Iparam {
    /// Its name.
    pub name: Spanned<String>,
    /// `type`.
    pub kind: IparamType,
    /// `required`.
    pub required: bool,
    /// `secure`: the value is a secret; usable in headers only.
    pub secure: bool,
}

/// The value type of an installation parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IparamType {
    /// `text`, `paragraph`, `email`, `phone_number`, `url`, `date`, `domain`, `api_key`, `dropdown`, `radio`.
    Text,
    /// `number`.
    Number,
    /// `checkbox`.
    Checkbox,
    /// `multiselect`: several values.
    Multiselect,
}

/// The `requests` declarations of `manifest.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Declared template names (`modules.common.requests` or `product.<p>.requests`).
    pub declared: Vec<Spanned<String>>,
    /// Whether the manifest has any `requests` section at all.
    pub has_requests_section: bool,
    /// The manifest file.
    pub file: FileId,
}

impl OAuthConfig {
    /// The integration a template's `options` refer to.
    pub fn integration(&self, auth: &AuthRef) -> Option<&Integration> {
        match (auth, self.format) {
            (AuthRef::Legacy, OAuthFormat::Legacy) => self.integrations.first(),
            (AuthRef::Integration(name), OAuthFormat::Multi) => self
                .integrations
                .iter()
                .find(|i| i.name.as_ref().is_some_and(|n| n.value == *name)),
            _ => None,
        }
    }
}
