//! Sending a prepared request: its attempts (retries on connection errors, timeouts, 429 and
//! 5xx; one replay after a 401 with a renewed token) and reading the answer within the limit.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;

use super::builder::RequestBuilder;
use super::cache::CacheKey;
use super::draft::{Draft, MethodKind, SentToken};
use super::token::Prepared;
use crate::error::InvokeError;
use crate::response::Response;
use crate::retry::{retryable_status, wait_before_retry};

impl RequestBuilder {
    /// The attempts of [`RequestBuilder::send`], until an answer that is not retried.
    pub(super) async fn send_attempts(self) -> Result<Response, InvokeError> {
        let template = self.0.template;
        let mut prepared = self.prepare().await.map_err(|error| *error)?;
        // Boxed: held across every wait of the call, and rarely there.
        let cache_key = prepared.cache_key().map(Box::new);
        if let Some(key) = &cache_key
            && let Some(hit) = prepared.draft.shared.cache.get(key)
        {
            return Ok(hit.cached());
        }
        prepared.wait_for_budget().await?;
        let http = match prepared.draft.identity() {
            Some(identity) => {
                let identities = &prepared.draft.shared.identities;
                let client = Box::pin(identities.client(identity))
                    .await
                    .map_err(|error| InvokeError::ClientCertificate {
                        template: template.name,
                        reason: error.reason(),
                    })?;
                Some(client)
            }
            None => None,
        };
        let delay = Duration::from_millis(u64::from(template.retry_delay_ms));
        let mut attempts = 0;
        let mut retries_left = u32::from(template.max_attempts.max(1)) - 1;
        // A 401 can be followed by a replay only with a token its source can renew.
        let renewable = prepared.draft.token.is_some()
            && prepared
                .draft
                .shared
                .tokens
                .as_ref()
                .is_some_and(|tokens| tokens.can_renew());
        // The clients the runtime builds (its own, an identity's) time a request out after
        // the runtime's timeout.
        let client_times_out = http.is_some() || prepared.draft.shared.client_times_out;
        let mut replayed = false;
        loop {
            attempts += 1;
            // The last attempt takes the request's parts; so does one that can only be
            // followed by a replay after a 401, whose URL the response gives back.
            let last = retries_left == 0 && (replayed || !renewable);
            let keep_url = retries_left > 0;
            let request = prepared.request(last, keep_url, client_times_out)?;
            // What the runtime's calls share is borrowed from the request, not cloned: every
            // call would touch its reference count.
            let shared = &prepared.draft.shared;
            let http = http.as_ref().unwrap_or(&shared.http);
            let mut response = match http.execute(request).await {
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
                && renewable
                && let Some(rejected) = prepared.draft.token.as_ref().map(SentToken::access_token)
            {
                replayed = true;
                if prepared.draft.url.is_none() {
                    // Redirects are not followed: the response's URL is the one sent.
                    prepared.draft.url = Some(response.url().clone());
                }
                if Box::pin(prepared.renew_token(&rejected)).await? {
                    tracing::debug!(attempt = attempts, "401: token renewed; replaying once");
                    continue;
                }
            }
            let shared = &prepared.draft.shared;
            if retryable_status(status)
                && retries_left > 0
                && let Some(wait) =
                    wait_before_retry(Some(response.headers()), delay, shared.max_retry_wait)
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
            // Its own allocation: the call's future then stays within the allocator's
            // quickest sizes (under a kilobyte each), as the attempts' state alone took more.
            let body = Box::pin(read_capped(
                response,
                shared.max_response_bytes,
                template.name,
                attempts,
            ))
            .await?;
            if !status.is_success() {
                return Err(InvokeError::Status {
                    template: template.name,
                    status,
                    headers,
                    body,
                    attempts,
                });
            }
            let response = Response::new(status, headers, body, attempts);
            if let (Some(key), Some(ttl)) = (cache_key, prepared.draft.cache_ttl()) {
                shared.cache.put(*key, &response, ttl);
            }
            return Ok(response);
        }
    }
}

impl Prepared {
    /// The response cache's key of a GET asked to be cached (without a body).
    fn cache_key(&self) -> Option<CacheKey> {
        let draft = &self.draft;
        let url = draft.url.as_ref()?;
        if draft.cache_ttl().is_none()
            || draft.template.method != MethodKind::Get
            || draft.body().is_some()
        {
            return None;
        }
        let key = (!draft.token_headers.is_empty()).then(|| self.key());
        let token_headers: Vec<_> = draft
            .token_headers
            .iter()
            .map(|h| (h.name.clone(), h.prefix.clone(), h.suffix.clone()))
            .collect();
        Some(CacheKey::new(
            url,
            &draft.installation,
            key,
            draft.identity().map(|identity| identity.digest),
            &draft.headers,
            token_headers,
        ))
    }

