//! The path appended segment by segment to a parsed base must be the URL that parsing the
//! whole composed text gives.

use proptest::prelude::*;

use std::sync::LazyLock;

use super::{Compose, MethodKind, Segments, TemplateInfo};
use crate::error::InvokeError;
use crate::runtime::Runtime;

static RUNTIME: LazyLock<Runtime> =
    LazyLock::new(|| Runtime::builder().build().expect("a runtime"));

static TEMPLATE: TemplateInfo = TemplateInfo {
    name: "t",
    method: MethodKind::Get,
    https: true,
    integration: None,
    max_attempts: 1,
    retry_delay_ms: 0,
    query_keys: &["k"],
};

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Value(String),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        "[a-zA-Z0-9/._~!$&'()*+,;=:@%? -]{0,8}".prop_map(Piece::Text),
        "[a-z0-9/._~%-]{0,6}".prop_map(Piece::Value),
        any::<String>().prop_map(Piece::Value),
    ]
}

/// Composes `pieces` after a first `/`, then `query` if any: the URL sent, the one parsing the
/// composed text as a whole gives, and whether segments were appended to a parsed base
/// (`None` when the request has an error).
fn both(pieces: &[Piece], query: Option<&str>) -> Option<(url::Url, url::Url, bool)> {
    let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
    compose.host_text("api.example.com");
    compose.path_text("/");
    for piece in pieces {
        match piece {
            Piece::Text(text) => compose.path_text(text),
            Piece::Value(value) => compose.path_value("context.v", value),
        }
    }
    let appended = matches!(compose.segments, Segments::Appending { .. });
    let mut whole = url::Url::parse(&compose.url).ok();
    if let Some(value) = query {
        compose.query("k", value);
        if let Some(url) = whole.as_mut() {
            url.query_pairs_mut().append_pair("k", value);
        }
    }
    let sent = compose.finish().0.url?;
    Some((sent, whole?, appended))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn appending_segments_gives_the_url_of_the_whole_text(
        pieces in proptest::collection::vec(piece(), 0..6),
        query in proptest::option::of(any::<String>()),
    ) {
        if let Some((sent, whole, _)) = both(&pieces, query.as_deref()) {
            prop_assert_eq!(sent.as_str(), whole.as_str());
        }
    }
}

#[test]
fn plain_values_are_appended_and_others_parsed_with_the_whole_path() {
    let cases: &[(&[Piece], &str, bool)] = &[
        (
            &[
                Piece::Text("api/v2/tickets/".into()),
                Piece::Value("12345".into()),
            ],
            "https://api.example.com/api/v2/tickets/12345",
            true,
        ),
        (
            &[
                Piece::Text("t/".into()),
                Piece::Value("a b/c".into()),
                Piece::Text("/x".into()),
            ],
            "https://api.example.com/t/a%20b%2Fc/x",
            false,
        ),
        (
            &[
                Piece::Text("t/".into()),
                Piece::Value("1".into()),
                Piece::Text("/".into()),
            ],
            "https://api.example.com/t/1/",
            true,
        ),
        (
            &[
                Piece::Text("t/T-".into()),
                Piece::Value("1".into()),
                Piece::Text("?a=b".into()),
            ],
            "https://api.example.com/t/T-1?a=b",
            false,
        ),
        (
            // One character that encodes to a whole run of its own is still encoded.
            &[Piece::Text("t/".into()), Piece::Value("&".into())],
            "https://api.example.com/t/%26",
            false,
        ),
    ];
    for (pieces, expected, appends) in cases {
        let (sent, whole, appended) = both(pieces, None).expect("no error");
        assert_eq!(sent.as_str(), *expected);
        assert_eq!(whole.as_str(), *expected);
        assert_eq!(appended, *appends, "{expected}");
    }
}

static PLAIN_HTTP: TemplateInfo = TemplateInfo {
    https: false,
    ..TEMPLATE
};

/// `http://{host}/t/{value}` composed on `runtime`: the URL, or the error.
fn http_request(runtime: &Runtime, host: &str, value: Option<&str>) -> Result<String, InvokeError> {
    let mut compose = Compose::new(runtime, &PLAIN_HTTP);
    compose.host_value("iparam.host", host);
    compose.path_text("/t/");
    if let Some(value) = value {
        compose.path_value("context.v", value);
    }
    let draft = compose.finish().0;
    match (draft.url, draft.error) {
        (_, Some(error)) => Err(*error),
        (url, None) => Ok(url.expect("a URL when there is no error").to_string()),
    }
}

#[test]
fn plain_http_is_refused_unless_loopback_or_allowed_whatever_another_runtime_cached() {
    let allowing = Runtime::builder()
        .allow_insecure_http(true)
        .build()
        .expect("a runtime");
    for value in [Some("1"), None] {
        // The allowing runtime parses and caches the base first, on this same thread.
        let expected = if value.is_some() {
            "http://api.example.com/t/1"
        } else {
            "http://api.example.com/t/"
        };
        let allowed = http_request(&allowing, "api.example.com", value);
        assert_eq!(allowed.as_deref().ok(), Some(expected), "{allowed:?}");
        let refused = http_request(&RUNTIME, "api.example.com", value);
        assert!(
            matches!(refused, Err(InvokeError::InsecureHttp { .. })),
            "{refused:?}"
        );
        assert!(http_request(&RUNTIME, "127.0.0.1:8080", value).is_ok());
        assert!(http_request(&RUNTIME, "localhost", value).is_ok());
    }
    for host in ["10.0.0.1", "127.0.0.1:0", "127.0.0.1:99999", "a..b"] {
        let refused = http_request(&allowing, host, Some("1"));
        assert!(
            matches!(
                refused,
                Err(InvokeError::InvalidValue {
                    placeholder: "host",
                    ..
                })
            ),
            "{host}: {refused:?}"
        );
    }
}
