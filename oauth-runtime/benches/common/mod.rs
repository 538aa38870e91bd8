//! What the runtime benchmarks share: the client, a keep-alive loopback server, and a token
//! endpoint.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use oauth_runtime::{
    IntegrationConfig, MemoryStore, Runtime, StaticTokens, TokenKey, TokenSet, UserId,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[oauth_runtime::templates(
    requests = "benches/config/requests.json",
    oauth = "benches/config/oauth_config.json"
)]
pub struct Bench;

pub const TOKEN: &str = "a-fairly-typical-access-token-0123456789abcdef";

/// Whether this is a quick run: `cargo test --benches` runs the bench binaries without
/// `--bench`, and they then do one small round only.
pub fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

/// The async runtime the figures are taken on: two workers, as this machine has two cores.
pub fn two_workers() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// An HTTP/1.1 server on loopback that keeps connections alive and answers every request
/// with `200 {"ok":true}`, or, on `/token`, with a fresh token. Returns its port.
pub async fn server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut issued = 0u64;
        while let Ok((mut socket, _)) = listener.accept().await {
            issued += 1_000_000;
            let mut n = issued;
            tokio::spawn(async move {
                let mut buffer = Vec::with_capacity(4096);
                let mut chunk = [0u8; 4096];
                loop {
                    let end = loop {
                        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            break end + 4;
                        }
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buffer.len() < end + length {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
                        }
                    }
                    let body = if head.starts_with("post /token") {
                        n += 1;
                        // The token endpoint answers slowly, as real ones do.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        format!(r#"{{"access_token":"fresh-{n}","expires_in":1800}}"#)
                    } else {
                        r#"{"ok":true}"#.to_string()
                    };
                    buffer.drain(..end + length);
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

pub fn context() -> GetTicketContext {
    GetTicketContext {
        ticket_id: "12345".into(),
        include: "requester,stats".into(),
    }
}

/// The installation's API key, sent as HTTP Basic credentials (`ticketWithApiKey`).
pub const API_KEY: &str = "Lx8fQm2ZpR7vKc3Ns9Wd";

/// The end user of the agent integration's template.
pub const USER: &str = "u-1";

/// The installation values: the loopback server, as `iparam.host` and as the current host.
pub fn iparams(port: u16) -> BenchIparams {
    BenchIparams {
        host: format!("127.0.0.1:{port}"),
        current_host_endpoint_urls_helpdesk: format!("127.0.0.1:{port}"),
        token: TOKEN.into(),
        api_key: API_KEY.into(),
    }
}

/// A client whose token comes from a MemoryStore through the refreshing manager: the
/// installation's for `crm`, USER's for `desk`.
pub async fn client(port: u16, expires_in: Duration) -> Bench {
    client_on(port, expires_in, Runtime::builder()).await
}

/// [`client`], its runtime sending its lifecycle events to `events`.
pub async fn client_with_events(port: u16, events: oauth_runtime::events::EventSender) -> Bench {
    client_on(
        port,
        Duration::from_secs(3600),
        Runtime::builder().events(events),
    )
    .await
}

async fn client_on(
    port: u16,
    expires_in: Duration,
    builder: oauth_runtime::RuntimeBuilder,
) -> Bench {
    Bench::new(runtime_on(port, expires_in, builder).await, iparams(port))
}

/// The runtime of [`client`].
pub async fn runtime(port: u16, expires_in: Duration) -> Runtime {
    runtime_on(port, expires_in, Runtime::builder()).await
}

async fn runtime_on(
    port: u16,
    expires_in: Duration,
    builder: oauth_runtime::RuntimeBuilder,
) -> Runtime {
    let integration = |name: &str| {
        IntegrationConfig::new(
            name,
            &format!("http://127.0.0.1:{port}/token"),
            "client",
            "secret",
        )
        .unwrap()
    };
    let runtime = builder
        .store(MemoryStore::new())
        .integration(integration("crm"))
        .integration(integration("desk").token_type(oauth_runtime::TokenType::Agent))
        .refresh_margin(Duration::ZERO)
        .refresh_jitter(Duration::ZERO)
        .build()
        .unwrap();
    runtime
        .save_tokens(
            &TokenKey::installation("crm"),
            TokenSet::new(TOKEN)
                .with_refresh_token("refresh")
                .with_expires_at(std::time::SystemTime::now() + expires_in),
        )
        .await
        .unwrap();
    runtime
        .save_tokens(
            &TokenKey::user("desk", UserId::new(USER)),
            TokenSet::new(TOKEN)
                .with_refresh_token("refresh")
                .with_expires_at(std::time::SystemTime::now() + expires_in),
        )
        .await
        .unwrap();
    runtime
}

/// A client whose token is given as it is (`StaticTokens`): the token in hand, as the
/// hand-built request has it.
pub fn client_with_token(port: u16) -> Bench {
    let runtime = Runtime::builder()
        .tokens(StaticTokens::new().with(TokenKey::installation("crm"), TOKEN))
        .build()
        .unwrap();
    Bench::new(runtime, iparams(port))
}

/// The same request built by hand the fast way: a pre-parsed base URL, segments and pairs
/// encoded while appended, the header name a constant.
pub fn by_hand(base: &url::Url, token: &str, context: &GetTicketContext) -> reqwest::Request {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.extend(["api", "v2", "tickets", context.ticket_id.as_str()]);
    }
    url.query_pairs_mut()
        .append_pair("include", &context.include);
    let mut request = reqwest::Request::new(reqwest::Method::GET, url);
    *request.timeout_mut() = Some(Duration::from_secs(15));
    let mut value = http::HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    value.set_sensitive(true);
    request
        .headers_mut()
        .insert(http::header::AUTHORIZATION, value);
    request
}
