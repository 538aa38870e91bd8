//! [`Shared`]: what every handle of a runtime shares, and each of its calls holds while it is
//! composed and sent. The runtime makes it (`RuntimeBuilder::build`); requests read it, and
//! never the runtime itself, so that `request` does not import `runtime`.

use std::sync::Arc;
use std::time::Duration;

use super::cache::ResponseCache;
use super::{Budgets, SharedStarts};
use crate::http_clients::IdentityClients;
use crate::refresh::TokenManager;
use crate::tokens::TokenSource;

/// The HTTP client, limits, token source and caches of a runtime.
pub(crate) struct Shared {
    pub(crate) http: reqwest::Client,
    /// Whether `http` times a request out after `timeout` (the runtime built it): a call
    /// with no timeout of its own then sets none on its requests.
    pub(crate) client_times_out: bool,
    pub(crate) timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) allow_insecure_http: bool,
    pub(crate) max_retry_wait: Duration,
    pub(crate) tokens: Option<Arc<dyn TokenSource>>,
    pub(crate) manager: Option<Arc<TokenManager>>,
    /// GET answers kept at the caller's request ([`RequestBuilder::cache`](super::RequestBuilder::cache)).
    pub(crate) cache: ResponseCache,
    /// The templates' fixed URL starts, composed and parsed, for every client made from this
    /// runtime.
    pub(crate) starts: SharedStarts,
    /// The clients of templates that present a client certificate.
    pub(crate) identities: IdentityClients,
    /// Each installation's request budget, when there is one.
    pub(crate) budgets: Option<Budgets>,
}
