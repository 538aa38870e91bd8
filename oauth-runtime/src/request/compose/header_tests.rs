//! Headers made of text and installation values alone: composed with the URL's fixed start at
//! a client's first call (kept from its second), then copied; each client's own.

use http::header::{AUTHORIZATION, HeaderMap, HeaderName};

use super::tests::{RUNTIME, TEMPLATE};
use super::{Compose, FixedPart};
use crate::error::InvokeError;

const X_REGION: HeaderName = HeaderName::from_static("x-region");
const X_NOTE: HeaderName = HeaderName::from_static("x-note");

/// One installation's values.
struct Installation {
    domain: &'static str,
    api_key: Option<&'static str>,
    region: &'static str,
}

/// A call of a client whose fixed part is kept in `fixed`, as generated code makes it: the
/// host, the credential and region headers fixed, then the call's `id` in the path and a note
/// header. How many times the fixed part was composed is added to `composed`.
fn call(
    fixed: &FixedPart,
    installation: &Installation,
    (id, note): (&str, &str),
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
    compose.path_value("context.id", id);
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

/// An installation without its (required) API key.
const NO_KEY: Installation = Installation {
    api_key: None,
    ..ACME
};

#[test]
fn fixed_headers_are_kept_by_a_clients_second_call_then_copied_with_their_sensitivity() {
    let fixed = FixedPart::default();
    let mut composed = 0;
    for (call_number, note) in ["first", "second", "third", "fourth"]
        .into_iter()
        .enumerate()
    {
        let headers = call(&fixed, &ACME, ("1", note), &mut composed).expect("built");
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
        // A client made for one call keeps nothing; one called again keeps its fixed part.
        assert_eq!(fixed.composed().is_some(), call_number >= 1, "{note}");
    }
    assert_eq!(composed, 2, "composed at the first two calls only");
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
    for _ in 0..3 {
        let acme = call(&first, &ACME, ("1", "n"), &mut composed).expect("built");
        let theirs = call(&second, &other, ("1", "n"), &mut composed).expect("built");
        assert_eq!(text(&acme, AUTHORIZATION), "Basic acme-key");
        assert_eq!(text(&theirs, AUTHORIZATION), "Basic other-key");
        assert_eq!(text(&theirs, X_REGION), "us");
    }
    assert!(
        first.shares_start_with(&second),
        "the URL's start is shared"
    );
    assert_eq!(composed, 4, "each client composed its own twice");
}

#[test]
fn a_fixed_header_that_fails_keeps_nothing_and_fails_every_call() {
    let broken = Installation {
        region: "eu\r\nX-Injected: 1",
        ..ACME
    };
    for installation in [NO_KEY, broken] {
        let fixed = FixedPart::default();
        let mut composed = 0;
        for _ in 0..2 {
            let error =
                call(&fixed, &installation, ("1", "n"), &mut composed).expect_err("refused");
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
    let error = call(&FixedPart::default(), &NO_KEY, ("..", "n"), &mut 0).expect_err("refused");
    assert!(
        matches!(
            error,
            InvokeError::MissingIparam {
                placeholder: "iparam.api_key",
                ..
            }
        ),
        "{error:?}"
    );
    // Alone, the call's value is refused.
    let error = call(&FixedPart::default(), &ACME, ("..", "n"), &mut 0).expect_err("refused");
    assert!(
        matches!(
            error,
            InvokeError::InvalidValue {
                placeholder: "context.id",
                ..
            }
        ),
        "{error:?}"
    );
}
