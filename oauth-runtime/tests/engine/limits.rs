//! Limits and merging: the response size cap, the runtime's and the call's timeouts, invoke-time
//! query parameters (the template's keys win), and a 401 with a token source that cannot renew.

use std::time::{Duration, Instant};

use oauth_runtime::{InvokeError, Runtime, StaticTokens, TokenKey};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{EchoContext, Engine, GetThingContext, OnceContext};

async fn answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

fn once(server: &MockServer) -> OnceContext {
    OnceContext {
        port: server.address().port().to_string(),
    }
}

#[tokio::test]
async fn a_response_over_the_limit_is_refused_with_a_clear_error() {
    let server = answering(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 2048])).await;
    let engine = Engine::new(Runtime::builder().max_response_bytes(1024).build().unwrap());
    let error = engine.once(&once(&server)).send().await.unwrap_err();
    assert!(
        matches!(
            error,
            InvokeError::ResponseTooLarge {
                limit: 1024,
                attempts: 1,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "template `once`: the response is larger than the limit of 1024 bytes"
    );
    // At the limit exactly, it is read.
    let engine = Engine::new(Runtime::builder().max_response_bytes(2048).build().unwrap());
    assert_eq!(
        engine
            .once(&once(&server))
            .send()
            .await
            .unwrap()
            .bytes()
            .len(),
        2048
    );
}

#[tokio::test]
async fn the_runtime_timeout_applies_unless_the_call_sets_its_own() {
    let server = answering(ResponseTemplate::new(200).set_delay(Duration::from_millis(600))).await;
    let short = Engine::new(
        Runtime::builder()
            .timeout(Duration::from_millis(150))
            .build()
            .unwrap(),
    );
    let started = Instant::now();
    let error = short.once(&once(&server)).send().await.unwrap_err();
    assert!(matches!(error, InvokeError::Timeout { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_millis(550));
    // The call's own timeout wins.
    let response = short
        .once(&once(&server))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A request built to be sent by the app's own client carries the runtime's timeout.
    let built = short.once(&once(&server)).build().await.unwrap();
    assert_eq!(built.timeout(), Some(&Duration::from_millis(150)));
    // So does every call sent through an app's client, which has no timeout of its own.
    let on_apps_client = Engine::new(
        Runtime::builder()
            .timeout(Duration::from_millis(150))
            .http_client(reqwest::Client::new())
            .build()
            .unwrap(),
    );
    let started = Instant::now();
    let error = on_apps_client
        .once(&once(&server))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, InvokeError::Timeout { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_millis(550));
}

#[tokio::test]
async fn invoke_time_query_merges_and_the_template_keys_win() {
    let server = answering(ResponseTemplate::new(200)).await;
    let engine = Engine::new(Runtime::builder().build().unwrap());
    let context = EchoContext {
        port: server.address().port().to_string(),
        segment: "s".into(),
        header: "h".into(),
        q: "from-template".into(),
    };
    engine
        .echo(&context)
        .query("q", "from-call")
        .query("fixed", "2")
        .query("page", "3&x=y")
        .send()
        .await
        .unwrap();
    let received = server.received_requests().await.unwrap();
    let pairs: Vec<(String, String)> = received[0].url.query_pairs().into_owned().collect();
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [("q", "from-template"), ("fixed", "1"), ("page", "3&x=y")]
    );
}

#[tokio::test]
async fn a_401_with_a_source_that_cannot_renew_is_returned_as_it_is() {
    let server = answering(ResponseTemplate::new(401).set_body_string("expired")).await;
    let runtime = Runtime::builder()
        .tokens(StaticTokens::new().with(TokenKey::installation("crm"), "static"))
        .build()
        .unwrap();
    let context = GetThingContext {
        port: server.address().port().to_string(),
        id: "1".into(),
    };
    let error = Engine::new(runtime)
        .get_thing(&context)
        .send()
        .await
        .unwrap_err();
    match error {
        InvokeError::Status {
            status,
            body,
            attempts,
            ..
        } => {
            assert_eq!(status, 401);
            assert_eq!(body, "expired");
            assert_eq!(attempts, 1);
        }
        other => panic!("{other:?}"),
    }
}

/// A server answering every request with `chunks` as a chunked body (no length declared).
async fn chunked(chunks: &'static [&'static str]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if socket.read(&mut byte).await.unwrap_or(0) == 0 {
                    break;
                }
                head.push(byte[0]);
            }
            let mut reply = String::from(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
            );
            for chunk in chunks {
                reply.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
            }
            reply.push_str("0\r\n\r\n");
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    port
}

#[tokio::test]
async fn a_body_without_a_length_is_read_whole_and_capped_across_its_chunks() {
    let engine = Engine::new(Runtime::builder().max_response_bytes(10).build().unwrap());
    for (chunks, expected) in [
        (&["hello"][..], Some("hello")),
        (&["hel", "lo", " you"][..], Some("hello you")),
        (&[][..], Some("")),
        (&["hello", " world"][..], None),
        (&["eleven char"][..], None),
    ] {
        let port = chunked(chunks).await;
        let sent = engine
            .once(&OnceContext {
                port: port.to_string(),
            })
            .send()
            .await;
        match (sent, expected) {
            (Ok(response), Some(text)) => assert_eq!(response.text(), text),
            (Err(InvokeError::ResponseTooLarge { limit: 10, .. }), None) => {}
            (other, expected) => panic!("{chunks:?}: {other:?}, expected {expected:?}"),
        }
    }
}
