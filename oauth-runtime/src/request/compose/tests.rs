//! The path appended segment by segment to a parsed base must be the URL that parsing the
//! whole composed text gives.

use proptest::prelude::*;

use std::sync::LazyLock;

use super::{Compose, FixedPart, PathPart, PathText, Segments};
use crate::error::InvokeError;
use crate::request::draft::{MethodKind, TemplateInfo};
use crate::runtime::Runtime;
use crate::tokens::{StaticTokens, TokenKey};

pub(super) static RUNTIME: LazyLock<Runtime> =
    LazyLock::new(|| Runtime::builder().build().expect("a runtime"));

/// A runtime whose clients share no fixed start: a new `FixedPart` is a client's own, with
/// nothing kept yet.
static UNSHARED: LazyLock<Runtime> = LazyLock::new(|| {
    Runtime::builder()
        .unshared_starts()
        .build()
        .expect("a runtime")
});

pub(super) static TEMPLATE: TemplateInfo = TemplateInfo {
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

/// A path prefix value: segments that need encoding or not, maybe a trailing `/`.
fn path_prefix() -> impl Strategy<Value = String> {
    "(/[a-z0-9 %._~-]{0,4}){0,3}/?"
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        "[a-zA-Z0-9/._~!$&'()*+,;=:@%? -]{0,8}".prop_map(Piece::Text),
        "[a-z0-9/._~%-]{0,6}".prop_map(Piece::Value),
        any::<String>().prop_map(Piece::Value),
        // Control characters, which `any::<String>()` never makes: the URL parser drops tabs
        // and line breaks from its input.
        "[.a\t\n\r\x00\x7f/%]{0,5}".prop_map(Piece::Value),
    ]
}

fn compose_pieces(compose: &mut Compose<'_>, pieces: &[Piece]) {
    for piece in pieces {
        match piece {
            Piece::Text(text) => compose.path_text(text),
            Piece::Value(value) => compose.path_value("context.v", value),
        }
    }
}

/// The URL the composed request is sent to, or its error.
fn sent(compose: Compose<'_>) -> Result<url::Url, InvokeError> {
    let draft = compose.finish().0;
    match (draft.url, draft.error) {
        (_, Some(error)) => Err(*error),
        (url, None) => Ok(url.expect("a URL when there is no error")),
    }
}

/// A request on a host with a path prefix (or else a first `/`); with `whole`, its path is
/// parsed whole at the end (the reference), not appended to a parsed base.
fn with_path_start(prefix: Option<&str>, whole: bool) -> Compose<'static> {
    let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
    if whole {
        compose.segments = Segments::Whole;
    }
    compose.host_text("api.example.com");
    match prefix {
        Some(prefix) => compose.path_prefix_value("context.p", prefix),
        None => compose.path_text("/"),
    }
    compose
}

/// Composes a path prefix (or else a first `/`), `pieces`, then `query` if any: the URL
/// sent, the one the same request gives when its path is composed as text and parsed whole,
/// and whether segments were appended to a parsed base (`None` when the request has an error).
fn both(
    prefix: Option<&str>,
    pieces: &[Piece],
    query: Option<&str>,
) -> Option<(url::Url, url::Url, bool)> {
    let mut appended = false;
    let mut compose = |whole: bool| {
        let mut compose = with_path_start(prefix, whole);
        compose_pieces(&mut compose, pieces);
        if !whole {
            appended = matches!(compose.segments, Segments::Appending { .. });
        }
        if let Some(value) = query {
            compose.query("k", value);
        }
        compose.finish().0.url
    };
    let sent = compose(false)?;
    let whole = compose(true)?;
    Some((sent, whole, appended))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn appending_segments_gives_the_url_of_the_whole_text(
        prefix in proptest::option::of(path_prefix()),
        pieces in proptest::collection::vec(piece(), 0..6),
        query in proptest::option::of(any::<String>()),
    ) {
        if let Some((sent, whole, _)) = both(prefix.as_deref(), &pieces, query.as_deref()) {
            prop_assert_eq!(sent.as_str(), whole.as_str());
        }
    }

    #[test]
    fn parts_appended_in_one_call_give_the_url_of_parts_one_by_one(
        prefix in proptest::option::of(path_prefix()),
        pieces in proptest::collection::vec(piece(), 0..7),
    ) {
        let fused = with_parts(prefix.as_deref(), &pieces, true, false);
        prop_assert_eq!(&fused, &with_parts(prefix.as_deref(), &pieces, false, false));
        prop_assert_eq!(&fused, &with_parts(prefix.as_deref(), &pieces, false, true));
    }
}

/// The URL (or error) of a request to `/t` with `pairs` in its query, written in one call
/// (one pass of the query serializer) or in a call each.
fn with_pairs(pairs: &[(String, String)], in_one_call: bool) -> Result<url::Url, String> {
    let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
    compose.host_text("api.example.com");
    compose.path_text("/t");
    if in_one_call {
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        compose.query_pairs(&pairs);
    } else {
        for (key, value) in pairs {
            compose.query(key, value);
        }
    }
    sent(compose).map_err(|error| error.to_string())
}

proptest! {
    #[test]
    fn query_pairs_in_one_call_give_the_url_of_pairs_one_by_one(
        pairs in proptest::collection::vec((any::<String>(), any::<String>()), 1..6),
    ) {
        let in_one_call = with_pairs(&pairs, true);
        prop_assert_eq!(&in_one_call, &with_pairs(&pairs, false));
        let url = in_one_call.map_err(TestCaseError::fail)?;
        let read: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        prop_assert_eq!(read, pairs);
    }
}

