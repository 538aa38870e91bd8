//! What a request is made of: the template's compile-time facts ([`TemplateInfo`]) and the
//! [`Draft`] that the composer fills and the builder sends, token headers included.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use super::Shared;
use crate::error::InvokeError;
use crate::http_clients::Identity;
use crate::tokens::{AccessToken, BEARER, InstallationId, Subject, secret_header_value};

/// An HTTP method a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

impl MethodKind {
    /// The method's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            MethodKind::Get => "GET",
            MethodKind::Post => "POST",
            MethodKind::Put => "PUT",
            MethodKind::Patch => "PATCH",
            MethodKind::Delete => "DELETE",
        }
    }

    pub(crate) fn to_reqwest(self) -> reqwest::Method {
        match self {
            MethodKind::Get => reqwest::Method::GET,
            MethodKind::Post => reqwest::Method::POST,
            MethodKind::Put => reqwest::Method::PUT,
            MethodKind::Patch => reqwest::Method::PATCH,
            MethodKind::Delete => reqwest::Method::DELETE,
        }
    }
}

/// What the generated code knows about a template at compile time.
#[derive(Debug)]
pub struct TemplateInfo {
    /// The template's name in `requests.json`.
    pub name: &'static str,
    /// Its method.
    pub method: MethodKind,
    /// `https` (true) or `http`.
    pub https: bool,
    /// The integration whose token it sends, if any.
    pub integration: Option<&'static str>,
    /// `options.maxAttempts` (1 when absent).
    pub max_attempts: u8,
    /// `options.retryDelay` in milliseconds.
    pub retry_delay_ms: u16,
    /// The keys of the template's `query`: they win over keys given at invoke time.
    pub query_keys: &'static [&'static str],
}

impl TemplateInfo {
    /// A template sending `method` over https, without a token, retries or query keys; the
    /// other settings are added with the `const` methods below.
    pub const fn new(name: &'static str, method: MethodKind) -> Self {
        TemplateInfo {
            name,
            method,
            https: true,
            integration: None,
            max_attempts: 1,
            retry_delay_ms: 0,
            query_keys: &[],
        }
    }

    /// A `GET` template.
    pub const fn get(name: &'static str) -> Self {
        Self::new(name, MethodKind::Get)
    }

    /// A `POST` template.
    pub const fn post(name: &'static str) -> Self {
        Self::new(name, MethodKind::Post)
    }

    /// A `PUT` template.
    pub const fn put(name: &'static str) -> Self {
        Self::new(name, MethodKind::Put)
    }

    /// A `PATCH` template.
    pub const fn patch(name: &'static str) -> Self {
        Self::new(name, MethodKind::Patch)
    }

    /// A `DELETE` template.
    pub const fn delete(name: &'static str) -> Self {
        Self::new(name, MethodKind::Delete)
    }

    /// Sent over plain `http`.
    pub const fn http(mut self) -> Self {
        self.https = false;
        self
    }

    /// Sends the access token of `integration`.
    pub const fn oauth(mut self, integration: &'static str) -> Self {
        self.integration = Some(integration);
        self
    }

    /// Up to `max_attempts` attempts, `retry_delay_ms` apart.
    pub const fn attempts(mut self, max_attempts: u8, retry_delay_ms: u16) -> Self {
        self.max_attempts = max_attempts;
        self.retry_delay_ms = retry_delay_ms;
        self
    }

    /// The keys the template's own query sets.
    pub const fn query_keys(mut self, keys: &'static [&'static str]) -> Self {
        self.query_keys = keys;
        self
    }
}

/// Everything a request is made of. Boxed: builder calls and awaits move one pointer.
pub(crate) struct Draft {
    /// What the runtime's calls share.
    pub(crate) shared: Arc<Shared>,
    /// The installation whose token it sends (the runtime handle's).
    pub(crate) installation: InstallationId,
    pub(crate) template: &'static TemplateInfo,
    /// The first thing that went wrong while composing; returned by `send`.
    pub(crate) error: Option<Box<InvokeError>>,
    /// Set once composed (unless there is an error); taken by the last attempt.
    pub(crate) url: Option<url::Url>,
    /// The headers that do not carry the token.
    pub(crate) headers: HeaderMap,
    pub(crate) token_headers: TokenHeaders,
    /// Whose token it sends (with `installation` and the template's integration, its key).
    pub(crate) subject: Subject,
    /// The token sent, once its headers are checked; let go by the last attempt.
    pub(crate) token: Option<SentToken>,
    pub(crate) timeout: Option<Duration>,
    /// What few requests have, in one box: a request without them allocates, writes and
    /// lets go no more than a pointer for them.
    pub(crate) extras: Option<Box<Extras>>,
}

