//! Headers made of text and installation values alone: composed with the URL's fixed start at
//! a client's first call, then copied; each client's own.

use std::sync::LazyLock;

use http::header::{AUTHORIZATION, HeaderMap, HeaderName};

use super::{Compose, FixedPart};
use crate::error::InvokeError;
use crate::request::draft::{MethodKind, TemplateInfo};
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
    query_keys: &[],
};

const X_REGION: HeaderName = HeaderName::from_static("x-region");
const X_NOTE: HeaderName = HeaderName::from_static("x-note");

/// One installation's values.
struct Installation {
    domain: &'static str,
    api_key: Option<&'static str>,
    region: &'static str,
}

/// A call of a client whose fixed part is kept in `fixed`, as generated code makes it: the
/// host, the credential and region headers fixed, a note header per call. How many times the
/// fixed part was composed is added to `composed`.
fn call(
    fixed: &FixedPart,
    installation: &Installation,
    note: &str,
    composed: &mut usize,
) -> Result<HeaderMap, InvokeError> {
    let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
    if compose.fixed(fixed) {
        *composed += 1;
        compose.host_value("iparam.domain", installation.domain);
        compose.path_text("/api/");
        let key = compose.require("iparam.api_key", installation.api_key);
        compose.secret_header(
            "header Authorization",
            AUTHORIZATION,
            &format!("Basic {key}"),
        );
        compose.header("header X-Region", X_REGION, installation.region);
        compose.keep_fixed();
    }
    compose.path_value("context.id", "1");
    compose.header("header X-Note", X_NOTE, note);
    let draft = compose.finish().0;
    match draft.error {
        Some(error) => Err(*error),
        None => Ok(draft.headers),
    }
}

fn text(headers: &HeaderMap, name: HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)")
}

const ACME: Installation = Installation {
    domain: "acme.example.com",
    api_key: Some("acme-key"),
    region: "eu",
};

#[test]
fn fixed_headers_are_made_once_per_client_then_copied_with_their_sensitivity() {
    let fixed = FixedPart::default();
    let mut composed = 0;
    for note in ["first", "second", "third"] {
        let headers = call(&fixed, &ACME, note, &mut composed).expect("built");
        assert_eq!(text(&headers, AUTHORIZATION), "Basic acme-key");
        assert_eq!(text(&headers, X_REGION), "eu");
        assert_eq!(text(&headers, X_NOTE), note, "the call's own header");
        let authorization = headers.get(AUTHORIZATION).expect("sent");
        assert!(
            authorization.is_sensitive(),
            "{note}: a secret stays hidden"
        );
        assert_eq!(format!("{authorization:?}"), "Sensitive");
        assert!(!headers.get(X_REGION).expect("sent").is_sensitive());
    }
    assert_eq!(composed, 1, "composed at the first call only");
}

#[test]
fn clients_sharing_a_url_start_send_their_own_fixed_headers() {
    // Two installations on one host (one text, one shared URL start) with other keys.
    let other = Installation {
        api_key: Some("other-key"),
        region: "us",
        ..ACME
    };
    let (first, second) = (FixedPart::default(), FixedPart::default());
    let mut composed = 0;
    for _ in 0..2 {
        let acme = call(&first, &ACME, "n", &mut composed).expect("built");
        let theirs = call(&second, &other, "n", &mut composed).expect("built");
        assert_eq!(text(&acme, AUTHORIZATION), "Basic acme-key");
        assert_eq!(text(&theirs, AUTHORIZATION), "Basic other-key");
        assert_eq!(text(&theirs, X_REGION), "us");
    }
    assert!(
        first.shares_start_with(&second),
        "the URL's start is shared"
    );
    assert_eq!(composed, 2, "each client composed its own once");
}

#[test]
fn a_fixed_header_that_fails_keeps_nothing_and_fails_every_call() {
    let missing = Installation {
        api_key: None,
        ..ACME
    };
    let broken = Installation {
        region: "eu\r\nX-Injected: 1",
        ..ACME
    };
    for installation in [missing, broken] {
        let fixed = FixedPart::default();
        let mut composed = 0;
        for _ in 0..2 {
            let error = call(&fixed, &installation, "n", &mut composed).expect_err("refused");
            let expected = match installation.api_key {
                None => "iparam.api_key",
                Some(_) => "header X-Region",
            };
            assert!(
                matches!(&error,
                    InvokeError::MissingIparam { placeholder, .. }
                    | InvokeError::InvalidValue { placeholder, .. } if *placeholder == expected),
                "{error:?}"
            );
            assert!(fixed.composed().is_none(), "nothing kept");
        }
        assert_eq!(composed, 2, "composed, and refused, at each call");
    }
}

#[test]
fn a_fixed_headers_error_comes_before_the_calls_values_errors() {
    // The fixed part is composed first: its refused header is the request's error, though a
    // value of the call (a dot segment) is refused too.
    let missing = Installation {
        api_key: None,
        ..ACME
    };
    let fixed = FixedPart::default();
    let mut compose = Compose::new(&RUNTIME, &TEMPLATE);
    if compose.fixed(&fixed) {
        compose.host_value("iparam.domain", missing.domain);
        compose.path_text("/api/");
        let key = compose.require("iparam.api_key", missing.api_key);
        compose.secret_header("header Authorization", AUTHORIZATION, key);
        compose.keep_fixed();
    }
    compose.path_value("context.id", "..");
    let error = compose.finish().0.error.expect("refused");
    assert!(
        matches!(
            *error,
            InvokeError::MissingIparam {
                placeholder: "iparam.api_key",
                ..
            }
        ),
        "{error:?}"
    );
}