#[test]
fn query_pairs_after_an_error_make_no_url_and_the_first_error_stands() {
    let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
    compose.host_value("iparam.host", "evil.com/x");
    compose.path_text("/t");
    compose.query_pairs(&[("a", "1"), ("b", "2")]);
    let draft = compose.finish().0;
    assert!(draft.url.is_none(), "no URL is parsed, nor written to");
    match draft.error.map(|error| *error) {
        Some(InvokeError::InvalidValue { placeholder, .. }) => {
            assert_eq!(placeholder, "iparam.host");
        }
        other => panic!("{other:?}"),
    }
}

/// The URL (or error) of `pieces` after a host and a first `/`, each text composed as the
/// generated code composes text after the fixed start (split when compiled) or not.
fn with_texts_split(pieces: &[Piece], split: bool) -> Result<url::Url, String> {
    with_path_split(
        "/",
        pieces,
        if split { Way::Compiled } else { Way::AtTheCall },
    )
}

/// How a test composes path text: split when compiled (`path_literal`), read at the call
/// (`path_text`), or read at the call and the whole path parsed at the end (the reference).
#[derive(Clone, Copy)]
enum Way {
    Compiled,
    AtTheCall,
    Whole,
}

/// [`with_texts_split`] with `first` as the path's first text, each text composed `way`.
fn with_path_split(first: &str, pieces: &[Piece], way: Way) -> Result<url::Url, String> {
    let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
    if matches!(way, Way::Whole) {
        compose.segments = Segments::Whole;
    }
    compose.host_text("api.example.com");
    let split = matches!(way, Way::Compiled);
    if split {
        compose.path_literal(&PathText::new(first));
    } else {
        compose.path_text(first);
    }
    for piece in pieces {
        match piece {
            Piece::Text(text) if split => compose.path_literal(&PathText::new(text)),
            Piece::Text(text) => compose.path_text(text),
            Piece::Value(value) => compose.path_value("context.v", value),
        }
    }
    compose.query("k", "v");
    sent(compose).map_err(|error| error.to_string())
}

/// Composes `pieces` as the generated code composes them after a fixed start: each text
/// split when compiled, each value in its segment; with `fused`, all in one
/// [`Compose::path`] call, else one call each.
fn compose_parts(compose: &mut Compose<'_>, pieces: &[Piece], fused: bool) {
    let texts: Vec<PathText<'_>> = pieces
        .iter()
        .filter_map(|piece| match piece {
            Piece::Text(text) => Some(PathText::new(text)),
            Piece::Value(_) => None,
        })
        .collect();
    let mut texts = texts.iter();
    let parts: Vec<PathPart<'_>> = pieces
        .iter()
        .filter_map(|piece| match piece {
            Piece::Text(_) => texts.next().map(PathPart::Literal),
            Piece::Value(value) => Some(PathPart::Value("context.v", value)),
        })
        .collect();
    if fused {
        compose.path(&parts);
        return;
    }
    for part in &parts {
        match *part {
            PathPart::Literal(text) => compose.path_literal(text),
            PathPart::Value(placeholder, value) => compose.path_value(placeholder, value),
        }
    }
}

/// The URL (or error) of a host, a path prefix (or else a first `/`), then `pieces` as
/// [`compose_parts`] composes them; with `whole`, one by one and the whole path parsed at the
/// end (the reference).
fn with_parts(
    prefix: Option<&str>,
    pieces: &[Piece],
    fused: bool,
    whole: bool,
) -> Result<url::Url, String> {
    let mut compose = with_path_start(prefix, whole);
    compose_parts(&mut compose, pieces, fused);
    compose.query("k", "v");
    sent(compose).map_err(|error| error.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn text_split_when_compiled_gives_the_url_of_text_read_at_the_call(
        // The path's first text too, and texts of more parts than a split holds.
        first in "/[a-z/.?]{0,24}",
        pieces in proptest::collection::vec(piece(), 0..6),
        long in "[a-z]{1,2}(/[a-z]{1,2}){6,11}/?",
    ) {
        let long_pieces = [Piece::Value("v".into()), Piece::Text(format!("/{long}"))];
        for pieces in [&pieces[..], &long_pieces[..]] {
            let split = with_path_split(&first, pieces, Way::Compiled);
            prop_assert_eq!(&split, &with_path_split(&first, pieces, Way::AtTheCall));
            prop_assert_eq!(&split, &with_path_split(&first, pieces, Way::Whole));
        }
    }
}

#[test]
fn text_split_when_compiled_is_appended_as_its_segments() {
    let mut pieces = vec![
        Piece::Text("api/v2/tickets/".into()),
        Piece::Value("12 345/A".into()),
        Piece::Text("/conversations/".into()),
        Piece::Value("67890".into()),
        Piece::Text("/a b".into()),
    ];
    let url = with_texts_split(&pieces, true).expect("a URL");
    // Text a segment cannot hold as it is is not split, and is parsed with the whole path.
    assert_eq!(
        url.as_str(),
        "https://api.example.com/api/v2/tickets/12%20345%2FA/conversations/67890/a%20b?k=v"
    );
    assert_eq!(Ok(url), with_texts_split(&pieces, false));
    // Split text keeps the path appended segment by segment; text that is not split, and
    // needs encoding, makes it be parsed whole.
    let appending_after = |text: &str| {
        let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
        compose.host_text("api.example.com");
        compose.path_text("/api/");
        compose.path_value("context.v", "1");
        compose.path_literal(&PathText::new(text));
        matches!(compose.segments, Segments::Appending { .. })
    };
    assert!(appending_after("/conversations/"));
    assert!(!appending_after("/a b"));
    // As many segments as a split holds are appended, none left to the whole parse.
    assert!(PathText::new("/a/b/c/d/e/f/g/h/i").is_split());
    assert!(appending_after("/a/b/c/d/e/f/g/h/i"));
    // A dot segment is refused either way.
    pieces.push(Piece::Text("/./x".into()));
    let refused = with_texts_split(&pieces, true);
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("`.` or `..`")),
        "{refused:?}"
    );
    assert_eq!(refused, with_texts_split(&pieces, false));
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
            true,
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
            // An empty segment before the first value is kept.
            &[Piece::Text("/".into()), Piece::Value("~".into())],
            "https://api.example.com//~",
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
        let (sent, whole, appended) = both(None, pieces, None).expect("no error");
        assert_eq!(sent.as_str(), *expected);
        assert_eq!(whole.as_str(), *expected);
        assert_eq!(appended, *appends, "{expected}");
    }
}

