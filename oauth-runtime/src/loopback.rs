//! [`CallbackServer`]: a one-shot HTTP server on loopback that receives the authorization
//! server's redirect, for command-line tools and local development.

use std::convert::Infallible;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::oauth::authorize::{AuthorizationRequest, Callback, CallbackOutcome};

/// How long the browser waits for the page saying how the authorization ended: longer than a
/// code exchange can take (three attempts of 15 s and their waits).
const PAGE_WAIT: Duration = Duration::from_secs(120);
/// How long a connection may take to send its request's headers: a browser sends them at once,
/// an idle connection only holds a slot.
const HEADER_WAIT: Duration = Duration::from_secs(3);
/// Connections served at once; more wait in the kernel's queue, in order, so a flood of idle
/// connections delays the browser's by a few seconds at most.
const MAX_CONNECTIONS: usize = 32;
/// How long after the wait began a callback is held when the browser was sent to the start
/// address: a second opening of that address in this time (the real browser, late, after
/// someone who read the address from the process list went first) abandons the
/// authorization. Consent usually takes longer; a provider that agrees at once waits for it.
const DEFAULT_START_GRACE: Duration = Duration::from_secs(8);

/// The pause after a failed accept (out of descriptors): the listener is kept, never dropped,
/// so no other program can take the port and receive the code.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Receives one callback on a loopback redirect URI such as FDK's
/// `http://localhost:10001/auth/callback`. It binds 127.0.0.1 only, answers other paths with
/// 404, and its page loads nothing and sends no referrer.
///
/// With [`CallbackServer::browser_start`], the browser is sent to a one-time address on this
/// server instead of the provider's: it sets an HttpOnly cookie and redirects to the provider,
/// and the callback is taken only with that cookie. So the address given to the browser (on a
/// command line, visible to every local user) holds no `state` nor PKCE challenge, and a code
/// delivered by another local user's browser completes nothing.
pub struct CallbackServer {
    listeners: Vec<TcpListener>,
    redirect_uri: url::Url,
    start: Option<BrowserStart>,
    start_grace: Duration,
}

/// The one-time start address: its path's nonce, and the cookie it hands the browser.
struct BrowserStart {
    path: String,
    binding: String,
}

/// The cookie that binds the callback to the browser that opened the start address.
const BINDING_COOKIE: &str = "oauth_templates_callback";

impl fmt::Debug for CallbackServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackServer")
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("browser_start", &self.start.is_some())
            .finish()
    }
}

/// The callback server could not start, or no callback came.
#[derive(Debug)]
#[non_exhaustive]
pub enum CallbackServerError {
    /// The redirect URI is not `http://` on a loopback host with a port.
    NotLoopback(String),
    /// The port could not be bound (another program uses it?).
    Bind {
        /// The address.
        address: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// No callback arrived in time.
    TimedOut(Duration),
    /// The one-time start address was opened a second time: someone else may have opened it
    /// first, so the authorization was abandoned.
    StartReused,
    /// The system's random source failed.
    Random,
}

impl fmt::Display for CallbackServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallbackServerError::NotLoopback(uri) => write!(
                f,
                "the redirect URI `{uri}` is not plain http on localhost or 127.0.0.1 with a port"
            ),
            CallbackServerError::Bind { address, source } => write!(
                f,
                "cannot listen on {address} for the callback ({source}); is another program using the port?"
            ),
            CallbackServerError::TimedOut(wait) => write!(
                f,
                "no callback arrived within {wait:?}: the authorization was not completed"
            ),
            CallbackServerError::StartReused => f.write_str(
                "the authorization's start address was opened twice (someone else may have opened it): abandoned; start again",
            ),
            CallbackServerError::Random => f.write_str("the system's random source failed"),
        }
    }
}

impl std::error::Error for CallbackServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallbackServerError::Bind { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The callback received; [`CallbackReply::finish`] tells the browser how it ended.
pub struct CallbackReply {
    page: oneshot::Sender<(StatusCode, String)>,
    written: Option<oneshot::Receiver<()>>,
}

impl fmt::Debug for CallbackReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackReply")
    }
}

impl CallbackReply {
    /// Shows the browser a page for `outcome`: authorized, cancelled, or failed (`Err`, with
    /// a message that holds no secret), and waits until it is sent (a few seconds at most), so
    /// a program may exit right after.
    pub async fn finish(self, outcome: Result<&CallbackOutcome, &str>) {
        let _ = self.page.send(outcome_page(outcome));
        if let Some(written) = self.written {
            let _ = tokio::time::timeout(PAGE_WAIT, written).await;
        }
    }
}

