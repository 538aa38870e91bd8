//! [`RequestBuilder`]: what a generated method returns; the body and extras are added here,
//! then [`RequestBuilder::send`] sends it.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use tracing::Instrument as _;

use super::draft::Draft;
use super::token::Preparing;
use crate::error::InvokeError;
use crate::response::Response;

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
            .field("body_bytes", &draft.body().map(Bytes::len))
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
                let extras = draft.extras_mut();
                extras.body = Some(Bytes::from(body));
                extras.json = true;
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
        let extras = self.0.extras_mut();
        extras.body = Some(body.into());
        extras.json = false;
        self
    }

    /// Adds a query parameter. A key the template's `query` already sets keeps the template's value.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.extras_mut().query.push((key.into(), value.into()));
        self
    }

    /// Answers from the runtime's response cache when the same GET (same URL, same token
    /// key, same headers) got a 2xx within `ttl`, else sends it and keeps a 2xx answer for
    /// `ttl` (FDK's `invokeTemplate` `cache` and `ttl`). A cached answer's
    /// [`Response::attempts`] is 0. Other methods are never cached: on them it does nothing.
    pub fn cache(mut self, ttl: Duration) -> Self {
        self.0.extras_mut().cache_ttl = Some(ttl);
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
        // The usual request is ready at once: no future of `prepare` is made and polled.
        let prepared = match self.start() {
            Ok(Preparing::Ready(prepared)) => Ok(prepared),
            Ok(Preparing::Waiting(waiting)) => waiting.wait().await,
            Err(error) => Err(error),
        };
        match prepared {
            // With its timeout: the app's own client sends it.
            Ok(mut prepared) => prepared.last_request(false),
            Err(error) => Err(*error),
        }
    }

    /// Sends the request: `options.maxAttempts` attempts on connection errors, timeouts, 429
    /// and 5xx (waiting `retryDelay`, or the server's `Retry-After` up to the runtime's cap);
    /// after a 401, one refresh of the token and one replay. A status that is not 2xx is an
    /// [`InvokeError::Status`].
    pub async fn send(self) -> Result<Response, InvokeError> {
        let template = self.0.template.name;
        let span = tracing::info_span!(
            "oauth_runtime.invoke",
            template,
            installation = self.0.installation.as_str(),
            method = self.0.template.method.as_str(),
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        // The attempts' state (a retry's timer, the body being read) lives in one allocation:
        // a caller's task, of which thousands may wait at once, stays a few words.
        let attempts = Box::pin(self.send_attempts());
        let started = std::time::Instant::now();
        // Without a subscriber that wants the span, it is not entered at every poll.
        let result = if span.is_disabled() {
            attempts.await
        } else {
            attempts.instrument(span.clone()).await
        };
        let took = started.elapsed();
        let (status, attempts) = match &result {
            Ok(response) => (Some(response.status()), response.attempts()),
            Err(error) => (error.status(), error.attempts()),
        };
        crate::metrics::call(template, status, attempts, took);
        if !span.is_disabled() {
            span.record("duration_ms", took.as_millis() as u64);
            span.record("attempts", attempts);
            if let Some(status) = status {
                span.record("status", status.as_u16());
            }
        }
        result
    }
}
