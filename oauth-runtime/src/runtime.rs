//! [`Runtime`]: the HTTP client and settings shared by every generated client.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::tokens::TokenSource;

/// FDK's default timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// FDK's response limit (6 MB).
const DEFAULT_MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// The HTTP client, limits and token source shared by generated clients. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub(crate) http: reqwest::Client,
    pub(crate) timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) allow_insecure_http: bool,
    pub(crate) tokens: Option<Arc<dyn TokenSource>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("timeout", &self.inner.timeout)
            .field("max_response_bytes", &self.inner.max_response_bytes)
            .field("allow_insecure_http", &self.inner.allow_insecure_http)
            .field("tokens", &self.inner.tokens.as_ref().map(|_| "configured"))
            .finish()
    }
}

impl Runtime {
    /// Settings start at FDK's defaults: 15 s timeout, 6 MiB responses, https only (plain http
    /// to loopback is allowed, for local testing).
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder {
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            allow_insecure_http: false,
            tokens: None,
        }
    }
}

/// Configures a [`Runtime`].
pub struct RuntimeBuilder {
    timeout: Duration,
    max_response_bytes: usize,
    allow_insecure_http: bool,
    tokens: Option<Arc<dyn TokenSource>>,
}

impl fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish_non_exhaustive()
    }
}

impl RuntimeBuilder {
    /// The timeout of each request, unless a call sets its own.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest response body accepted, in bytes.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Allows plain `http` to hosts other than loopback (never do this in production).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Where access tokens come from, for templates with `options.oauth` / `isOAuth`.
    pub fn tokens(mut self, source: impl TokenSource) -> Self {
        self.tokens = Some(Arc::new(source));
        self
    }

    /// Builds the runtime and its HTTP client.
    pub fn build(self) -> Result<Runtime, BuildError> {
        // Redirects are not followed: a redirect must not carry a token to another place.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| BuildError { source })?;
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                http,
                timeout: self.timeout,
                max_response_bytes: self.max_response_bytes,
                allow_insecure_http: self.allow_insecure_http,
                tokens: self.tokens,
            }),
        })
    }
}

/// The HTTP client could not be created (its TLS setup failed).
#[derive(Debug)]
pub struct BuildError {
    source: reqwest::Error,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the HTTP client could not be created")
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
