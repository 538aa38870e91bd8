//! What the examples share: a loopback callback on a free port, and an authorization driven
//! through it as the user's browser would (the embedded provider consents at once).

use std::error::Error;
use std::time::Duration;

use oauth_runtime::loopback::CallbackServer;
use oauth_runtime::{CallbackOutcome, Runtime, Subject};

/// The examples' errors.
pub type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// A loopback callback server on a free port (the examples may run side by side).
pub async fn callback_server() -> Result<CallbackServer> {
    let uri = url::Url::parse("http://localhost:0/auth/callback")?;
    Ok(CallbackServer::bind(&uri).await?)
}

/// Authorizes `integration` for `subject` through `server`: the browser opens the authorize
/// URL, the provider redirects to the callback, the runtime exchanges the code.
pub async fn authorize(
    runtime: &Runtime,
    integration: &str,
    subject: Subject,
    server: CallbackServer,
) -> Result<CallbackOutcome> {
    let user = match &subject {
        Subject::User(user) => Some(user.clone()),
        Subject::Installation => None,
    };
    let request = runtime.authorize(integration, subject)?;
    let browser = tokio::spawn(browse(request.url().clone()));
    let (callback, reply) = server.receive(&request, Duration::from_secs(30)).await?;
    let outcome = runtime
        .complete_authorization(integration, user.as_ref(), &callback)
        .await;
    reply.finish(outcome.as_ref().map_err(|_| "failed")).await;
    browser.await?.map_err(|e| e.to_string())?;
    Ok(outcome?)
}

/// The user's browser: follows redirects, keeping cookies, until a page answers.
pub async fn browse(start: url::Url) -> std::result::Result<String, String> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
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
