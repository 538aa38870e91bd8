//! [`RequestBuilder`]: what a generated method returns; the body and extras are added here,
//! then [`RequestBuilder::send`] sends it.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Serialize;
use tracing::Instrument as _;

use crate::compose::{TemplateInfo, TokenHeaders};
use crate::error::InvokeError;
use crate::response::Response;
use crate::retry::{retryable_status, wait_before_retry};
use crate::runtime::Runtime;
use crate::tokens::{AccessToken, Subject, TokenError, TokenKey, TokenSource};

/// Everything a request is made of. Boxed: builder calls and awaits move one pointer.
pub(crate) struct Draft {
    pub(crate) runtime: Runtime,
    pub(crate) template: &'static TemplateInfo,
    /// The first thing that went wrong while composing; returned by `send`.
    pub(crate) error: Option<Box<InvokeError>>,
    /// Set once composed (unless there is an error); taken by the last attempt.
    pub(crate) url: Option<url::Url>,
    pub(crate) headers: HeaderMap,
    pub(crate) token_headers: TokenHeaders,
    pub(crate) subject: Subject,
    pub(crate) body: Option<Bytes>,
    pub(crate) json: bool,
    pub(crate) extra_query: Vec<(String, String)>,
    pub(crate) timeout: Option<Duration>,
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
                subject: Subject::Installation,
                body: None,
                json: false,
                extra_query: Vec::new(),
                timeout: None,
            },
        )
    }

    /// Keeps `error` unless an earlier one is kept already.
    pub(crate) fn fail(&mut self, error: impl Into<Box<InvokeError>>) {
        if self.error.is_none() {
            self.error = Some(error.into());
        }
    }
}

/// A request ready to be sent: add a body, query parameters or a timeout, then `send()`.
#[must_use = "a request does nothing until it is sent with `.send().await`"]
pub struct RequestBuilder(pub(crate) Box<Draft>);

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values and the body may hold secrets: show only the shape.
        let draft = &self.0;
        f.debug_struct("RequestBuilder")
            .field("template", &draft.template.name)
            .field("method", &draft.template.method)
            .field("ok", &draft.error.is_none())
            .field("body_bytes", &draft.body.as_ref().map(Bytes::len))
            .field("timeout", &draft.timeout)
            .finish_non_exhaustive()
    }
}

impl RequestBuilder {
    pub(crate) fn new(draft: Box<Draft>) -> Self {
        RequestBuilder(draft)
    }