    /// The request of one attempt: the `last` one takes the parts (see
    /// [`last_request`](Self::last_request)); another copies them, and its URL only when a
    /// retry may need it (`keep_url`).
    pub(super) fn request(
        &mut self,
        last: bool,
        keep_url: bool,
        client_times_out: bool,
    ) -> Result<reqwest::Request, InvokeError> {
        if last {
            self.last_request(client_times_out)
        } else {
            self.copied_request(keep_url, client_times_out)
        }
    }

    /// The request of the last attempt, which takes the request's parts instead of copying
    /// them. Its timeout is set unless it is the runtime's and the client sending it has it
    /// (`client_times_out`).
    pub(super) fn last_request(
        &mut self,
        client_times_out: bool,
    ) -> Result<reqwest::Request, InvokeError> {
        let draft = &mut self.draft;
        // A composed request has its URL until the last attempt takes it.
        let Some(url) = draft.url.take() else {
            return Err(no_url(draft.template.name));
        };
        let mut request = reqwest::Request::new(draft.template.method.to_reqwest(), url);
        // Swapped: the request's new empty map goes with the draft, and is not let go here.
        std::mem::swap(request.headers_mut(), &mut draft.headers);
        if let Some(body) = draft.extras.as_mut().and_then(|extras| extras.body.take()) {
            *request.body_mut() = Some(reqwest::Body::from(body));
        }
        set_timeout(draft, &mut request, client_times_out);
        self.take_token_headers(request.headers_mut());
        Ok(request)
    }