/// What few requests have: a body, query parameters given at the call, a cache lifetime, a
/// client certificate.
#[derive(Default)]
pub(crate) struct Extras {
    pub(crate) body: Option<Bytes>,
    /// The body is JSON (`Content-Type: application/json` unless the template sets one).
    pub(crate) json: bool,
    pub(crate) query: Vec<(String, String)>,
    /// How long a GET's 2xx answer is kept in the runtime's response cache.
    pub(crate) cache_ttl: Option<Duration>,
    /// The client certificate the template presents: its client is found (or built) when
    /// the request is sent.
    pub(crate) identity: Option<Arc<Identity>>,
}

impl Draft {
    pub(crate) fn new(
        shared: Arc<Shared>,
        installation: InstallationId,
        template: &'static TemplateInfo,
    ) -> Box<Self> {
        // Allocated first, then written: built in place rather than on the stack and copied.
        Box::write(
            Box::new_uninit(),
            Draft {
                shared,
                installation,
                template,
                error: None,
                url: None,
                headers: HeaderMap::new(),
                token_headers: TokenHeaders::default(),
                subject: Subject::Installation,
                token: None,
                timeout: None,
                extras: None,
            },
        )
    }

    /// The call's timeout: its own, or the runtime's.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(self.shared.timeout)
    }

    /// Its extras, made at the first.
    pub(crate) fn extras_mut(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Box::default)
    }

    pub(crate) fn body(&self) -> Option<&Bytes> {
        self.extras.as_ref()?.body.as_ref()
    }

    pub(crate) fn cache_ttl(&self) -> Option<Duration> {
        self.extras.as_ref()?.cache_ttl
    }

    pub(crate) fn identity(&self) -> Option<&Arc<Identity>> {
        self.extras.as_ref()?.identity.as_ref()
    }

    /// Keeps `error` unless an earlier one is kept already.
    #[cold]
    pub(crate) fn fail(&mut self, error: impl Into<Box<InvokeError>>) {
        if self.error.is_none() {
            self.error = Some(error.into());
        }
    }
}

/// The access token a request sends.
pub(crate) enum SentToken {
    /// The value of the usual `Bearer` header, the request's only token header: shared with
    /// the token cache, and moved into the last attempt's request.
    Bearer(HeaderValue),
    /// The token of other token headers (their values are made in `token_headers`).
    Token(AccessToken),
}

impl SentToken {
    /// The token, as its source knows it (to say which one a server rejected).
    pub(crate) fn access_token(&self) -> AccessToken {
        match self {
            SentToken::Bearer(value) => AccessToken::from_bearer(value.clone()),
            SentToken::Token(token) => token.clone(),
        }
    }
}

/// A header that carries the access token: `prefix`, the token, `suffix`.
#[derive(Clone)]
pub(crate) struct TokenHeader {
    /// Its label in errors (`header Authorization`).
    pub(crate) placeholder: &'static str,
    pub(crate) name: HeaderName,
    pub(crate) prefix: Cow<'static, str>,
    pub(crate) suffix: Cow<'static, str>,
}

impl TokenHeader {
    /// Whether it is the usual `Bearer <token>`, whose value is the token's own.
    pub(crate) fn is_bearer(&self) -> bool {
        self.prefix == BEARER && self.suffix.is_empty()
    }

    /// Its value with `token` in it (marked sensitive, zeroed when let go, as the token's
    /// own bytes); `None` when that is not a valid header value.
    pub(crate) fn value_with(&self, token: &AccessToken) -> Option<HeaderValue> {
        secret_header_value(&self.prefix, token.secret(), &self.suffix)
    }