/// The page that ends an authorization in the browser, and its status.
pub(crate) fn outcome_page(outcome: Result<&CallbackOutcome, &str>) -> (StatusCode, String) {
    let (status, title, text) = match outcome {
        Ok(CallbackOutcome::Authorized { integration, .. }) => (
            StatusCode::OK,
            "Authorized",
            format!(
                "{} is authorized. You can close this window.",
                escape(integration)
            ),
        ),
        Ok(CallbackOutcome::Denied { integration, .. }) => (
            StatusCode::OK,
            "Not authorized",
            format!(
                "You cancelled: {} stays unauthorized. You can close this window.",
                escape(integration)
            ),
        ),
        Err(message) => (
            StatusCode::BAD_REQUEST,
            "Authorization failed",
            escape(message),
        ),
    };
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font:16px system-ui,sans-serif;margin:4em auto;max-width:32em;color:#222}}\
         h1{{font-size:1.4em}}</style></head><body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    (status, page)
}

impl CallbackServer {
    /// Listens for `redirect_uri` (`http://localhost:PORT/PATH` or `http://127.0.0.1:…`;
    /// port 0 picks a free one, see [`CallbackServer::redirect_uri`]).
    pub async fn bind(redirect_uri: &url::Url) -> Result<Self, CallbackServerError> {
        let not_loopback = || CallbackServerError::NotLoopback(redirect_uri.to_string());
        // `localhost` may resolve to either family: both are bound, so no other program can
        // take the one the browser picks.
        let (first, second) = match redirect_uri.host() {
            Some(url::Host::Domain(name)) if name.eq_ignore_ascii_case("localhost") => (
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            ),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => (IpAddr::V4(ip), None),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => (IpAddr::V6(ip), None),
            _ => return Err(not_loopback()),
        };
        if redirect_uri.scheme() != "http" {
            return Err(not_loopback());
        }
        let port = redirect_uri.port().ok_or_else(not_loopback)?;
        let bind = |ip: IpAddr, port: u16| async move {
            let address = SocketAddr::new(ip, port);
            TcpListener::bind(address)
                .await
                .map_err(|source| CallbackServerError::Bind { address, source })
        };
        let listener = bind(first, port).await?;
        let port = listener.local_addr().map_or(port, |a| a.port());
        let mut listeners = vec![listener];
        if let Some(second) = second {
            match bind(second, port).await {
                Ok(listener) => listeners.push(listener),
                // No IPv6 on this machine: nobody can listen there either.
                Err(CallbackServerError::Bind { source, .. })
                    if source.kind() == std::io::ErrorKind::AddrNotAvailable
                        || source.raw_os_error() == Some(97) => {}
                Err(error) => return Err(error),
            }
        }
        let mut redirect_uri = redirect_uri.clone();
        let _ = redirect_uri.set_port(Some(port));
        Ok(CallbackServer {
            listeners,
            redirect_uri,
            start: None,
            start_grace: DEFAULT_START_GRACE,
        })
    }

    /// How long after [`CallbackServer::receive`] begins a callback is held, watching for a
    /// second opening of the start address (default 8 s; zero does not watch).
    pub fn start_grace(mut self, grace: Duration) -> Self {
        self.start_grace = grace;
        self
    }

    /// The address to give the browser instead of the provider's: `http://localhost:PORT/
    /// start/<nonce>`, good once. It sets an HttpOnly cookie and redirects to the provider's
    /// authorize URL; [`CallbackServer::receive`] then takes the callback only with that
    /// cookie, and gives up if the address is opened twice.
    pub fn browser_start(&mut self) -> Result<url::Url, CallbackServerError> {
        let nonce = crate::oauth::pkce::random_token().ok_or(CallbackServerError::Random)?;
        let binding = crate::oauth::pkce::random_token().ok_or(CallbackServerError::Random)?;
        let path = format!("/start/{nonce}");
        let mut url = self.redirect_uri.clone();
        url.set_path(&path);
        url.set_query(None);
        self.start = Some(BrowserStart { path, binding });
        Ok(url)
    }

    /// The redirect URI to register and to send, with the port actually bound.
    pub fn redirect_uri(&self) -> &url::Url {
        &self.redirect_uri
    }

