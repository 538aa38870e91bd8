//! [`Response`]: a successful answer, read whole.

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

/// A 2xx response, its body read whole (within the runtime's size limit). `Debug` shows the
/// body's size, not its content, and header values only for harmless headers.
#[derive(Clone)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    attempts: u32,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &crate::error::SafeHeaders(&self.headers))
            .field("body_bytes", &self.body.len())
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl Response {
    pub(crate) fn new(status: StatusCode, headers: HeaderMap, body: Bytes, attempts: u32) -> Self {
        Response {
            status,
            headers,
            body,
            attempts,
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body as text (invalid UTF-8 is replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body's bytes.
    pub fn bytes(&self) -> Bytes {
        self.body.clone()
    }

    /// The body's bytes, taken: no other handle to the buffer is made.
    pub fn into_bytes(self) -> Bytes {
        self.body
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// How many attempts it took: 0 for an answer from the response cache
    /// ([`RequestBuilder::cache`](crate::RequestBuilder::cache)).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    pub(crate) fn body_len(&self) -> usize {
        self.body.len()
    }

    /// The same answer, from the cache.
    pub(crate) fn cached(mut self) -> Response {
        self.attempts = 0;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_header_value_or_body_that_may_hold_a_secret() {
        let mut headers = HeaderMap::new();
        headers.insert("set-cookie", "session=sekrit-cookie".parse().unwrap());
        headers.insert("x-echo-credential", "Bearer sekrit-token".parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        let response = Response::new(StatusCode::OK, headers, Bytes::from_static(b"sekrit"), 1);
        let shown = format!("{response:?}");
        assert!(!shown.contains("sekrit"), "{shown}");
        assert!(
            shown.contains("application/json") && shown.contains("body_bytes: 6"),
            "{shown}"
        );
    }
}
