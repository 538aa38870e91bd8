//! Hostile values in the path, the query and a header never change the request's shape: they
//! arrive as one path segment, one query value and one header value, or the call is refused
//! with a clear error and nothing is sent.

use std::sync::{Arc, Mutex};

use oauth_runtime::{InvokeError, Runtime};
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{EchoContext, Engine};

/// Records the head of each request it receives and answers 200.
async fn recorder() -> (u16, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let record = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut chunk = [0u8; 65536];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&chunk[..n]),
                }
            }
            record.lock().unwrap().push(head);
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
    });
    (port, heads)
}

fn context(port: &str, value: &str) -> EchoContext {
    EchoContext {
        port: port.to_string(),
        segment: value.to_string(),
        q: value.to_string(),
        header: value.to_string(),
    }
}

/// The path segments, query pairs and `x-value` headers of a request target and head.
struct Shape {
    segments: Vec<String>,
    query: Vec<(String, String)>,
    header_values: Vec<Vec<u8>>,
}

fn shape(target: &str, header_lines: &[&[u8]]) -> Shape {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Shape {
        segments: path
            .split('/')
            .map(|s| percent_decode_str(s).decode_utf8().unwrap().into_owned())
            .collect(),
        query: form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
        header_values: header_lines
            .iter()
            .filter_map(|line| {
                let colon = line.iter().position(|&b| b == b':')?;
                line[..colon]
                    .eq_ignore_ascii_case(b"x-value")
                    .then(|| line[colon + 1..].trim_ascii().to_vec())
            })
            .collect(),
    }
}

fn assert_shape(shape: &Shape, value: &str) {
    assert_eq!(
        shape.segments,
        ["", "echo", value, "end"],
        "one path segment"
    );
    assert_eq!(
        shape.query,
        [
            ("q".to_string(), value.to_string()),
            ("fixed".to_string(), "1".to_string())
        ],
        "one query value, the template's keys intact"
    );
    assert_eq!(
        shape.header_values,
        [value.trim().as_bytes().to_vec()],
        "one header"
    );
}

fn refused(value: &str) -> Option<&'static str> {
    // Header values may hold any byte but control characters (UTF-8 goes as obs-text).
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Some("header X-Value");
    }
    let lower = value.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e."
    ) {
        return Some("context.segment");
    }
    None
}

const HOSTILE: &[&str] = &[
    "../x",
    "..",
    ".",
    "%2e%2e",
    "a&b=c",
    "x&fixed=2",
    "%2F",
    "a/b/c",
    "?x=1#frag",
    "#",
    "a b+c",
    "line\r\nX-Injected: 1",
    "only\nnewline",
    "ünïcödé",
    "\u{0}",
    "@evil.example",
    "=",
    "",
];

#[tokio::test]
async fn hostile_values_arrive_as_one_segment_one_query_value_and_one_header() {
    let (port, heads) = recorder().await;
    let port = port.to_string();
    let engine = Engine::new(Runtime::builder().build().unwrap());
    let long = "v".repeat(16 * 1024);
    for value in HOSTILE.iter().copied().chain([long.as_str()]) {
        let before = heads.lock().unwrap().len();
        let result = engine.echo(&context(&port, value)).send().await;
        match refused(value) {
            Some(placeholder) => {
                match result {
                    Err(InvokeError::InvalidValue { placeholder: p, .. }) => {
                        assert_eq!(p, placeholder, "{value:?}")
                    }
                    other => panic!("{value:?} should be refused: {other:?}"),
                }
                assert_eq!(
                    heads.lock().unwrap().len(),
                    before,
                    "nothing was sent for {value:?}"
                );
            }
            None => {
                result.unwrap_or_else(|e| panic!("{value:?}: {e}"));
                let head = heads.lock().unwrap().last().unwrap().clone();
                let lines: Vec<&[u8]> = head
                    .split(|&b| b == b'\n')
                    .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                    .collect();
                let request_line = std::str::from_utf8(lines[0]).unwrap();
                let mut parts = request_line.split(' ');
                assert_eq!(parts.next(), Some("PUT"));
                let target = parts.next().unwrap();
                assert_eq!(parts.next(), Some("HTTP/1.1"), "{request_line}");
                assert!(
                    !lines
                        .iter()
                        .any(|l| l.starts_with(b"X-Injected") || l.starts_with(b"x-injected")),
                    "{value:?}"
                );
                assert_shape(&shape(target, &lines[1..]), value);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any string at all: the built request has the template's shape, or the value is refused.
    #[test]
    fn any_value_keeps_the_shape_or_is_refused(value in any::<String>()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let engine = Engine::new(Runtime::builder().build().unwrap());
        let built = runtime.block_on(engine.echo(&context("8080", &value)).build());
        match built {
            Ok(request) => {
                prop_assert!(refused(&value).is_none(), "{:?} was accepted", value);
                let url = request.url();
                prop_assert_eq!(url.host_str(), Some("127.0.0.1"));
                let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
                let header = request.headers().get_all("x-value").iter().map(|v| v.as_bytes()).collect::<Vec<_>>();
                let shape = Shape {
                    header_values: header.iter().map(|v| v.to_vec()).collect(),
                    ..shape(target, &[])
                };
                prop_assert_eq!(&shape.segments, &["", "echo", value.as_str(), "end"]);
                prop_assert_eq!(shape.query.len(), 2);
                prop_assert_eq!(&shape.query[0], &("q".to_string(), value.clone()));
                prop_assert_eq!(shape.header_values, vec![value.as_bytes().to_vec()]);
            }
            Err(InvokeError::InvalidValue { .. }) => {
                prop_assert!(refused(&value).is_some(), "{:?} was refused", value);
            }
            Err(other) => prop_assert!(false, "unexpected error {:?}", other),
        }
    }
}