    /// Waits at most `wait` for the callback of `request`: a request to the redirect path whose
    /// `Host` is this server and whose `state` is the request's (compared in constant time).
    /// Anything else gets 404 and the server keeps waiting, so no other program can spend the
    /// callback. Reply to the browser with the returned [`CallbackReply`].
    pub async fn receive(
        self,
        request: &AuthorizationRequest,
        wait: Duration,
    ) -> Result<(Callback, CallbackReply), CallbackServerError> {
        let began = tokio::time::Instant::now();
        let (arrived, callback) = oneshot::channel::<Arrival>();
        let (reused, start_reused) = oneshot::channel::<()>();
        let port = self.redirect_uri.port().unwrap_or_default();
        let expected = Arc::new(Expected {
            path: self.redirect_uri.path().to_string(),
            hosts: [
                format!("localhost:{port}"),
                format!("127.0.0.1:{port}"),
                format!("[::1]:{port}"),
                self.redirect_uri
                    .host_str()
                    .map_or(String::new(), |h| format!("{h}:{port}")),
            ],
            request: request.clone(),
            arrived: Mutex::new(Some(arrived)),
            reused: Mutex::new(Some(reused)),
            start: self.start,
            start_used: std::sync::atomic::AtomicBool::new(false),
        });
        let (written, page_written) = oneshot::channel::<()>();
        let written = Arc::new(Mutex::new(Some(written)));
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        let mut accepting = Vec::new();
        for listener in self.listeners {
            let (expected, written, slots) = (expected.clone(), written.clone(), slots.clone());
            accepting.push(tokio::spawn(async move {
                loop {
                    let Ok(slot) = slots.clone().acquire_owned().await else {
                        return;
                    };
                    let stream = match listener.accept().await {
                        Ok((stream, _)) => stream,
                        Err(error) => {
                            // Out of descriptors, or a connection reset before it was taken:
                            // pause and go on listening (as `axum::serve` does).
                            tracing::debug!(error = %error, "the callback server could not accept a connection");
                            tokio::time::sleep(ACCEPT_BACKOFF).await;
                            continue;
                        }
                    };
                    let expected = expected.clone();
                    let written = written.clone();
                    let served_callback = Arc::new(std::sync::atomic::AtomicBool::new(false));
                    let flag = served_callback.clone();
                    let service = hyper::service::service_fn(move |request: Request<_>| {
                        handle(request, expected.clone(), flag.clone())
                    });
                    tokio::spawn(async move {
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let _ = hyper::server::conn::http1::Builder::new()
                            .timer(hyper_util::rt::TokioTimer::new())
                            .header_read_timeout(HEADER_WAIT)
                            .keep_alive(false)
                            .serve_connection(io, service)
                            .await;
                        drop(slot);
                        // The callback's page is out: whoever waits on `finish` may go.
                        if served_callback.load(std::sync::atomic::Ordering::SeqCst)
                            && let Some(written) = written
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .take()
                        {
                            let _ = written.send(());
                        }
                    });
                }
            }));
        }
        let mut received = tokio::time::timeout(wait, callback).await;
        if expected.start.is_some() && matches!(received, Ok(Ok(Arrival::Callback(..)))) {
            // Held for the rest of the grace: a late second opening of the start address
            // means someone else went first, with their own account.
            let grace = self.start_grace.saturating_sub(began.elapsed());
            if let Ok(Ok(())) = tokio::time::timeout(grace, start_reused).await {
                received = Ok(Ok(Arrival::StartReused));
            }
        }
        // One-shot: no more connections once the callback came (or the wait ended); the
        // listeners were held until now, whatever the accepts met.
        for task in accepting {
            task.abort();
        }
        match received {
            Ok(Ok(Arrival::Callback(callback, mut reply))) => {
                reply.written = Some(page_written);
                Ok((callback, reply))
            }
            Ok(Ok(Arrival::StartReused)) => Err(CallbackServerError::StartReused),
            _ => Err(CallbackServerError::TimedOut(wait)),
        }
    }
}

/// What the one callback looks like.
struct Expected {
    path: String,
    hosts: [String; 4],
    request: AuthorizationRequest,
    arrived: Mutex<Option<oneshot::Sender<Arrival>>>,
    /// Told when the start address is opened a second time after the callback came.
    reused: Mutex<Option<oneshot::Sender<()>>>,
    start: Option<BrowserStart>,
    /// Set when the start address is first opened.
    start_used: std::sync::atomic::AtomicBool,
}

/// What ends the wait: the callback, or the start address opened twice.
enum Arrival {
    Callback(Callback, CallbackReply),
    StartReused,
}