    /// Sends `value` as a JSON body (`Content-Type: application/json` unless the template sets one).
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        let draft = &mut self.0;
        match serde_json::to_vec(value) {
            Ok(body) => {
                draft.body = Some(Bytes::from(body));
                draft.json = true;
            }
            Err(source) => draft.fail(InvokeError::Body {
                template: draft.template.name,
                source,
            }),
        }
        self
    }

    /// Sends `body` as is.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.0.body = Some(body.into());
        self.0.json = false;
        self
    }

    /// Adds a query parameter. A key the template's `query` already sets keeps the template's value.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.extra_query.push((key.into(), value.into()));
        self
    }

    /// The timeout of this call (instead of the runtime's).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.0.timeout = Some(timeout);
        self
    }

    /// The request as the first attempt sends it, token included: to inspect it, or to
    /// send it with a client of your own (without the runtime's retries and refresh).
    pub async fn build(self) -> Result<reqwest::Request, InvokeError> {
        self.prepare().await?.request(true, false)
    }

    /// Sends the request: `options.maxAttempts` attempts on connection errors, timeouts, 429
    /// and 5xx (waiting `retryDelay`, or the server's `Retry-After` up to the runtime's cap);
    /// after a 401, one refresh of the token and one replay. A status that is not 2xx is an
    /// [`InvokeError::Status`].
    pub async fn send(self) -> Result<Response, InvokeError> {
        let span = tracing::info_span!(
            "oauth_runtime.invoke",
            template = self.0.template.name,
            method = self.0.template.method.as_str(),
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        // The attempts' state (a retry's timer, the body being read) lives in one allocation:
        // a caller's task, of which thousands may wait at once, stays a few words.
        let attempts = Box::pin(self.send_attempts());
        // Without a subscriber that wants the span, it is neither entered at every poll nor
        // timed.
        if span.is_disabled() {
            return attempts.await;
        }
        let started = std::time::Instant::now();
        let result = attempts.instrument(span.clone()).await;
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        match &result {
            Ok(response) => {
                span.record("attempts", response.attempts());
                span.record("status", response.status().as_u16());
            }
            Err(error) => {
                span.record("attempts", error.attempts());
                if let Some(status) = error.status() {
                    span.record("status", status.as_u16());
                }
            }
        }
        result
    }

    async fn send_attempts(self) -> Result<Response, InvokeError> {
        let template = self.0.template;
        let mut prepared = self.prepare().await?;
        let delay = Duration::from_millis(u64::from(template.retry_delay_ms));
        let mut attempts = 0;
        let mut retries_left = u32::from(template.max_attempts.max(1)) - 1;
        let mut replayed = false;
        loop {
            attempts += 1;
            // The last attempt takes the request's parts; so does one that can only be
            // followed by a replay after a 401, whose URL the response gives back.
            let last = retries_left == 0 && (replayed || prepared.token.is_none());
            let keep_url = retries_left > 0;
            let request = prepared.request(last, keep_url)?;
            // The runtime is borrowed from the request, not cloned: every call would touch
            // its shared reference count.
            let inner = &prepared.draft.runtime.inner;
            let mut response = match inner.http.execute(request).await {
                Ok(response) => response,
                Err(error) if retries_left > 0 => {
                    retries_left -= 1;
                    tracing::debug!(attempt = attempts, error = %error.without_url(), "no answer; trying again");
                    tokio::time::sleep(delay).await;
                    continue;
                }
                Err(error) => return Err(transport_error(template.name, attempts, error)),
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED
                && !replayed
                && let Some(rejected) = prepared.token.clone()
                && inner.tokens.as_ref().is_some_and(|t| t.can_renew())
            {
                replayed = true;
                if prepared.draft.url.is_none() {
                    // Redirects are not followed: the response's URL is the one sent.
                    prepared.draft.url = Some(response.url().clone());
                }
                if prepared.renew_token(&rejected).await? {
                    tracing::debug!(attempt = attempts, "401: token renewed; replaying once");
                    continue;
                }
            }
            let inner = &prepared.draft.runtime.inner;
            if retryable_status(status)
                && retries_left > 0
                && let Some(wait) =
                    wait_before_retry(Some(response.headers()), delay, inner.max_retry_wait)
            {
                retries_left -= 1;
                tracing::debug!(
                    attempt = attempts,
                    status = status.as_u16(),
                    wait_ms = wait.as_millis() as u64,
                    "trying again"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            // Taken, not copied: the response is read whole below and dropped.
            let headers = std::mem::take(response.headers_mut());
            let body =
                read_capped(response, inner.max_response_bytes, template.name, attempts).await?;
            if !status.is_success() {
                return Err(InvokeError::Status {
                    template: template.name,
                    status,
                    headers,
                    body,
                    attempts,
                });
            }
            return Ok(Response::new(status, headers, body, attempts));
        }
    }

    /// Everything but the token is fixed from here on. A token not at hand is awaited in a
    /// box: only that is kept across the await, so the future of `build` stays a few words.
    async fn prepare(self) -> Result<Prepared, InvokeError> {
        let awaiting = match self.start()? {
            Preparing::Ready(prepared) => return Ok(prepared),
            Preparing::AwaitingToken(prepared, key) => Box::pin(prepared.fetch_token(key)),
        };
        awaiting.await
    }

    /// Fixes the request; it is ready unless its token must be awaited.
    fn start(self) -> Result<Preparing, InvokeError> {
        let mut draft = self.0;
        if let Some(error) = draft.error.take() {
            return Err(*error);
        }
        let template = draft.template;
        let template_keys = template.query_keys;
        if let Some(url) = draft.url.as_mut()
            && draft
                .extra_query
                .iter()
                .any(|(k, _)| !template_keys.contains(&k.as_str()))
        {
            let extra = draft
                .extra_query
                .iter()
                .filter(|(k, _)| !template_keys.contains(&k.as_str()));
            url.query_pairs_mut().extend_pairs(extra);
        }
        if draft.json && !draft.headers.contains_key(CONTENT_TYPE) {
            draft
                .headers
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let timeout = draft.timeout.unwrap_or(draft.runtime.inner.timeout);
        let subject = std::mem::replace(&mut draft.subject, Subject::Installation);
        let mut prepared = Prepared {
            draft,
            key: None,
            token: None,
            timeout,
        };
        if prepared.draft.token_headers.is_empty() {
            return Ok(Preparing::Ready(prepared));
        }
        let key = TokenKey {
            integration: Cow::Borrowed(prepared.integration()),
            subject,
        };
        let ready = token_source(&prepared.draft.runtime, template)?.ready_token(&key);
        match ready {
            Some(Ok(token)) => {
                prepared.key = Some(key);
                prepared.set_token(token)?;
                Ok(Preparing::Ready(prepared))
            }
            // The template's own fault goes before a token error or a wait for the token.
            Some(Err(error)) => {
                prepared.check_token_header_text()?;
                Err(prepared.token_error_for(error))
            }
            None => {
                prepared.check_token_header_text()?;
                Ok(Preparing::AwaitingToken(prepared, key))
            }
        }
    }
}

/// A request fixed but for its token, which may have to be awaited.
enum Preparing {
    Ready(Prepared),
    /// The token of this key is to be awaited.
    AwaitingToken(Prepared, TokenKey),
}

fn token_source<'r>(
    runtime: &'r Runtime,
    template: &'static TemplateInfo,
) -> Result<&'r dyn TokenSource, InvokeError> {
    runtime.inner.tokens.as_deref().ok_or_else(|| {
        InvokeError::from_token(
            template.name,
            template.integration.unwrap_or(LEGACY_INTEGRATION),
            TokenError::new(
                "the runtime has no token source (see RuntimeBuilder::store or ::tokens)",
            ),
        )
    })
}

/// The legacy format's single integration (`isOAuth: true`).
const LEGACY_INTEGRATION: &str = "oauth";

/// A request ready to go out, as many times as its attempts need.
struct Prepared {
    draft: Box<Draft>,
    key: Option<TokenKey>,
    token: Option<AccessToken>,
    timeout: Duration,
}

impl Prepared {
    /// Awaits the token of `key` from the token source (a refresh, a store read).
    async fn fetch_token(mut self, key: TokenKey) -> Result<Prepared, InvokeError> {
        let token = token_source(&self.draft.runtime, self.draft.template)?
            .access_token(&key)
            .await
            .map_err(|e| self.token_error_for(e))?;
        self.key = Some(key);
        self.set_token(token)?;
        Ok(self)
    }

    fn integration(&self) -> &'static str {
        self.draft
            .template
            .integration
            .unwrap_or(LEGACY_INTEGRATION)
    }

    fn token_error(&self, error: TokenError) -> InvokeError {
        InvokeError::from_token(self.draft.template.name, self.integration(), error)
    }

    /// A token error, with the URL to authorize at when the user must (agent integrations).
    fn token_error_for(&self, error: TokenError) -> InvokeError {
        let mut error = self.token_error(error);
        if let InvokeError::ReauthorizationRequired {
            integration,
            subject: subject @ Subject::User(_),
            authorize_url,
            ..
        } = &mut error
            && let Some(manager) = self.draft.runtime.inner.manager.as_deref()
        {
            *authorize_url = manager.authorize_url_for(integration, subject);
        }
        error
    }

    /// The request of one attempt; the `last` one takes the parts instead of copying them,
    /// and the URL is copied only when a retry may need it (`keep_url`).
    fn request(&mut self, last: bool, keep_url: bool) -> Result<reqwest::Request, InvokeError> {
        let draft = &mut self.draft;
        // The last attempt never keeps the URL: no retry follows it.
        let url = if keep_url {
            draft.url.clone()
        } else {
            draft.url.take()
        };
        // A composed request has its URL until the last attempt takes it.
        let url = url.ok_or_else(|| InvokeError::InvalidValue {
            template: draft.template.name,
            placeholder: "path",
            reason: "left no URL to send to",
        })?;
        let mut request = reqwest::Request::new(draft.template.method.to_reqwest(), url);
        if last {
            *request.headers_mut() = std::mem::take(&mut draft.headers);
            *request.body_mut() = draft.body.take().map(reqwest::Body::from);
        } else {
            *request.headers_mut() = draft.headers.clone();
            *request.body_mut() = draft.body.clone().map(reqwest::Body::from);
        }
        *request.timeout_mut() = Some(self.timeout);
        Ok(request)
    }

    /// The text around the token in its headers, checked: done when the header is made, and
    /// before the token when that is not at hand.
    fn check_token_header_text(&self) -> Result<(), InvokeError> {
        let template = self.draft.template.name;
        self.draft
            .token_headers
            .iter()
            .try_for_each(|header| header.check_text(template))
    }

    /// Writes the token into its headers.
    fn set_token(&mut self, token: AccessToken) -> Result<(), InvokeError> {
        let Draft {
            token_headers,
            headers,
            ..
        } = &mut *self.draft;
        let secret = token.secret();
        let mut made = true;
        for header in token_headers.iter() {
            let (prefix, suffix) = (&header.prefix, &header.suffix);
            let mut text = String::with_capacity(prefix.len() + secret.len() + suffix.len());
            text.push_str(prefix);
            text.push_str(secret);
            text.push_str(suffix);
            match HeaderValue::from_maybe_shared(Bytes::from(text)) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    headers.insert(header.name.clone(), value);
                }
                Err(_) => {
                    made = false;
                    break;
                }
            }
        }
        if !made {
            // The template's text is at fault, or else the token.
            self.check_token_header_text()?;
            return Err(self.token_error(TokenError::new(
                "the access token is not a valid header value",
            )));
        }
        self.token = Some(token);
        Ok(())
    }

    /// After a 401: the token source's replacement for `rejected`, written into the headers;
    /// false when there is none better and the 401 stands.
    async fn renew_token(&mut self, rejected: &AccessToken) -> Result<bool, InvokeError> {
        let source = token_source(&self.draft.runtime, self.draft.template)?;
        let Some(key) = &self.key else {
            return Ok(false);
        };
        match source.rejected(key, rejected).await {
            Ok(token) => self.set_token(token).map(|()| true),
            Err(TokenError::NotRenewed { .. }) => Ok(false),
            Err(error) => Err(self.token_error_for(error)),
        }
    }
}

