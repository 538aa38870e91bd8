//! [`RequestBuilder`]: what a generated method returns; the body and extras are added here,
//! then [`RequestBuilder::send`] sends it.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Serialize;
use tracing::Instrument as _;

use crate::compose::{TemplateInfo, TokenHeader, TokenHeaders};
use crate::error::InvokeError;
use crate::response::Response;
use crate::retry::{retryable_status, wait_before_retry};
use crate::runtime::Runtime;
use crate::tokens::{AccessToken, Subject, TokenError, TokenKey, TokenSource};

/// A request composed from a template, before the token is added.
pub(crate) struct Composed {
    pub(crate) url: url::Url,
    pub(crate) headers: HeaderMap,
    pub(crate) token_headers: TokenHeaders,
    pub(crate) subject: Subject,
}

/// A request ready to be sent: add a body, query parameters or a timeout, then `send()`.
#[must_use = "a request does nothing until it is sent with `.send().await`"]
pub struct RequestBuilder {
    runtime: Runtime,
    template: &'static TemplateInfo,
    composed: Result<Composed, InvokeError>,
    body: Option<Bytes>,
    json: bool,
    extra_query: Vec<(String, String)>,
    timeout: Option<Duration>,
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values and the body may hold secrets: show only the shape.
        f.debug_struct("RequestBuilder")
            .field("template", &self.template.name)
            .field("method", &self.template.method)
            .field("ok", &self.composed.is_ok())
            .field("body_bytes", &self.body.as_ref().map(Bytes::len))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RequestBuilder {
    pub(crate) fn new(
        runtime: Runtime,
        template: &'static TemplateInfo,
        composed: Result<Composed, InvokeError>,
    ) -> Self {
        RequestBuilder {
            runtime,
            template,
            composed,
            body: None,
            json: false,
            extra_query: Vec::new(),
            timeout: None,
        }
    }

    /// Sends `value` as a JSON body (`Content-Type: application/json` unless the template sets one).
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => {
                self.body = Some(Bytes::from(body));
                self.json = true;
            }
            Err(source) => {
                if self.composed.is_ok() {
                    self.composed = Err(InvokeError::Body {
                        template: self.template.name,
                        source,
                    });
                }
            }
        }
        self
    }

    /// Sends `body` as is.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self.json = false;
        self
    }

    /// Adds a query parameter. A key the template's `query` already sets keeps the template's value.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_query.push((key.into(), value.into()));
        self
    }

    /// The timeout of this call (instead of the runtime's).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The request as the first attempt sends it, token included: to inspect it, or to
    /// send it with a client of your own (without the runtime's retries and refresh).
    pub async fn build(self) -> Result<reqwest::Request, InvokeError> {
        let mut prepared = self.prepare().await?;
        Ok(prepared.request(true))
    }

    /// Sends the request: `options.maxAttempts` attempts on connection errors, timeouts, 429
    /// and 5xx (waiting `retryDelay`, or the server's `Retry-After` up to the runtime's cap);
    /// after a 401, one refresh of the token and one replay. A status that is not 2xx is an
    /// [`InvokeError::Status`].
    pub async fn send(self) -> Result<Response, InvokeError> {
        let span = tracing::info_span!(
            "oauth_runtime.invoke",
            template = self.template.name,
            method = self.template.method.as_str(),
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let started = std::time::Instant::now();
        let result = self.send_attempts().instrument(span.clone()).await;
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
        let template = self.template;
        let runtime = self.runtime.clone();
        let inner = &runtime.inner;
        let mut prepared = self.prepare().await?;
        let delay = Duration::from_millis(u64::from(template.retry_delay_ms));
        let mut attempts = 0;
        let mut retries_left = u32::from(template.max_attempts.max(1)) - 1;
        let mut replayed = false;
        loop {
            attempts += 1;
            let last = retries_left == 0 && (replayed || prepared.token.is_none());
            let request = prepared.request(last);
            let response = match inner.http.execute(request).await {
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
                && runtime.inner.tokens.as_ref().is_some_and(|t| t.can_renew())
            {
                replayed = true;
                if prepared.renew_token(&runtime, &rejected).await? {
                    tracing::debug!(attempt = attempts, "401: token renewed; replaying once");
                    continue;
                }
            }
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
            let headers = response.headers().clone();
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

    /// Everything but the token is fixed from here on.
    async fn prepare(self) -> Result<Prepared, InvokeError> {
        let template = self.template;
        let mut composed = self.composed?;
        let template_keys = template.query_keys;
        if self
            .extra_query
            .iter()
            .any(|(k, _)| !template_keys.contains(&k.as_str()))
        {
            let extra = self
                .extra_query
                .iter()
                .filter(|(k, _)| !template_keys.contains(&k.as_str()));
            composed.url.query_pairs_mut().extend_pairs(extra);
        }
        if self.json && !composed.headers.contains_key(CONTENT_TYPE) {
            composed
                .headers
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let mut prepared = Prepared {
            template,
            key: None,
            token: None,
            token_headers: composed.token_headers,
            url: Some(composed.url),
            headers: composed.headers,
            body: self.body,
            timeout: self.timeout.unwrap_or(self.runtime.inner.timeout),
        };
        if !prepared.token_headers.is_empty() {
            let key = TokenKey {
                integration: Cow::Borrowed(prepared.integration()),
                subject: composed.subject,
            };
            let source = token_source(&self.runtime, template)?;
            let token = match source.ready_token(&key) {
                Some(token) => token,
                None => source.access_token(&key).await,
            }
            .map_err(|e| prepared.token_error_for(&self.runtime, e))?;
            prepared.key = Some(key);
            prepared.set_token(token)?;
        }
        Ok(prepared)
    }
}

fn token_source(
    runtime: &Runtime,
    template: &'static TemplateInfo,
) -> Result<Arc<dyn TokenSource>, InvokeError> {
    runtime.inner.tokens.clone().ok_or_else(|| {
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
    template: &'static TemplateInfo,
    key: Option<TokenKey>,
    token: Option<AccessToken>,
    token_headers: TokenHeaders,
    /// Taken by the last attempt.
    url: Option<url::Url>,
    headers: HeaderMap,
    body: Option<Bytes>,
    timeout: Duration,
}

impl Prepared {
    fn integration(&self) -> &'static str {
        self.template.integration.unwrap_or(LEGACY_INTEGRATION)
    }

    fn token_error(&self, error: TokenError) -> InvokeError {
        InvokeError::from_token(self.template.name, self.integration(), error)
    }

    /// A token error, with the URL to authorize at when the user must (agent integrations).
    fn token_error_for(&self, runtime: &Runtime, error: TokenError) -> InvokeError {
        let mut error = self.token_error(error);
        if let InvokeError::ReauthorizationRequired {
            integration,
            subject: subject @ Subject::User(_),
            authorize_url,
            ..
        } = &mut error
            && let Some(manager) = runtime.inner.manager.as_deref()
        {
            *authorize_url = manager.authorize_url_for(integration, subject);
        }
        error
    }

    /// The request of one attempt; the `last` one takes the parts instead of copying them.
    fn request(&mut self, last: bool) -> reqwest::Request {
        let method = self.template.method.to_reqwest();
        let url = if last {
            self.url.take()
        } else {
            self.url.clone()
        };
        // Each attempt but the last leaves the URL in place.
        let url = url.unwrap_or_else(|| unreachable!("no attempt follows the last"));
        let mut request = reqwest::Request::new(method, url);
        if last {
            *request.headers_mut() = std::mem::take(&mut self.headers);
            *request.body_mut() = self.body.take().map(reqwest::Body::from);
        } else {
            *request.headers_mut() = self.headers.clone();
            *request.body_mut() = self.body.clone().map(reqwest::Body::from);
        }
        *request.timeout_mut() = Some(self.timeout);
        request
    }

    /// Writes the token into its headers.
    fn set_token(&mut self, token: AccessToken) -> Result<(), InvokeError> {
        for TokenHeader {
            name,
            prefix,
            suffix,
        } in self.token_headers.iter()
        {
            let secret = token.secret();
            let mut text = String::with_capacity(prefix.len() + secret.len() + suffix.len());
            text.push_str(prefix);
            text.push_str(secret);
            text.push_str(suffix);
            let mut value = HeaderValue::from_maybe_shared(Bytes::from(text)).map_err(|_| {
                self.token_error(TokenError::new(
                    "the access token is not a valid header value",
                ))
            })?;
            value.set_sensitive(true);
            self.headers.insert(name.clone(), value);
        }
        self.token = Some(token);
        Ok(())
    }

    /// After a 401: the token source's replacement for `rejected`, written into the headers;
    /// false when there is none better and the 401 stands.
    async fn renew_token(
        &mut self,
        runtime: &Runtime,
        rejected: &AccessToken,
    ) -> Result<bool, InvokeError> {
        let source = token_source(runtime, self.template)?;
        let Some(key) = &self.key else {
            return Ok(false);
        };
        match source.rejected(key, rejected).await {
            Ok(token) => self.set_token(token).map(|()| true),
            Err(TokenError::NotRenewed { .. }) => Ok(false),
            Err(error) => Err(self.token_error_for(runtime, error)),
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
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(template, attempts, e))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}