    /// The text around the token, checked apart from it: when the token is at hand, making
    /// the header checks it all, and this only tells whose fault a failure is.
    pub(crate) fn check_text(&self, template: &'static str) -> Result<(), InvokeError> {
        if is_header_text(&self.prefix) && is_header_text(&self.suffix) {
            return Ok(());
        }
        Err(InvokeError::InvalidValue {
            template,
            placeholder: self.placeholder,
            reason: NOT_HEADER_TEXT,
        })
    }
}

/// The usual `Authorization: Bearer <access token>`.
static BEARER_HEADER: TokenHeader = TokenHeader {
    placeholder: "header Authorization",
    name: http::header::AUTHORIZATION,
    prefix: Cow::Borrowed(BEARER),
    suffix: Cow::Borrowed(""),
};

/// The token headers of a request, in their order. Nearly always none or the usual `Bearer`
/// one alone, a word each (a request then allocates, writes and lets go nothing for them);
/// others in a list, each with its value once the token is set (none for a usual `Bearer` one,
/// whose value is the token's own).
#[derive(Default)]
pub(crate) enum TokenHeaders {
    #[default]
    None,
    /// The usual `Authorization: Bearer <access token>` alone, whose value is the token's own.
    Bearer,
    Custom(Vec<(TokenHeader, Option<HeaderValue>)>),
}

impl TokenHeaders {
    /// The usual `Authorization: Bearer <access token>`.
    pub(super) fn push_bearer(&mut self) {
        match self {
            TokenHeaders::None => *self = TokenHeaders::Bearer,
            _ => self.push(BEARER_HEADER.clone()),
        }
    }

    pub(super) fn push(&mut self, header: TokenHeader) {
        match self {
            TokenHeaders::None => *self = TokenHeaders::Custom(vec![(header, None)]),
            TokenHeaders::Bearer => {
                *self = TokenHeaders::Custom(vec![(BEARER_HEADER.clone(), None), (header, None)]);
            }
            TokenHeaders::Custom(all) => all.push((header, None)),
        }
    }

