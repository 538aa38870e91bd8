//! Retries per `maxAttempts` / `retryDelay`: 5xx, 429 with `Retry-After` in both forms,
//! connection resets and timeouts, then success.

use std::time::{Duration, Instant, SystemTime};

use oauth_runtime::{InvokeError, MemoryStore, Runtime, TokenKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::Provider;
use crate::{CreateThingContext, Engine, FlakyContext, OnceContext};

fn engine() -> Engine {
    Engine::new(Runtime::builder().build().unwrap())
}

/// Answers `responses` in order, then 200.
async fn server(responses: Vec<ResponseTemplate>) -> MockServer {
    let server = MockServer::start().await;
    for (i, response) in responses.into_iter().enumerate() {
        Mock::given(path("/flaky"))
            .respond_with(response)
            .up_to_n_times(1)
            .with_priority(u8::try_from(i + 1).unwrap())
            .mount(&server)
            .await;
    }
    Mock::given(path("/flaky"))
        .respond_with(ResponseTemplate::new(200).set_body_string("fine"))
        .with_priority(100)
        .mount(&server)
        .await;
    server
}

fn flaky(server: &MockServer) -> FlakyContext {
    FlakyContext {
        port: server.address().port().to_string(),
    }
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

#[tokio::test]
async fn server_errors_are_retried_after_the_template_delay() {
    let server = server(vec![ResponseTemplate::new(503), ResponseTemplate::new(502)]).await;
    let started = Instant::now();
    let response = engine().flaky(&flaky(&server)).send().await.unwrap();
    assert_eq!(response.attempts(), 3);
    assert_eq!(response.text(), "fine");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "two waits of retryDelay 100 ms"
    );
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured() {
    let server = server(vec![
        ResponseTemplate::new(429).insert_header("retry-after", "1"),
    ])
    .await;
    let started = Instant::now();
    let response = engine().flaky(&flaky(&server)).send().await.unwrap();
    assert_eq!(response.attempts(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    let server = server(vec![
        ResponseTemplate::new(503).insert_header("retry-after", at.as_str()),
    ])
    .await;
    let started = Instant::now();
    let response = engine().flaky(&flaky(&server)).send().await.unwrap();
    assert_eq!(response.attempts(), 2);
    // The date has one-second resolution: at least one second of the two remains.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_returns_the_answer_at_once() {
    let server = server(vec![
        ResponseTemplate::new(429).insert_header("retry-after", "3600"),
    ])
    .await;
    let started = Instant::now();
    let error = engine().flaky(&flaky(&server)).send().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(error.attempts(), 1);
    assert!(started.elapsed() < Duration::from_secs(5));
    match error {
        InvokeError::Status { headers, .. } => assert_eq!(headers["retry-after"], "3600"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn attempts_run_out_with_the_last_answer() {
    let server = server((0..4).map(|_| ResponseTemplate::new(500)).collect()).await;
    let error = engine().flaky(&flaky(&server)).send().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(error.attempts(), 4);
    assert_eq!(requests(&server).await, 4);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = server(vec![ResponseTemplate::new(404)]).await;
    let error = engine().flaky(&flaky(&server)).send().await.unwrap_err();
    assert_eq!(error.attempts(), 1);
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn a_template_without_max_attempts_tries_once() {
    let server = server(vec![ResponseTemplate::new(503)]).await;
    let context = OnceContext {
        port: server.address().port().to_string(),
    };
    let error = engine().once(&context).send().await.unwrap_err();
    assert_eq!(error.attempts(), 1);
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let server = server(vec![
        ResponseTemplate::new(200).set_delay(Duration::from_secs(3)),
    ])
    .await;
    let response = engine()
        .flaky(&flaky(&server))
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap();
    assert_eq!(response.attempts(), 2);
    assert_eq!(response.text(), "fine");
}

#[tokio::test]
async fn timeouts_on_every_attempt_are_a_timeout_error() {
    let server = server(
        (0..4)
            .map(|_| ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
            .collect(),
    )
    .await;
    let error = engine()
        .flaky(&flaky(&server))
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(error, InvokeError::Timeout { attempts: 4, .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "template `flaky`: no response in time (4 attempts)"
    );
}

/// A server that resets the first `resets` connections, then answers 200.
async fn resetting_server(resets: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut seen = 0;
        while let Ok((mut socket, _)) = listener.accept().await {
            seen += 1;
            let mut buffer = [0u8; 4096];
            let _ = socket.read(&mut buffer).await;
            if seen <= resets {
                // Linger 0: closing sends RST instead of FIN.
                let _ = socket.set_zero_linger();
                drop(socket);
                continue;
            }
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .await;
        }
    });
    port
}

#[tokio::test]
async fn a_connection_reset_is_retried() {
    let port = resetting_server(2).await;
    let response = engine()
        .flaky(&FlakyContext {
            port: port.to_string(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(response.attempts(), 3);
    assert_eq!(response.text(), "ok");
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    // Bind and drop: nothing listens on the port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = engine()
        .flaky(&FlakyContext {
            port: port.to_string(),
        })
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(error, InvokeError::Connect { attempts: 4, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn retries_reuse_the_token_and_the_body() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    provider
        .seed(
            &runtime,
            &TokenKey::installation("crm"),
            "sekrit-ok",
            true,
            1800,
            None,
        )
        .await;
    Mock::given(path("/things"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&provider.server)
        .await;
    let response = Engine::new(runtime)
        .create_thing(&CreateThingContext {
            port: provider.port(),
        })
        .json(&serde_json::json!({ "subject": "hello" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.attempts(), 3);
    let received = provider.server.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    for request in &received {
        assert_eq!(request.body, br#"{"subject":"hello"}"#);
        assert_eq!(request.headers["authorization"], "Bearer sekrit-ok");
    }
    assert_eq!(provider.token_requests(), 0);
}
