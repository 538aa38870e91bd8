//! [`RequestBuilder`]: what a generated method returns; the body and extras are added here,
//! then [`RequestBuilder::send`] sends it.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

use crate::compose::TemplateInfo;
use crate::error::InvokeError;
use crate::response::Response;
use crate::runtime::Runtime;
use crate::tokens::{Subject, TokenKey};

/// A request composed from a template, before the token is added.
pub(crate) struct Composed {
    pub(crate) url: url::Url,
    pub(crate) headers: HeaderMap,
    pub(crate) token_headers: Vec<(HeaderName, String, String)>,
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

    /// Sends the request. A status that is not 2xx is an [`InvokeError::Status`].
    pub async fn send(self) -> Result<Response, InvokeError> {
        let template = self.template;
        let inner = &self.runtime.inner;
        let mut composed = self.composed?;
        let template_keys = template.query_keys;
        let extra = self
            .extra_query
            .iter()
            .filter(|(k, _)| !template_keys.contains(&k.as_str()));
        let mut extra = extra.peekable();
        if extra.peek().is_some() {
            composed.url.query_pairs_mut().extend_pairs(extra);
        }
        if !composed.token_headers.is_empty() {
            add_token(&self.runtime, template, &mut composed).await?;
        }
        if self.json && !composed.headers.contains_key(CONTENT_TYPE) {
            composed
                .headers
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let mut request = inner
            .http
            .request(template.method.to_reqwest(), composed.url)
            .headers(composed.headers)
            .timeout(self.timeout.unwrap_or(inner.timeout));
        if let Some(body) = self.body {
            request = request.body(body);
        }
        let attempts = 1;
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(template.name, attempts, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_capped(response, inner.max_response_bytes, template.name, attempts).await?;
        if !status.is_success() {
            return Err(InvokeError::Status {
                template: template.name,
                status,
                headers,
                body,
                attempts,
            });
        }
        Ok(Response::new(status, headers, body, attempts))
    }
}

async fn add_token(
    runtime: &Runtime,
    template: &'static TemplateInfo,
    composed: &mut Composed,
) -> Result<(), InvokeError> {
    let integration = template.integration.unwrap_or("oauth");
    let token_error = |message: &str| InvokeError::Token {
        template: template.name,
        integration,
        source: crate::TokenError::new(message),
    };
    let Some(source) = &runtime.inner.tokens else {
        return Err(token_error("the runtime has no token source"));
    };
    let key = TokenKey {
        integration: integration.to_string(),
        subject: composed.subject.clone(),
    };
    let token = source
        .access_token(&key)
        .await
        .map_err(|source| InvokeError::Token {
            template: template.name,
            integration,
            source,
        })?;
    for (name, prefix, suffix) in composed.token_headers.drain(..) {
        let mut value = HeaderValue::from_str(&format!("{prefix}{}{suffix}", token.secret()))
            .map_err(|_| token_error("the token is not a valid header value"))?;
        value.set_sensitive(true);
        composed.headers.append(name, value);
    }
    Ok(())
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