    /// The usual `Bearer` header when it is alone, and the headers of the list.
    fn parts(
        &self,
    ) -> (
        Option<&'static TokenHeader>,
        &[(TokenHeader, Option<HeaderValue>)],
    ) {
        match self {
            TokenHeaders::None => (None, &[]),
            TokenHeaders::Bearer => (Some(&BEARER_HEADER), &[]),
            TokenHeaders::Custom(all) => (None, all),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, TokenHeaders::None)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &TokenHeader> {
        let (bearer, all) = self.parts();
        bearer
            .into_iter()
            .chain(all.iter().map(|(header, _)| header))
    }

    /// The name of the first token header (`Authorization` when there is none).
    pub(crate) fn first_name(&self) -> &HeaderName {
        match self {
            TokenHeaders::Custom(all) => all.first().map_or(&BEARER_HEADER.name, |(h, _)| &h.name),
            TokenHeaders::Bearer | TokenHeaders::None => &BEARER_HEADER.name,
        }
    }

    /// Whether the usual `Bearer` header is the only one.
    pub(crate) fn only_bearer(&self) -> bool {
        match self.parts() {
            (Some(_), _) => true,
            (None, [(header, _)]) => header.is_bearer(),
            (None, _) => false,
        }
    }

    /// Makes the headers' values with `token` in them; false when one cannot be a header value.
    pub(crate) fn make_values(&mut self, token: &AccessToken) -> bool {
        let all = match self {
            TokenHeaders::None => return true,
            TokenHeaders::Bearer => return token.is_header_value(),
            TokenHeaders::Custom(all) => all,
        };
        for (header, value) in all {
            *value = None;
            if header.is_bearer() {
                if !token.is_header_value() {
                    return false;
                }
            } else {
                match header.value_with(token) {
                    Some(made) => *value = Some(made),
                    None => return false,
                }
            }
        }
        true
    }

    /// Each header with its value: the one made for it, or `token`'s own for the usual
    /// `Bearer` one (`None` for another whose value was not made).
    pub(crate) fn with_values<'h>(
        &'h self,
        token: &'h AccessToken,
    ) -> impl Iterator<Item = (&'h HeaderName, Option<HeaderValue>)> + 'h {
        let (bearer, all) = self.parts();
        let bearer = bearer.map(|header| (&header.name, token.bearer()));
        let all = all.iter().map(|(header, value)| {
            let value = match value {
                Some(value) => Some(value.clone()),
                None if header.is_bearer() => token.bearer(),
                None => None,
            };
            (&header.name, value)
        });
        bearer.into_iter().chain(all)
    }
}

/// Sets a header of a request: the template's headers and the token's are set through this
/// one copy of the header map's insertion. Inlined where each is set, the copies filled the
/// processor's instruction cache on a request's path.
#[inline(never)]
pub(crate) fn set_header(headers: &mut HeaderMap, name: HeaderName, value: HeaderValue) {
    headers.insert(name, value);
}

/// Why a header value is refused.
pub(super) const NOT_HEADER_TEXT: &str = "contains a line break or another control character";

/// Text a header value can hold: no line break or other control character (tabs allowed).
fn is_header_text(text: &str) -> bool {
    text.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use http::header::HeaderName;

    use super::{TokenHeader, TokenHeaders};
    use crate::tokens::AccessToken;

    fn custom() -> TokenHeader {
        TokenHeader {
            placeholder: "header X-Token",
            name: HeaderName::from_static("x-token"),
            prefix: Cow::Borrowed("token "),
            suffix: Cow::Borrowed(""),
        }
    }

    fn names(headers: &TokenHeaders) -> Vec<&str> {
        headers.iter().map(|header| header.name.as_str()).collect()
    }

    #[test]
    fn token_headers_keep_their_order_and_the_bearer_one_alone_is_a_word() {
        let mut alone = TokenHeaders::default();
        assert!(alone.is_empty() && !alone.only_bearer());
        alone.push_bearer();
        assert!(matches!(alone, TokenHeaders::Bearer));
        assert!(!alone.is_empty() && alone.only_bearer());
        assert_eq!(names(&alone), ["authorization"]);
        assert!(alone.iter().all(TokenHeader::is_bearer));

        // A list of one: a lone custom header allocates once.
        let mut custom_alone = TokenHeaders::default();
        custom_alone.push(custom());
        assert!(!custom_alone.only_bearer());
        assert_eq!(names(&custom_alone), ["x-token"]);
        assert_eq!(custom_alone.first_name().as_str(), "x-token");
        assert!(matches!(&custom_alone, TokenHeaders::Custom(all) if all.capacity() == 1));

        let mut bearer_first = TokenHeaders::default();
        bearer_first.push_bearer();
        bearer_first.push(custom());
        assert!(!bearer_first.only_bearer());
        assert_eq!(names(&bearer_first), ["authorization", "x-token"]);
        assert_eq!(bearer_first.first_name().as_str(), "authorization");

        let mut custom_first = TokenHeaders::default();
        custom_first.push(custom());
        custom_first.push_bearer();
        assert!(!custom_first.only_bearer());
        assert_eq!(names(&custom_first), ["x-token", "authorization"]);
    }

    #[test]
    fn values_are_made_with_the_token_and_the_bearer_one_is_the_tokens_own() {
        let token = AccessToken::new("t0k");
        let mut headers = TokenHeaders::default();
        headers.push(custom());
        headers.push_bearer();
        assert!(headers.make_values(&token));
        let values: Vec<(String, String)> = headers
            .with_values(&token)
            .map(|(name, value)| {
                let value = value.expect("a value");
                (name.to_string(), value.to_str().unwrap_or("").to_string())
            })
            .collect();
        assert_eq!(
            values,
            [
                ("x-token".to_string(), "token t0k".to_string()),
                ("authorization".to_string(), "Bearer t0k".to_string())
            ]
        );
        // A token that cannot be a header value makes none.
        assert!(!headers.make_values(&AccessToken::new("bad\nline")));
        let mut bearer = TokenHeaders::default();
        bearer.push_bearer();
        assert!(bearer.make_values(&token));
        assert!(!bearer.make_values(&AccessToken::new("bad\nline")));
        assert!(TokenHeaders::default().make_values(&token));
    }
}
