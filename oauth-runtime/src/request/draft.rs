//! What a request is made of: the template's compile-time facts ([`TemplateInfo`]) and the
//! [`Draft`] that the composer fills and the builder sends, token headers included.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::error::InvokeError;
use crate::http_clients::Identity;
use crate::runtime::Runtime;
use crate::tokens::{AccessToken, BEARER, Subject, secret_header_value};

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
    pub(crate) runtime: Runtime,
    pub(crate) template: &'static TemplateInfo,
    /// The first thing that went wrong while composing; returned by `send`.
    pub(crate) error: Option<Box<InvokeError>>,
    /// Set once composed (unless there is an error); taken by the last attempt.
    pub(crate) url: Option<url::Url>,
    /// The headers that do not carry the token.
    pub(crate) headers: HeaderMap,
    pub(crate) token_headers: TokenHeaders,
    /// The values of the token headers other than the usual `Bearer` one (which is the kept
    /// token itself), in their order, made when the token is set.
    pub(crate) token_values: Vec<HeaderValue>,
    /// Whose token it sends (with the runtime's installation and the template's integration,
    /// its key).
    pub(crate) subject: Subject,
    /// The token sent, once its headers are checked; let go by the last attempt.
    pub(crate) token: Option<SentToken>,
    pub(crate) body: Option<Bytes>,
    pub(crate) json: bool,
    pub(crate) extra_query: Vec<(String, String)>,
    pub(crate) timeout: Option<Duration>,
    /// How long a GET's 2xx answer is kept in the runtime's response cache.
    pub(crate) cache_ttl: Option<Duration>,
    /// The client certificate the template presents, when it has one: its client is found
    /// (or built) when the request is sent.
    pub(crate) identity: Option<Arc<Identity>>,
}

impl Draft {
    pub(crate) fn new(runtime: Runtime, template: &'static TemplateInfo) -> Box<Self> {
        // Allocated first, then written: built in place rather than on the stack and copied.
        Box::write(
            Box::new_uninit(),
            Draft {
                runtime,
                template,
                error: None,
                url: None,
                headers: HeaderMap::new(),
                token_headers: TokenHeaders::default(),
                token_values: Vec::new(),
                subject: Subject::Installation,
                token: None,
                body: None,
                json: false,
                extra_query: Vec::new(),
                timeout: None,
                cache_ttl: None,
                identity: None,
            },
        )
    }

    /// The call's timeout: its own, or the runtime's.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(self.runtime.inner.timeout)
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
    /// The token of other token headers (their values are made in `token_values`).
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

/// The token headers of a request, in their order. The first is held in place, nearly always
/// the usual `Bearer` one (a request then writes nothing more): a request allocates only for
/// a second token header.
#[derive(Default)]
pub(crate) struct TokenHeaders {
    first: Option<FirstTokenHeader>,
    more: Vec<TokenHeader>,
}

/// The first token header of a request.
enum FirstTokenHeader {
    /// The usual `Authorization: Bearer <access token>`.
    Bearer,
    Other(TokenHeader),
}

impl TokenHeaders {
    /// The usual `Authorization: Bearer <access token>`.
    pub(super) fn push_bearer(&mut self) {
        match self.first {
            None => self.first = Some(FirstTokenHeader::Bearer),
            Some(_) => self.more.push(BEARER_HEADER.clone()),
        }
    }

    pub(super) fn push(&mut self, header: TokenHeader) {
        match self.first {
            None => self.first = Some(FirstTokenHeader::Other(header)),
            Some(_) => self.more.push(header),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &TokenHeader> {
        let first = self.first.as_ref().map(|first| match first {
            FirstTokenHeader::Bearer => &BEARER_HEADER,
            FirstTokenHeader::Other(header) => header,
        });
        first.into_iter().chain(&self.more)
    }

    /// The name of the first token header (`Authorization` when there is none).
    pub(crate) fn first_name(&self) -> &HeaderName {
        match &self.first {
            Some(FirstTokenHeader::Other(header)) => &header.name,
            Some(FirstTokenHeader::Bearer) | None => &BEARER_HEADER.name,
        }
    }

    /// Whether the usual `Bearer` header is the only one.
    pub(crate) fn only_bearer(&self) -> bool {
        self.more.is_empty()
            && match &self.first {
                Some(FirstTokenHeader::Bearer) => true,
                Some(FirstTokenHeader::Other(header)) => header.is_bearer(),
                None => false,
            }
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
    fn token_headers_keep_their_order_and_one_alone_allocates_nothing() {
        let mut alone = TokenHeaders::default();
        assert!(alone.is_empty() && !alone.only_bearer());
        alone.push_bearer();
        assert!(!alone.is_empty() && alone.only_bearer());
        assert_eq!(names(&alone), ["authorization"]);
        assert!(alone.iter().all(TokenHeader::is_bearer));
        assert_eq!(alone.more.capacity(), 0);

        let mut custom_alone = TokenHeaders::default();
        custom_alone.push(custom());
        assert!(!custom_alone.only_bearer());
        assert_eq!(names(&custom_alone), ["x-token"]);
        assert_eq!(custom_alone.first_name().as_str(), "x-token");
        assert_eq!(custom_alone.more.capacity(), 0);

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
}