impl Expected {
    fn on_this_host(&self, request: &Request<hyper::body::Incoming>) -> bool {
        let host = request
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// Whether the request carries the browser's binding cookie, when there is one to carry.
    fn sent_by_the_bound_browser(&self, request: &Request<hyper::body::Incoming>) -> bool {
        self.start
            .as_ref()
            .is_none_or(|start| has_cookie(request.headers(), BINDING_COOKIE, &start.binding))
    }

    fn matches(&self, request: &Request<hyper::body::Incoming>) -> bool {
        let state = request.uri().query().and_then(|query| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == "state")
                .map(|(_, value)| value.into_owned())
        });
        request.uri().path() == self.path
            && self.on_this_host(request)
            && state.is_some_and(|state| self.request.has_state(&state))
            && self.sent_by_the_bound_browser(request)
    }

    /// The start address's answer, if `request` is for it: the first time, the cookie and a
    /// redirect to the provider; after that, a refusal, and the authorization is abandoned.
    fn start_page(
        &self,
        request: &Request<hyper::body::Incoming>,
    ) -> Option<Response<Full<Bytes>>> {
        let start = self.start.as_ref()?;
        if request.uri().path() != start.path || !self.on_this_host(request) {
            return None;
        }
        if self
            .start_used
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            if let Some(arrived) = self
                .arrived
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
            {
                let _ = arrived.send(Arrival::StartReused);
            } else if let Some(reused) = self
                .reused
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
            {
                let _ = reused.send(());
            }
            return Some(page(
                StatusCode::BAD_REQUEST,
                outcome_page(Err(
                    "this address was already opened, maybe by someone else: the authorization was abandoned; start again",
                ))
                .1,
            ));
        }
        let mut response = page(StatusCode::FOUND, String::new());
        let cookie = format!(
            "{BINDING_COOKIE}={}; Path={}; HttpOnly; SameSite=Lax",
            start.binding, self.path
        );
        let headers = response.headers_mut();
        if let (Ok(cookie), Ok(location)) = (
            http::HeaderValue::from_str(&cookie),
            http::HeaderValue::from_str(self.request.url().as_str()),
        ) {
            headers.insert(http::header::SET_COOKIE, cookie);
            headers.insert(http::header::LOCATION, location);
        }
        Some(response)
    }
}

async fn handle(
    request: Request<hyper::body::Incoming>,
    expected: Arc<Expected>,
    served_callback: Arc<std::sync::atomic::AtomicBool>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if let Some(response) = expected.start_page(&request) {
        return Ok(response);
    }
    let sender = if expected.matches(&request) {
        expected
            .arrived
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    } else {
        None
    };
    let Some(sender) = sender else {
        return Ok(page(
            StatusCode::NOT_FOUND,
            "<!doctype html><title>Not found</title>".into(),
        ));
    };
    served_callback.store(true, std::sync::atomic::Ordering::SeqCst);
    let (reply, page_ready) = oneshot::channel();
    let query = request.uri().query().unwrap_or("");
    let _ = sender.send(Arrival::Callback(
        Callback::from_query(query),
        CallbackReply {
            page: reply,
            written: None,
        },
    ));
    let (status, body) = match tokio::time::timeout(PAGE_WAIT, page_ready).await {
        Ok(Ok(ready)) => ready,
        _ => (
            StatusCode::OK,
            "<!doctype html><title>Received</title><p>Received. You can close this window.</p>"
                .to_string(),
        ),
    };
    Ok(page(status, body))
}

fn page(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    page_headers(response.headers_mut());
    response
}

/// Whether `headers` carry the cookie `name` with the value `expected` (compared in constant
/// time): what binds a callback to the browser that started the authorization.
pub(crate) fn has_cookie(headers: &http::HeaderMap, name: &str, expected: &str) -> bool {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(key, value)| {
            key == name
                && aws_lc_rs::constant_time::verify_slices_are_equal(
                    value.as_bytes(),
                    expected.as_bytes(),
                )
                .is_ok()
        })
}

/// What every page of ours carries: no referrer (the callback URL holds the code), nothing
/// loaded, nothing cached.
pub(crate) fn page_headers(headers: &mut http::HeaderMap) {
    headers.insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The callback URL holds the code: no referrer may carry it anywhere, nothing is loaded.
    headers.insert(
        REFERRER_POLICY,
        http::HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        CONTENT_SECURITY_POLICY,
        http::HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
