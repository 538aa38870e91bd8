//! What the examples share: the embedded provider standing in, over https, for the hosts an
//! app's config names; a loopback callback on a free port; and an authorization driven through
//! it as the user's browser would (the embedded provider consents at once).

use std::error::Error;
use std::time::Duration;

use oauth_mock::{Provider, ProviderBuilder};
use oauth_runtime::loopback::CallbackServer;
use oauth_runtime::{CallbackOutcome, Runtime, RuntimeBuilder, Subject};

/// The examples' errors.
pub type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The embedded provider answering, over https, for real host names (`acme.freshservice.com`,
/// `acme.myfreshworks.com`): the app's config is the one it ships, and the runtime and the
/// browser reach those names at the provider, trusting its throwaway authority. Nothing leaves
/// the machine.
pub struct StandIn {
    /// The provider.
    pub provider: Provider,
    hosts: Vec<String>,
}

impl StandIn {
    /// Starts `builder`'s provider on https for `hosts`.
    pub async fn start(builder: ProviderBuilder, hosts: &[&str]) -> Result<StandIn> {
        let provider = builder.https(hosts.iter().copied()).start().await?;
        Ok(StandIn {
            provider,
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
        })
    }

    fn address(&self) -> Result<std::net::SocketAddr> {
        Ok(self
            .provider
            .https_address()
            .ok_or("the provider serves no https")?)
    }

    fn authority(&self) -> Result<&str> {
        Ok(self
            .provider
            .ca_certificate()
            .ok_or("the provider serves no https")?)
    }

    /// `builder`, reaching the hosts at the provider and trusting its authority (in
    /// production: `Runtime::builder()` alone, the hosts' real certificates trusted as they
    /// are).
    pub fn trusted_by(&self, builder: RuntimeBuilder) -> Result<RuntimeBuilder> {
        let address = self.address()?;
        let mut builder = builder.add_root_certificate(self.authority()?);
        for host in &self.hosts {
            builder = builder.resolve(host, address);
        }
        Ok(builder)
    }

    /// A runtime builder reaching the hosts at the provider.
    pub fn runtime(&self) -> Result<RuntimeBuilder> {
        self.trusted_by(Runtime::builder())
    }

    /// The user's browser `builder`, with the same view of the hosts.
    pub fn seen_by(&self, builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder> {
        let address = self.address()?;
        let authority = reqwest::Certificate::from_pem_bundle(self.authority()?.as_bytes())?;
        let mut builder = builder.tls_certs_merge(authority);
        for host in &self.hosts {
            builder = builder.resolve(host, address);
        }
        Ok(builder)
    }

    /// The user's browser, reaching the hosts at the provider.
    pub fn browser(&self) -> Result<reqwest::Client> {
        Ok(self.seen_by(browser())?.build()?)
    }
}

/// A browser's HTTP client, before it is told about any stand-in: it follows no redirect
/// itself ([`browse`] does, keeping cookies).
pub fn browser() -> reqwest::ClientBuilder {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none())
}

/// A loopback callback server on a free port (the examples may run side by side).
pub async fn callback_server() -> Result<CallbackServer> {
    let uri = url::Url::parse("http://localhost:0/auth/callback")?;
    Ok(CallbackServer::bind(&uri).await?)
}

/// Authorizes `integration` for `subject` through `server`: the browser opens the authorize
/// URL, the provider redirects to the callback, the runtime exchanges the code.
pub async fn authorize(
    runtime: &Runtime,
    browser: &reqwest::Client,
    integration: &str,
    subject: Subject,
    server: CallbackServer,
) -> Result<CallbackOutcome> {
    let user = match &subject {
        Subject::User(user) => Some(user.clone()),
        Subject::Installation => None,
    };
    let request = runtime.authorize(integration, subject).await?;
    let browser = tokio::spawn(browse(browser.clone(), request.url().clone()));
    let (callback, reply) = server.receive(&request, Duration::from_secs(30)).await?;
    let outcome = runtime
        .complete_authorization(integration, user.as_ref(), &callback)
        .await;
    reply.finish(outcome.as_ref().map_err(|_| "failed")).await;
    browser.await?.map_err(|e| e.to_string())?;
    Ok(outcome?)
}

/// The user's browser (`http`, following no redirect itself): follows redirects, keeping
/// cookies, until a page answers.
pub async fn browse(http: reqwest::Client, start: url::Url) -> std::result::Result<String, String> {
    let mut cookies: Vec<(String, String)> = Vec::new();
    let mut url = start;
    for _ in 0..8 {
        let cookie = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = http.get(url.clone());
        if !cookie.is_empty() {
            request = request.header("cookie", cookie);
        }
        let page = request.send().await.map_err(|e| e.to_string())?;
        for value in page.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap_or("").split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                cookies.retain(|(k, _)| k != name);
                cookies.push((name.to_string(), value.to_string()));
            }
        }
        let status = page.status();
        if status.is_redirection() {
            let location = page
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or("a redirect without a location")?;
            url = url.join(location).map_err(|e| e.to_string())?;
            continue;
        }
        let text = page.text().await.map_err(|e| e.to_string())?;
        return if status.is_success() {
            Ok(text)
        } else {
            Err(format!("the page answered {status}"))
        };
    }
    Err("too many redirects".to_string())
}