fn transport_error(template: &'static str, attempts: u32, error: reqwest::Error) -> InvokeError {
    if error.is_timeout() {
        InvokeError::Timeout { template, attempts }
    } else if error.is_connect() {
        InvokeError::Connect {
            template,
            attempts,
            source: error.without_url(),
        }
    } else {
        InvokeError::Transport {
            template,
            attempts,
            source: error.without_url(),
        }
    }
}

/// Reads the body, failing as soon as it passes `limit`.
async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
    template: &'static str,
    attempts: u32,
) -> Result<Bytes, InvokeError> {
    let too_large = InvokeError::ResponseTooLarge {
        template,
        limit,
        attempts,
    };
    let read_error = |e| transport_error(template, attempts, e);
    match response.content_length() {
        Some(n) if n > limit as u64 => return Err(too_large),
        // A declared length within the limit: hyper stops at it, so the body is read whole
        // without copying its chunks.
        Some(_) => return response.bytes().await.map_err(read_error),
        None => {}
    }
    // No length: chunk by chunk, against the limit. A body of one chunk (the usual) is kept as
    // it came; only a second chunk makes a buffer.
    let Some(first) = response.chunk().await.map_err(read_error)? else {
        return Ok(Bytes::new());
    };
    if first.len() > limit {
        return Err(too_large);
    }
    let Some(second) = response.chunk().await.map_err(read_error)? else {
        return Ok(first);
    };
    let mut body = Vec::with_capacity(first.len() + second.len());
    body.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if body.len() + chunk.len() > limit {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
        next = response.chunk().await.map_err(read_error)?;
    }
    Ok(Bytes::from(body))
}