    /// The request of an attempt that may be followed by another: the parts copied (the
    /// request's headers other than the token's, usually none, cost nothing), the URL taken
    /// unless a retry may need it (`keep_url`).
    #[inline(never)]
    fn copied_request(
        &mut self,
        keep_url: bool,
        client_times_out: bool,
    ) -> Result<reqwest::Request, InvokeError> {
        let draft = &mut self.draft;
        let url = if keep_url {
            draft.url.clone()
        } else {
            draft.url.take()
        };
        let Some(url) = url else {
            return Err(no_url(draft.template.name));
        };
        let mut request = reqwest::Request::new(draft.template.method.to_reqwest(), url);
        *request.headers_mut() = draft.headers.clone();
        *request.body_mut() = draft.body().cloned().map(reqwest::Body::from);
        set_timeout(draft, &mut request, client_times_out);
        self.copy_token_headers(request.headers_mut());
        Ok(request)
    }
}

/// The call's timeout on `request`, unless it is the runtime's and the client sending it has
/// it (`client_times_out`).
fn set_timeout(draft: &Draft, request: &mut reqwest::Request, client_times_out: bool) {
    if !client_times_out || draft.timeout.is_some() {
        *request.timeout_mut() = Some(draft.timeout());
    }
}

#[cold]
#[inline(never)]
fn no_url(template: &'static str) -> InvokeError {
    InvokeError::InvalidValue {
        template,
        placeholder: "path",
        reason: "left no URL to send to",
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
    response: reqwest::Response,
    limit: usize,
    template: &'static str,
    attempts: u32,
) -> Result<Bytes, InvokeError> {
    match response.content_length() {
        Some(n) if n > limit as u64 => Err(too_large(template, limit, attempts)),
        // A declared length within the limit: hyper stops at it, so the body is read whole
        // without copying its chunks.
        Some(_) => response
            .bytes()
            .await
            .map_err(|e| transport_error(template, attempts, e)),
        // Boxed: the usual answer declares its length, and a call's future stays smaller.
        None => Box::pin(read_chunks(response, limit, template, attempts)).await,
    }
}

/// [`read_capped`] for a body of undeclared length: chunk by chunk, against the limit. A body
/// of one chunk (the usual) is kept as it came; only a second chunk makes a buffer.
async fn read_chunks(
    mut response: reqwest::Response,
    limit: usize,
    template: &'static str,
    attempts: u32,
) -> Result<Bytes, InvokeError> {
    let read_error = |e| transport_error(template, attempts, e);
    let Some(first) = response.chunk().await.map_err(read_error)? else {
        return Ok(Bytes::new());
    };
    if first.len() > limit {
        return Err(too_large(template, limit, attempts));
    }
    let Some(second) = response.chunk().await.map_err(read_error)? else {
        return Ok(first);
    };
    let mut body = Vec::with_capacity(first.len() + second.len());
    body.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if body.len() + chunk.len() > limit {
            return Err(too_large(template, limit, attempts));
        }
        body.extend_from_slice(&chunk);
        next = response.chunk().await.map_err(read_error)?;
    }
    Ok(Bytes::from(body))
}

fn too_large(template: &'static str, limit: usize, attempts: u32) -> InvokeError {
    InvokeError::ResponseTooLarge {
        template,
        limit,
        attempts,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::request::compose::Compose;
    use crate::request::draft::TemplateInfo;

    /// An attempt sets the call's timeout on its request unless the client sending it times
    /// requests out after the runtime's timeout already, and the call has none of its own.
    #[tokio::test]
    async fn an_attempts_request_sets_the_timeout_its_client_has_not() {
        static TEMPLATE: TemplateInfo = TemplateInfo::get("t");
        let runtime = crate::Runtime::builder()
            .timeout(Duration::from_millis(150))
            .build()
            .expect("a runtime");
        let builder = || {
            let mut compose = Compose::new(&runtime, &TEMPLATE);
            compose.host_text("api.example.com");
            compose.finish()
        };
        let timeout = |builder: crate::RequestBuilder, client_times_out: bool| async move {
            let mut prepared = builder.prepare().await.map_err(|e| e.to_string())?;
            let request = prepared
                .request(true, false, client_times_out)
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(request.timeout().copied())
        };
        assert_eq!(timeout(builder(), true).await, Ok(None), "the client's");
        let runtimes = Some(Duration::from_millis(150));
        assert_eq!(timeout(builder(), false).await, Ok(runtimes));
        let own = Some(Duration::from_secs(5));
        let with_own = builder().timeout(Duration::from_secs(5));
        assert_eq!(timeout(with_own, true).await, Ok(own), "the call's own");
    }

    /// glibc's per-thread cache serves blocks up to 1,032 bytes without a lock: every call
    /// allocates its attempts' state and, apart, the body's read, each kept under a kilobyte
    /// (a thousand calls in flight took 1,776 bytes each before).
    #[test]
    fn a_calls_futures_fit_the_allocators_quickest_sizes() {
        static TEMPLATE: TemplateInfo = TemplateInfo::get("t");
        let runtime = crate::Runtime::builder().build().expect("a runtime");
        let builder = || Compose::new(&runtime, &TEMPLATE).finish();
        assert!(size_of_val(&builder().send()) <= 256);
        assert!(size_of_val(&builder().prepare()) <= 256);
        let attempts = size_of_val(&builder().send_attempts());
        assert!(
            attempts <= 1024,
            "the attempts' state takes {attempts} bytes"
        );
        let response: reqwest::Response = http::Response::new(bytes::Bytes::new()).into();
        let read = size_of_val(&super::read_capped(response, 1, "t", 1));
        assert!(read <= 1024, "reading the body takes {read} bytes");
    }
}