static PLAIN_HTTP: TemplateInfo = TemplateInfo {
    https: false,
    ..TEMPLATE
};

/// `http://{host}/t/{value}` composed on `runtime`, its start kept in `fixed`: the URL, or
/// the error.
fn http_request(
    runtime: &Runtime,
    fixed: &FixedPart,
    host: &str,
    value: Option<&str>,
) -> Result<String, InvokeError> {
    let mut compose = Compose::new(runtime, &PLAIN_HTTP);
    with_fixed(&mut compose, fixed, |compose| {
        compose.host_value("iparam.host", host);
        compose.path_text("/t/");
    });
    if let Some(value) = value {
        compose.path_value("context.v", value);
    }
    sent(compose).map(String::from)
}

#[test]
fn plain_http_is_refused_unless_loopback_or_allowed_at_every_call() {
    let allowing = Runtime::builder()
        .allow_insecure_http(true)
        .build()
        .expect("a runtime");
    for value in [Some("1"), None] {
        let expected = if value.is_some() {
            "http://api.example.com/t/1"
        } else {
            "http://api.example.com/t/"
        };
        // One client per runtime and host; each is called twice: composing, then reusing.
        let (allowed_start, refused_start) = (FixedPart::default(), FixedPart::default());
        for _ in 0..2 {
            let allowed = http_request(&allowing, &allowed_start, "api.example.com", value);
            assert_eq!(allowed.as_deref().ok(), Some(expected), "{allowed:?}");
            let refused = http_request(&RUNTIME, &refused_start, "api.example.com", value);
            assert!(
                matches!(refused, Err(InvokeError::InsecureHttp { .. })),
                "{refused:?}"
            );
        }
        for host in ["127.0.0.1:8080", "localhost", "127.1", "2130706433"] {
            let start = FixedPart::default();
            for _ in 0..2 {
                assert!(http_request(&RUNTIME, &start, host, value).is_ok());
            }
        }
    }
    // An address in any spelling the URL parser reads as one (what is sent is the address).
    for host in [
        "10.0.0.1",
        "3232235777",
        "0xc0.0xa8.1.1",
        "10.1",
        "0251.0376.0251.0376",
        "169.254.169.254.",
        "[fe80::1]",
        "1.2.3.4.5",
        "127.0.0.1:0",
        "127.0.0.1:99999",
        "a..b",
    ] {
        let start = FixedPart::default();
        for _ in 0..2 {
            let refused = http_request(&allowing, &start, host, Some("1"));
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
}

/// Composes `fixed` pieces as the URL's fixed start (kept in `start`), then `rest`: the URL
/// sent, or the error.
fn with_fixed_start(
    start: &FixedPart,
    fixed: &[Piece],
    rest: &[Piece],
) -> Result<url::Url, InvokeError> {
    let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
    with_fixed(&mut compose, start, |compose| {
        compose.host_text("api.example.com");
        compose.path_text("/");
        compose_pieces(compose, fixed);
    });
    compose_pieces(&mut compose, rest);
    sent(compose)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn a_reused_fixed_start_gives_the_url_composing_it_gives(
        fixed in proptest::collection::vec(piece(), 0..4),
        rest in proptest::collection::vec(piece(), 0..4),
        later in proptest::collection::vec(piece(), 0..4),
    ) {
        let start = FixedPart::default();
        let first = with_fixed_start(&start, &fixed, &rest);
        let all: Vec<Piece> = fixed.iter().chain(&rest).cloned().collect();
        let whole = both(None, &all, None).map(|(sent, _, _)| sent);
        prop_assert_eq!(first.as_ref().ok(), whole.as_ref());
        // A client's first call keeps nothing; its second keeps the start, and later calls
        // reuse it, whatever follows it.
        prop_assert!(start.composed().is_none());
        for (call, rest) in [&later, &rest, &later].into_iter().enumerate() {
            let reused = with_fixed_start(&start, &fixed, rest).ok();
            let all: Vec<Piece> = fixed.iter().chain(rest.iter()).cloned().collect();
            let composed = both(None, &all, None).map(|(sent, _, _)| sent);
            prop_assert_eq!(reused, composed);
            if first.is_ok() {
                prop_assert!(start.composed().is_some(), "kept by call {}", call + 2);
            }
        }
    }
}

#[test]
fn a_start_that_fails_is_not_kept_and_fails_again() {
    let start = FixedPart::default();
    for _ in 0..2 {
        let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
        with_fixed(&mut compose, &start, |compose| {
            let host = compose.require("iparam.host", None);
            compose.host_value("iparam.host", host);
            compose.path_text("/t/");
        });
        compose.path_value("context.v", "1");
        let draft = compose.finish().0;
        assert!(
            matches!(
                draft.error.as_deref(),
                Some(InvokeError::MissingIparam {
                    placeholder: "iparam.host",
                    ..
                })
            ),
            "{:?}",
            draft.error
        );
        assert!(start.composed().is_none());
    }
}

#[test]
fn a_start_is_kept_by_a_clients_second_call_then_copied() {
    let start = FixedPart::default();
    let mut composed = 0;
    for id in ["1", "2", "a b", "3"] {
        let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
        with_fixed(&mut compose, &start, |compose| {
            composed += 1;
            compose.host_value("iparam.host", "api.example.com");
            compose.path_text("/v2/");
            compose.path_value("iparam.team", "team-1");
            compose.path_text("/tickets/");
        });
        compose.path_value("context.v", id);
        let url = compose.finish().0.url.expect("a URL");
        let id = id.replace(' ', "%20");
        assert_eq!(
            url.as_str(),
            format!("https://api.example.com/v2/team-1/tickets/{id}")
        );
    }
    assert_eq!(
        composed, 2,
        "composed by the first two calls, copied by the others"
    );
}

/// A call of a client whose fixed part of the template is `start`: host `api.example.com`,
/// fixed path `path`, then the value `1`. The URL it sends.
fn call_with_start(start: &FixedPart, path: &str) -> Option<String> {
    let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
    with_fixed(&mut compose, start, |compose| {
        compose.host_text("api.example.com");
        compose.path_text(path);
    });
    compose.path_value("context.v", "1");
    sent(compose).ok().map(String::from)
}

/// `call` on eight threads at once: the URLs they sent.
fn eight_at_once(call: impl Fn() -> Option<String> + Sync) -> Vec<String> {
    std::thread::scope(|scope| {
        let calls: Vec<_> = (0..8).map(|_| scope.spawn(&call)).collect();
        (calls.into_iter())
            .map(|call| call.join().expect("no panic").expect("a URL"))
            .collect()
    })
}

#[test]
fn concurrent_calls_keep_one_start_and_all_send_the_same_url() {
    let start = FixedPart::default();
    let call = || call_with_start(&start, "/t/");
    // The client's first call keeps nothing: the calls racing after it all may keep the start.
    assert_eq!(call().as_deref(), Some("https://api.example.com/t/1"));
    let urls = eight_at_once(call);
    assert!(
        urls.iter().all(|url| url == "https://api.example.com/t/1"),
        "{urls:?}"
    );
    // The start is kept with its path parsed once for the client's calls.
    let composed = start.composed().expect("a start kept");
    assert_eq!(&*composed.text, "https://api.example.com/t/");
    assert!(
        matches!(&composed.segments, Segments::Appending { url, open: true, .. } if url.as_str() == "https://api.example.com/t"),
    );
}

#[test]
fn racing_first_calls_keep_nothing_wrong_and_a_later_call_keeps_the_start() {
    let start = FixedPart::default();
    let call = || call_with_start(&start, "/r/");
    let urls = eight_at_once(call);
    assert!(
        urls.iter().all(|url| url == "https://api.example.com/r/1"),
        "{urls:?}"
    );
    // Each may have counted as the first; the next call keeps the start whatever they did.
    assert_eq!(call().as_deref(), Some("https://api.example.com/r/1"));
    assert!(start.composed().is_some());
}

#[test]
fn parsed_urls_are_kept_by_length_and_a_third_length_is_parsed_each_time() {
    // Kept at the client's second call.
    let kept_start = |host: &str| {
        let start = FixedPart::default();
        for _ in 0..2 {
            let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
            assert!(compose.fixed(&start));
            compose.host_text(host);
            compose.keep_fixed();
            drop(compose.finish());
        }
        start
    };
    let a = kept_start("a.example");
    let start = a.kept().expect("kept at the second call");
    let parses = std::cell::Cell::new(0);
    let parse = |text: &str| {
        parses.set(parses.get() + 1);
        Ok(url::Url::parse(text).expect("a URL"))
    };
    let texts = [
        "https://a.example",
        "https://a.example/t",
        "https://a.example/t/u",
    ];
    for _ in 0..3 {
        for text in texts {
            let url = start.parsed(text.len(), || parse(text)).expect("parsed");
            assert_eq!(url.as_str(), url::Url::parse(text).expect("a URL").as_str());
        }
    }
    // The first length was kept when the start was composed, the second is parsed once, the
    // third at each of the three rounds.
    assert_eq!(parses.get(), 1 + 3);
    // A failed parse is not kept; the next that works is.
    let b = kept_start("b.example");
    let other = b.kept().expect("kept at the second call");
    let failed = other.parsed(3, || {
        Err(Box::new(InvokeError::MissingIparam {
            template: "t",
            placeholder: "iparam.host",
        }))
    });
    assert!(failed.is_err());
    for _ in 0..2 {
        assert!(other.parsed(3, || parse("https://b.example")).is_ok());
    }
    assert_eq!(parses.get(), 5);
    // A start not composed keeps nothing.
    assert!(FixedPart::default().kept().is_none());
}

static BEARER: TemplateInfo = TemplateInfo {
    integration: Some("crm"),
    ..TEMPLATE
};

/// A request sending `token` (none: the user has not authorized) between `prefix` and
/// `suffix`: its `Authorization` header, or the error.
fn token_request(
    prefix: &'static str,
    token: Option<&str>,
    suffix: &'static str,
) -> Result<String, InvokeError> {
    let tokens = match token {
        Some(token) => StaticTokens::new().with(TokenKey::installation("crm"), token),
        None => StaticTokens::new(),
    };
    let runtime = Runtime::builder()
        .tokens(tokens)
        .build()
        .expect("a runtime");
    let mut compose = Compose::new(&runtime, &BEARER);
    compose.host_text("api.example.com");
    compose.path_text("/me");
    compose.token_header(
        "header Authorization",
        http::header::AUTHORIZATION,
        prefix,
        suffix,
    );
    let builder = compose.finish();
    let request = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime")
        .block_on(builder.build())?;
    let value = request.headers()[http::header::AUTHORIZATION].to_str();
    Ok(value.expect("visible ASCII").to_string())
}

#[test]
fn a_token_header_with_a_control_character_is_refused_and_says_whose_it_is() {
    assert_eq!(
        token_request("Bearer ", Some("abc"), "").ok().as_deref(),
        Some("Bearer abc")
    );
    for (prefix, suffix) in [("Bearer\r\n", ""), ("Bearer ", "\n"), ("\u{7f}", "")] {
        // Whether the token is at hand or not: the template's fault is told first.
        for token in [Some("abc"), None] {
            let error = token_request(prefix, token, suffix).expect_err("refused");
            assert!(
                matches!(
                    error,
                    InvokeError::InvalidValue {
                        placeholder: "header Authorization",
                        ..
                    }
                ),
                "{prefix:?}{suffix:?}: {error:?}"
            );
        }
    }
    let error = token_request("Bearer ", Some("abc\r\nX-Injected: 1"), "").expect_err("refused");
    assert!(matches!(error, InvokeError::Token { .. }), "{error:?}");
    assert!(!error.to_string().contains("X-Injected"), "{error}");
}

#[test]
fn a_header_set_again_replaces_the_first_and_the_token_header_replaces_a_context_one() {
    let runtime = Runtime::builder()
        .tokens(StaticTokens::new().with(TokenKey::installation("crm"), "abc"))
        .build()
        .expect("a runtime");
    let x_trace = http::header::HeaderName::from_static("x-trace");
    let mut compose = Compose::new(&runtime, &BEARER);
    compose.host_text("api.example.com");
    compose.path_text("/me");
    compose.header("header X-Trace", x_trace.clone(), "first");
    compose.header("header X-Trace", x_trace.clone(), "second");
    compose.header(
        "header Authorization",
        http::header::AUTHORIZATION,
        "Basic x",
    );
    compose.bearer();
    let request = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime")
        .block_on(compose.finish().build())
        .expect("built");
    let values = |name| {
        let all = request.headers().get_all(name).iter();
        all.map(|v| v.to_str().expect("ASCII").to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(values(x_trace), ["second"]);
    assert_eq!(values(http::header::AUTHORIZATION), ["Bearer abc"]);
}

/// Composes a URL's fixed start as generated code does.
fn with_fixed<'c>(
    compose: &mut Compose<'c>,
    start: &'c FixedPart,
    steps: impl FnOnce(&mut Compose<'c>),
) {
    if compose.fixed(start) {
        steps(compose);
        compose.keep_fixed();
    }
}

#[test]
fn text_after_an_empty_path_prefix_never_joins_the_host() {
    for rest in [".evil.com/x", ":8080/x", "@evil.com/x"] {
        for value in [None, Some("1")] {
            let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
            compose.host_text("api.example.com");
            compose.path_prefix_value("context.prefix", "");
            compose.path_text(rest);
            if let Some(value) = value {
                compose.path_text("/");
                compose.path_value("context.v", value);
            }
            let url = sent(compose).expect("a URL");
            assert_eq!(url.host_str(), Some("api.example.com"), "{url}");
            assert_eq!(url.port(), None, "{url}");
            assert!(
                url.path()
                    .starts_with(&format!("/{rest}").replace('/', "/").replace("//", "/")),
                "{url}"
            );
        }
    }
}

#[test]
fn control_characters_in_a_value_never_reach_the_parser_raw() {
    for value in ["..\t", ".\n.", "\r", "a\tb", "\n", ".\t"] {
        let pieces = [
            Piece::Text("t/".into()),
            Piece::Value(value.into()),
            Piece::Text("/c".into()),
        ];
        let (sent, whole, _) = both(None, &pieces, None).expect("a URL: the value is encoded");
        assert_eq!(sent.as_str(), whole.as_str(), "{value:?}");
        let encoded = percent_encoding::utf8_percent_encode(value, super::encode::SEGMENT);
        assert_eq!(sent.path(), format!("/t/{encoded}/c"), "{value:?}");
    }
}

proptest! {
    #[test]
    fn path_text_is_split_as_str_split_splits_it(text in "[a-z/?.]{0,12}") {
        let ours: Vec<&str> = super::encode::split_slashes(&text).collect();
        let std: Vec<&str> = text.split('/').collect();
        prop_assert_eq!(ours, std);
        prop_assert_eq!(super::encode::split_at_question_mark(&text), text.split_once('?'));
    }
}

#[test]
fn many_segments_and_pairs_give_the_url_of_the_whole_text() {
    let values: Vec<String> = (0..12)
        .map(|n| match n % 3 {
            0 => format!("v{n}"),
            1 => format!("a b/{n}"),
            _ => format!("é&={n}"),
        })
        .collect();
    let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
    compose.host_text("api.example.com");
    compose.path_text("/a/b/c/d/e/f/g/h/i/j/");
    for value in &values {
        compose.path_value("context.v", value);
        compose.path_text("/");
    }
    let keys: Vec<String> = (0..12).map(|n| format!("k{n}")).collect();
    for (key, value) in keys.iter().zip(&values) {
        compose.query(key, value);
    }
    let url = sent(compose).expect("a URL");

    let segment = |value: &str| {
        percent_encoding::utf8_percent_encode(value, super::encode::SEGMENT).to_string()
    };
    let path: String = values.iter().map(|v| format!("{}/", segment(v))).collect();
    let query: Vec<String> = keys
        .iter()
        .zip(&values)
        .map(|(k, v)| {
            format!(
                "{k}={}",
                form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect();
    let text = format!(
        "https://api.example.com/a/b/c/d/e/f/g/h/i/j/{path}?{}",
        query.join("&")
    );
    assert_eq!(
        url.as_str(),
        url::Url::parse(&text).expect("a URL").as_str()
    );
    assert_eq!(url.query_pairs().count(), 12);
    assert_eq!(url.path_segments().map(Iterator::count), Some(10 + 12 + 1));
}

/// The parts that fit are appended in one pass, from the first up to the one that does not.
#[test]
fn path_parts_that_fit_are_appended_up_to_the_first_that_does_not() {
    let base = || {
        let url = url::Url::parse("https://api.example.com/api/tickets").expect("a URL");
        Segments::appending(url, true)
    };
    let conversations = PathText::new("/conversations/");
    let parts = [
        PathPart::Value("context.v", "12 345"),
        PathPart::Literal(&conversations),
        PathPart::Value("context.v", "678"),
    ];
    let mut all = base();
    assert_eq!(all.push_path(&parts), 3);
    assert_eq!(
        all.finish().map(String::from).as_deref(),
        Some("https://api.example.com/api/tickets/12%20345/conversations/678")
    );
    // `!` is kept by the URL parser but encoded in a segment: it stops the pass.
    let stopped = [
        parts[0],
        parts[1],
        PathPart::Value("context.v", "a!b"),
        parts[2],
    ];
    let mut some = base();
    assert_eq!(some.push_path(&stopped), 2);
    assert_eq!(
        some.finish().map(String::from).as_deref(),
        Some("https://api.example.com/api/tickets/12%20345/conversations/")
    );
    let mut none = base();
    assert_eq!(
        none.push_path(&stopped[1..]),
        0,
        "`//` would be an empty segment"
    );
    assert_eq!(Segments::Whole.push_path(&parts), 0);
}

#[test]
fn a_host_or_path_after_the_query_pairs_fails_the_request() {
    for late in [
        "host",
        "path text",
        "path value",
        "path prefix",
        "path split",
        "path parts",
    ] {
        let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
        compose.host_text("api.example.com");
        compose.path_text("/t");
        compose.query("k", "v");
        match late {
            "host" => compose.host_text(".evil.com"),
            "path text" => compose.path_text("/more"),
            "path value" => compose.path_value("context.v", "more"),
            "path prefix" => compose.path_prefix_value("context.p", "/more"),
            "path parts" => compose.path(&[
                PathPart::Literal(&PathText::new("/more/")),
                PathPart::Value("context.v", "more"),
            ]),
            _ => compose.path_literal(&PathText::new("/more")),
        }
        compose.query("k2", "v2");
        match sent(compose) {
            Err(InvokeError::InvalidValue {
                placeholder,
                reason,
                ..
            }) => {
                assert_eq!(placeholder, late.split(' ').next().unwrap_or(late));
                assert_eq!(reason, "is composed after the query's pairs");
            }
            other => panic!("{late}: {other:?}"),
        }
    }
}

/// A client's fixed part after a first call, which keeps nothing: its next call keeps its
/// start, and the prefix after it.
fn called_once() -> FixedPart {
    let start = FixedPart::default();
    with_prefix(&start, "/first", &[]).expect("a URL");
    assert!(start.composed().is_none());
    start
}

/// A call whose start is the origin (kept in `start`), then the path prefix `prefix` and
/// `rest`: the URL sent, or the error.
fn with_prefix(start: &FixedPart, prefix: &str, rest: &[Piece]) -> Result<url::Url, InvokeError> {
    with_prefix_and(start, prefix, rest, true)
}

/// [`with_prefix`], with a query pair or without.
fn with_prefix_and(
    start: &FixedPart,
    prefix: &str,
    rest: &[Piece],
    query: bool,
) -> Result<url::Url, InvokeError> {
    with_prefix_then(start, prefix, query, |compose| {
        compose_pieces(compose, rest)
    })
}

/// A call whose start is the origin (kept in `start`), then the path prefix `prefix`, then
/// what `rest` composes, and a query pair if `query`.
fn with_prefix_then(
    start: &FixedPart,
    prefix: &str,
    query: bool,
    rest: impl FnOnce(&mut Compose<'_>),
) -> Result<url::Url, InvokeError> {
    let mut compose = Compose::new(&UNSHARED, &TEMPLATE);
    with_fixed(&mut compose, start, |compose| {
        compose.host_text("api.example.com");
    });
    compose.path_prefix_value("context.p", prefix);
    rest(&mut compose);
    if query {
        compose.query("k", "v");
    }
    sent(compose)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn parts_in_one_call_after_a_kept_path_prefix_give_the_url_of_parts_one_by_one(
        prefixes in proptest::collection::vec(path_prefix(), 1..4),
        rests in proptest::collection::vec(proptest::collection::vec(piece(), 0..5), 1..4),
    ) {
        // The prefix is kept by the first calls, then met again (replayed) by the later ones.
        let (fused_start, one_by_one_start) = (FixedPart::default(), FixedPart::default());
        for prefix in prefixes.iter().chain(&prefixes) {
            for rest in &rests {
                let [fused, one_by_one] = [(&fused_start, true), (&one_by_one_start, false)]
                    .map(|(start, fused)| {
                        with_prefix_then(start, prefix, true, |compose| {
                            compose_parts(compose, rest, fused);
                        })
                        .map_err(|error| error.to_string())
                    });
                prop_assert_eq!(fused, one_by_one);
            }
        }
    }

    #[test]
    fn a_kept_path_prefix_gives_the_url_composing_it_gives(
        prefixes in proptest::collection::vec(path_prefix(), 1..4),
        rests in proptest::collection::vec(proptest::collection::vec(piece(), 0..4), 1..4),
    ) {
        let start = FixedPart::default();
        for prefix in prefixes.iter().chain(&prefixes) {
            for rest in &rests {
                let kept = with_prefix(&start, prefix, rest).map_err(|e| e.to_string());
                // A start composed at this call keeps nothing yet.
                let fresh = with_prefix(&FixedPart::default(), prefix, rest).map_err(|e| e.to_string());
                prop_assert_eq!(kept, fresh);
            }
        }
    }
}

#[test]
fn a_repeated_path_prefix_is_kept_parsed_and_a_call_that_strays_from_its_text_is_made_whole() {
    let start = FixedPart::default();
    let text = |t: &str| Piece::Text(t.into());
    let value = |v: &str| Piece::Value(v.into());
    let ticket = [text("/tickets/"), value("1")];
    // The client's first call keeps nothing; its second keeps the start, and the prefix
    // composed after it.
    for _ in 0..2 {
        let url = with_prefix(&start, "/helpdesk/v2", &ticket).expect("a URL");
        assert_eq!(
            url.as_str(),
            "https://api.example.com/helpdesk/v2/tickets/1?k=v"
        );
    }
    let kept = start.prefixed().flatten().expect("a prefix kept");
    assert_eq!((&*kept.prefix, &*kept.text), ("/helpdesk/v2", "/tickets/"));
    // Later calls copy it, whatever follows: the same text, less of it, other text.
    let cases: [(&[Piece], &str); 4] = [
        (&ticket, "https://api.example.com/helpdesk/v2/tickets/1?k=v"),
        (
            &[text("/tick")],
            "https://api.example.com/helpdesk/v2/tick?k=v",
        ),
        (
            &[text("/users/"), value("2")],
            "https://api.example.com/helpdesk/v2/users/2?k=v",
        ),
        (
            &[text("/tickets/x?a=b")],
            "https://api.example.com/helpdesk/v2/tickets/x?a=b&k=v",
        ),
    ];
    for (rest, expected) in cases {
        let url = with_prefix(&start, "/helpdesk/v2", rest).expect("a URL");
        assert_eq!(url.as_str(), expected);
    }
    // Another prefix is composed, not kept.
    let other = with_prefix(&start, "/other", &ticket).expect("a URL");
    assert_eq!(
        other.as_str(),
        "https://api.example.com/other/tickets/1?k=v"
    );
    let kept = start.prefixed().flatten().expect("kept");
    assert_eq!(&*kept.prefix, "/helpdesk/v2");
}

#[test]
fn a_prefix_whose_path_is_parsed_whole_is_not_kept_and_a_short_call_ends_without_a_query() {
    let text = |t: &str| Piece::Text(t.into());
    // Text that the parser must see whole (`//`): nothing is kept, every call composes.
    let start = called_once();
    for _ in 0..3 {
        let url = with_prefix(&start, "/a", &[text("//b")]).expect("a URL");
        assert_eq!(url.as_str(), "https://api.example.com/a//b?k=v");
    }
    // Known then, so that no later call gathers the prefix again.
    assert!(matches!(start.prefixed(), Some(None)));
    // A kept prefix, then a call that ends before its text does, with no query pair.
    let start = called_once();
    let kept = with_prefix_and(&start, "/a", &[text("/b/c")], false).expect("a URL");
    assert_eq!(kept.as_str(), "https://api.example.com/a/b/c");
    assert!(matches!(start.prefixed(), Some(Some(_))));
    let short = with_prefix_and(&start, "/a", &[text("/b")], false).expect("a URL");
    assert_eq!(short.as_str(), "https://api.example.com/a/b");
    let none = with_prefix_and(&start, "/a", &[], false).expect("a URL");
    assert_eq!(none.as_str(), "https://api.example.com/a");
    // A first prefix whose own value needs the whole path parsed keeps nothing, and leaves
    // the next call free to keep its prefix.
    let start = called_once();
    for prefix in ["/a|b", "/a|b"] {
        with_prefix(&start, prefix, &[text("/c")]).expect("a URL");
    }
    assert!(start.prefixed().is_none());
    with_prefix(&start, "/a", &[text("/c")]).expect("a URL");
    let kept = start.prefixed().flatten().expect("kept");
    assert_eq!(&*kept.prefix, "/a");
}

#[test]
fn clients_sharing_a_start_keep_their_own_prefix() {
    // A prefix value ending with `/` before text starting with one makes the path be parsed
    // whole: that client keeps no prefix. Another client of the same start still keeps its.
    let call = |start: &FixedPart, prefix: &str| {
        let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
        with_fixed(&mut compose, start, |compose| {
            compose.host_text("api.example.com");
        });
        compose.path_prefix_value("context.p", prefix);
        compose.path_literal(&PathText::new("/tickets/"));
        compose.path_value("context.v", "1");
        sent(compose).expect("a URL")
    };
    let (first, second) = (FixedPart::default(), FixedPart::default());
    for _ in 0..2 {
        let url = call(&first, "/org/");
        assert_eq!(url.as_str(), "https://api.example.com/org//tickets/1");
    }
    assert!(matches!(first.prefixed(), Some(None)), "nothing kept");
    for _ in 0..2 {
        let url = call(&second, "/org");
        assert_eq!(url.as_str(), "https://api.example.com/org/tickets/1");
    }
    assert!(second.shares_start_with(&first), "one start");
    let kept = second.prefixed().flatten().expect("its own prefix kept");
    assert_eq!(&*kept.prefix, "/org");
}

/// A client made per call, composing `host` (an installation parameter) and `id` (a value);
/// its fixed start is left in `fixed`.
fn send_from_client(
    runtime: &Runtime,
    template: &'static TemplateInfo,
    fixed: &FixedPart,
    host: &str,
    id: &str,
) -> Result<url::Url, InvokeError> {
    let mut compose = Compose::new(runtime, template);
    if compose.fixed(fixed) {
        compose.host_value("iparam.domain", host);
        compose.host_text(".example.com");
        compose.path_text("/api/v2/tickets/");
        compose.keep_fixed();
    }
    compose.path_value("context.id", id);
    sent(compose)
}

fn send_from_new_client(
    runtime: &Runtime,
    template: &'static TemplateInfo,
    host: &str,
    id: &str,
) -> Result<url::Url, InvokeError> {
    send_from_client(runtime, template, &FixedPart::default(), host, id)
}

#[test]
fn clients_made_per_call_share_a_start_only_with_the_same_text() {
    static OTHER: TemplateInfo = TemplateInfo {
        name: "other",
        ..TEMPLATE
    };
    let runtime = Runtime::builder().build().expect("a runtime");
    for round in 0..3 {
        for (host, id) in [("acme", "1"), ("globex", "2 3")] {
            let fixed = FixedPart::default();
            let url = send_from_client(&runtime, &TEMPLATE, &fixed, host, id).unwrap();
            let expected = format!(
                "https://{host}.example.com/api/v2/tickets/{}",
                id.replace(' ', "%20")
            );
            assert_eq!(url.as_str(), expected, "round {round}");
            assert!(
                fixed.composed().is_none(),
                "a client made for one call keeps nothing"
            );
        }
    }
    // One text per installation host, whatever the calls' values.
    assert_eq!(runtime.shared.starts.len(), 2);
    // A client called again keeps the runtime's start for its text.
    let called_twice = |template: &'static TemplateInfo, host: &str| {
        let fixed = FixedPart::default();
        for id in ["4", "5"] {
            send_from_client(&runtime, template, &fixed, host, id).unwrap();
        }
        fixed
    };
    let (acme, also_acme) = (
        called_twice(&TEMPLATE, "acme"),
        called_twice(&TEMPLATE, "acme"),
    );
    let globex = called_twice(&TEMPLATE, "globex");
    assert!(acme.shares_start_with(&also_acme), "shared");
    assert!(
        !acme.shares_start_with(&globex),
        "another installation's text"
    );
    assert_eq!(runtime.shared.starts.len(), 2);
    // Another template with the same text composes a start of its own.
    let (other, again) = (called_twice(&OTHER, "acme"), called_twice(&OTHER, "acme"));
    assert!(!other.shares_start_with(&acme));
    assert!(again.shares_start_with(&other));
}

#[test]
fn a_refused_base_is_refused_at_every_call_and_never_kept() {
    static PLAIN: TemplateInfo = TemplateInfo {
        https: false,
        ..TEMPLATE
    };
    let runtime = Runtime::builder().build().expect("a runtime");
    // Clients made per call, and one client called again and again.
    let client = FixedPart::default();
    for _ in 0..3 {
        let refused = send_from_new_client(&runtime, &PLAIN, "acme", "1");
        assert!(
            matches!(refused, Err(InvokeError::InsecureHttp { .. })),
            "{refused:?}"
        );
        let refused = send_from_client(&runtime, &PLAIN, &client, "acme", "1");
        assert!(
            matches!(refused, Err(InvokeError::InsecureHttp { .. })),
            "{refused:?}"
        );
        assert!(client.composed().is_none(), "nothing kept");
    }
    assert_eq!(runtime.shared.starts.len(), 0);
    // The same host over https is another text, and is kept.
    send_from_new_client(&runtime, &TEMPLATE, "acme", "1").unwrap();
    assert_eq!(runtime.shared.starts.len(), 1);
}

#[test]
fn a_clients_identity_is_made_once_from_the_same_values_and_anew_from_others() {
    let start = FixedPart::default();
    let identity = |certificate: &str| {
        let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
        if compose.fixed(&start) {
            compose.host_text("api.example.com");
            compose.keep_fixed();
        }
        compose.client_identity(certificate, "key-pem", Some("ca-pem"));
        compose.finish().0.identity().cloned().expect("an identity")
    };
    // A client's first call keeps nothing (a client made per call keeps nothing); its second
    // keeps its fixed part, and the identity with it.
    let unkept = identity("cert-a");
    let first = identity("cert-a");
    let again = identity("cert-a");
    assert!(!std::sync::Arc::ptr_eq(&unkept, &first));
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "the same values: the identity kept"
    );
    let other = identity("cert-b");
    assert!(!std::sync::Arc::ptr_eq(&first, &other));
    assert_ne!(first.digest, other.digest, "other values: another identity");
    assert!(other.is_made_of("cert-b", "key-pem", Some("ca-pem")));
    assert!(!other.is_made_of("cert-b", "key-pem", None));
    assert!(
        !other.is_made_of("cert-b", "key-PEM", Some("ca-pem")),
        "another key"
    );
    assert!(
        !other.is_made_of("cert-b", "key-pem-2", Some("ca-pem")),
        "a longer key"
    );
}

#[test]
fn a_host_value_holds_host_name_characters_only() {
    for byte in 0..=u8::MAX {
        const ALLOWED: &[u8] =
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._:[]";
        let allowed = ALLOWED.contains(&byte);
        let value = String::from_utf8_lossy(&[b'a', byte, b'b']).into_owned();
        let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
        compose.host_value("iparam.host", &value);
        let refused = matches!(
            compose.finish().0.error.as_deref(),
            Some(InvokeError::InvalidValue {
                placeholder: "iparam.host",
                ..
            })
        );
        assert_eq!(refused, !allowed, "byte {byte:#04x}");
    }
}

#[test]
fn a_kept_path_prefix_never_lets_a_bad_prefix_through() {
    let start = called_once();
    let rest = [Piece::Text("/tickets".into())];
    let kept = with_prefix(&start, "/org/a", &rest).expect("a URL");
    assert_eq!(kept.as_str(), "https://api.example.com/org/a/tickets?k=v");
    assert!(start.prefixed().is_some_and(|p| p.is_some()), "kept");
    for bad in ["org/a", "/org/..", "/org/./a", "org/a/"] {
        let refused = with_prefix(&start, bad, &rest);
        assert!(
            matches!(
                refused,
                Err(InvokeError::InvalidValue {
                    placeholder: "context.p",
                    ..
                })
            ),
            "{bad}: {refused:?}"
        );
    }
    // The kept one still replays.
    assert_eq!(with_prefix(&start, "/org/a", &rest).ok(), Some(kept));
}

#[test]
fn a_clients_clones_share_its_installation_values_and_fixed_parts() {
    let installation: super::Installation<String, FixedPart> =
        super::Installation::new("acme".into());
    let clone = installation.clone();
    assert!(
        std::ptr::eq(installation.fixed(), clone.fixed()),
        "one allocation"
    );
    assert_eq!(&**clone, "acme", "reads as the parameters");
    // Shown as the parameters show themselves: the fixed parts, made of them, never.
    assert_eq!(format!("{installation:?}"), format!("{:?}", "acme"));
}
