use super::*;

fn parse(status: StatusCode, form_body: bool, body: &[u8]) -> Result<Granted, Failure> {
    super::parse(status, form_body, body, &["sekrit-sent".to_string()])
}

fn ok(body: &str) -> Granted {
    parse(StatusCode::OK, false, body.as_bytes()).unwrap()
}

fn parse_err(status: u16, body: &str) -> Failure {
    parse(
        StatusCode::from_u16(status).unwrap(),
        false,
        body.as_bytes(),
    )
    .unwrap_err()
}

#[test]
fn real_world_token_responses_are_read() {
    let granted =
        ok(r#"{"access_token":"a","refresh_token":"r","expires_in":"1800","scope":"x y"}"#);
    assert_eq!(granted.access_token, "a");
    assert_eq!(granted.refresh_token.as_deref(), Some("r"));
    assert_eq!(granted.expires_in, Some(Duration::from_secs(1800)));
    assert_eq!(granted.scopes, Some(vec!["x".to_string(), "y".to_string()]));

    let granted = ok(r#"{"access_token":"a","expires_in":3599.0,"token_type":"Bearer"}"#);
    assert_eq!(granted.expires_in, Some(Duration::from_secs(3599)));
    assert_eq!(granted.refresh_token, None);
    assert_eq!(
        granted.extra.get("token_type"),
        Some(&Value::from("Bearer"))
    );

    let granted = ok(r#"{"access_token":"a","scope":["x","y"],"refresh_token":""}"#);
    assert_eq!(granted.scopes.map(|s| s.len()), Some(2));
    assert_eq!(
        granted.refresh_token, None,
        "an empty refresh token is none"
    );

    let granted = parse(
        StatusCode::OK,
        true,
        b"access_token=a%2Bb&scope=repo%2Cuser&token_type=bearer",
    )
    .unwrap();
    assert_eq!(granted.access_token, "a+b");
    assert_eq!(
        granted.scopes,
        Some(vec!["repo".to_string(), "user".to_string()]),
        "GitHub's comma-separated scopes"
    );
    // A form body served as text/plain.
    assert_eq!(
        parse(StatusCode::OK, false, b"access_token=z&expires_in=60")
            .unwrap()
            .expires_in,
        Some(Duration::from_secs(60))
    );
}

#[test]
fn an_empty_scope_says_nothing_and_no_expires_in_is_no_expiry() {
    // GitHub App user tokens answer `"scope": ""`.
    let granted = ok(r#"{"access_token":"a","scope":"","token_type":"bearer"}"#);
    assert_eq!(granted.scopes, None);
    assert_eq!(granted.expires_in, None);
    assert_eq!(ok(r#"{"access_token":"a","scope":[]}"#).scopes, None);
    assert_eq!(ok(r#"{"access_token":"a","scope":" , "}"#).scopes, None);
}

#[test]
fn extra_fields_are_kept_and_known_ones_are_not_repeated() {
    let granted = ok(
        r#"{"access_token":"a","refresh_token":"r","expires_in":28800,
        "refresh_token_expires_in":15811200,"scope":"","token_type":"bearer",
        "instance_url":"https://acme.my.salesforce.com","team":{"id":"T1","name":"Acme"}}"#,
    );
    let keys: Vec<&str> = granted.extra.keys().map(String::as_str).collect();
    for key in [
        "refresh_token_expires_in",
        "token_type",
        "instance_url",
        "team",
    ] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    for key in ["access_token", "refresh_token", "expires_in", "scope"] {
        assert!(!keys.contains(&key), "{key} in {keys:?}");
    }
    assert_eq!(granted.extra["team"]["id"], "T1");
}

#[test]
fn slack_v2_user_only_installs_give_the_user_token() {
    let granted = ok(r#"{"ok":true,"app_id":"A1","team":{"id":"T1"},
        "authed_user":{"id":"U1","scope":"chat:write,users:read","access_token":"xoxp-1",
        "token_type":"user","refresh_token":"xoxe-1","expires_in":43200}}"#);
    assert_eq!(granted.access_token, "xoxp-1");
    assert_eq!(granted.refresh_token.as_deref(), Some("xoxe-1"));
    assert_eq!(granted.expires_in, Some(Duration::from_secs(43200)));
    assert_eq!(
        granted.scopes,
        Some(vec!["chat:write".to_string(), "users:read".to_string()])
    );
    assert!(granted.extra.contains_key("authed_user") && granted.extra.contains_key("team"));
    // A bot install keeps the top-level token.
    let granted = ok(r#"{"ok":true,"access_token":"xoxb-1","authed_user":{"id":"U1"}}"#);
    assert_eq!(granted.access_token, "xoxb-1");
}

#[test]
fn an_unreadable_optional_field_is_absent_and_the_tokens_are_kept() {
    for (field, value) in [
        ("expires_in", r#""3600.0""#),
        ("expires_in", r#""""#),
        ("expires_in", "true"),
        ("expires_in", "-1"),
        ("expires_in", "0"),
        ("expires_in", r#""soon""#),
        ("expires_in", "{}"),
        ("scope", "5"),
        ("scope", r#"[1,2]"#),
        ("scope", "{}"),
        ("refresh_token_expires_in", r#""x""#),
    ] {
        let body = format!(r#"{{"access_token":"a","refresh_token":"rotated","{field}":{value}}}"#);
        let granted = ok(&body);
        assert_eq!(granted.access_token, "a", "{body}");
        assert_eq!(granted.refresh_token.as_deref(), Some("rotated"), "{body}");
    }
    assert_eq!(
        ok(r#"{"access_token":"a","expires_in":"3600.0"}"#).expires_in,
        Some(Duration::from_secs(3600))
    );
    assert_eq!(
        ok(r#"{"access_token":"a","expires_in":-1}"#).expires_in,
        None
    );
    // A refresh token of the wrong type is absent; the access token is still taken.
    let granted = ok(r#"{"access_token":"a","refresh_token":7}"#);
    assert_eq!(granted.refresh_token, None);
}

#[test]
fn absurd_lifetimes_are_capped_not_overflowed() {
    for body in [
        r#"{"access_token":"a","expires_in":1e300}"#,
        r#"{"access_token":"a","expires_in":"18446744073709551615"}"#,
    ] {
        let granted = ok(body);
        assert_eq!(granted.expires_in, Some(MAX_LIFETIME));
        let set = crate::TokenSet::new("a").expires_in(granted.expires_in.unwrap());
        assert!(set.expires_at().is_some());
    }
    assert!(
        crate::TokenSet::new("a")
            .expires_in(Duration::MAX)
            .expires_at()
            .is_none()
    );
    let debug = format!(
        "{:?}",
        ok(r#"{"access_token":"sekrit","refresh_token":"sekrit2","id_token":"sekrit3"}"#)
    );
    assert!(!debug.contains("sekrit"), "{debug}");
}

#[test]
fn dead_grants_in_every_providers_words_are_dead() {
    for (status, body) in [
        (
            400,
            r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
        ),
        (
            200,
            r#"{"error":"invalid_grant","error_description":"revoked"}"#,
        ),
        (
            200,
            r#"{"error":"bad_refresh_token","error_description":"The refresh token passed is incorrect or expired."}"#,
        ),
        (200, r#"{"ok":false,"error":"invalid_refresh_token"}"#),
        (200, r#"{"ok":false,"error":"token_revoked"}"#),
        (200, r#"{"ok":false,"error":"token_expired"}"#),
        (
            400,
            r#"{"status":"BAD_REFRESH_TOKEN","message":"missing or unknown refresh token","correlationId":"c"}"#,
        ),
        (
            400,
            r#"{"status":"BAD_AUTH_CODE","message":"missing or unknown auth code"}"#,
        ),
        (200, r#"{"error":"bad_verification_code"}"#),
    ] {
        assert_eq!(parse_err(status, body), Failure::GrantRejected, "{body}");
    }
    assert_eq!(
        parse(
            StatusCode::OK,
            true,
            b"error=bad_refresh_token&error_description=x"
        )
        .unwrap_err(),
        Failure::GrantRejected,
        "GitHub's form-encoded answer"
    );
}

#[test]
fn misconfigured_clients_are_told_apart_from_dead_grants() {
    // Credentials refused: the other way of sending them may be tried.
    for (status, body, code) in [
        (401, r#"{"error":"invalid_client"}"#, "invalid_client"),
        (
            200,
            r#"{"error":"incorrect_client_credentials","error_description":"The client_id and/or client_secret passed are incorrect."}"#,
            "incorrect_client_credentials",
        ),
        (
            200,
            r#"{"ok":false,"error":"invalid_client_id"}"#,
            "invalid_client_id",
        ),
        (
            200,
            r#"{"ok":false,"error":"bad_client_secret"}"#,
            "bad_client_secret",
        ),
        (
            400,
            r#"{"status":"BAD_CLIENT_ID","message":"missing or unknown client id"}"#,
            "BAD_CLIENT_ID",
        ),
        (
            400,
            r#"{"error":"invalid_request","error_description":"Missing required parameter: client_id"}"#,
            "invalid_request",
        ),
        (
            400,
            r#"{"status":"error","message":"Any of the listed authentication credentials are missing"}"#,
            "error",
        ),
        (
            400,
            r#"{"error":"unauthorized_client","error_description":"Invalid OAuth client credentials"}"#,
            "unauthorized_client",
        ),
        (401, r#"{"error":"whatever"}"#, "whatever"),
        (401, "", ""),
    ] {
        match parse_err(status, body) {
            Failure::ClientAuthRefused(reason) => assert!(reason.contains(code), "{reason}"),
            other => panic!("{body}: {other:?}"),
        }
    }
    // The client itself refused: no other way of authenticating helps.
    for body in [
        r#"{"error":"unauthorized_client"}"#,
        r#"{"ok":false,"error":"bad_redirect_uri"}"#,
        r#"{"error":"unverified_user_email"}"#,
    ] {
        assert!(
            matches!(parse_err(400, body), Failure::ClientRejected(_)),
            "{body}"
        );
    }
    // Atlassian's dead refresh token, worded as a client error.
    assert_eq!(
        parse_err(
            403,
            r#"{"error":"unauthorized_client","error_description":"refresh_token is invalid"}"#
        ),
        Failure::GrantRejected
    );
}

#[test]
fn a_2xx_with_an_access_token_is_the_tokens_whatever_else_it_says() {
    let granted = ok(r#"{"access_token":"a","refresh_token":"rotated","error":"ignored"}"#);
    assert_eq!(granted.refresh_token.as_deref(), Some("rotated"));
    assert_eq!(ok(r#"{"access_token":"a","error":{}}"#).access_token, "a");
    // A JSON body labelled as a form.
    let granted = parse(
        StatusCode::OK,
        true,
        br#"{"access_token":"a","refresh_token":"r"}"#,
    )
    .unwrap();
    assert_eq!(granted.refresh_token.as_deref(), Some("r"));
}

#[test]
fn a_secret_echoed_in_an_error_is_scrubbed_before_the_text_is_cut() {
    let long = "x".repeat(195);
    match parse_err(
        400,
        &format!(r#"{{"error":"e","error_description":"{long} sekrit-sent"}}"#),
    ) {
        Failure::Refused(reason) => assert!(!reason.contains("sekrit"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_errors_carry_the_providers_code_and_description() {
    match parse_err(
        400,
        r#"{"error":"invalid_scope","error_description":"The scope\r\n is bad"}"#,
    ) {
        Failure::Refused(reason) => assert_eq!(
            reason,
            "the token endpoint answered 400 Bad Request `invalid_scope`: The scope   is bad"
        ),
        other => panic!("{other:?}"),
    }
    match parse_err(
        400,
        r#"{"reason":"Invalid request","error":"invalid_request"}"#,
    ) {
        Failure::Refused(reason) => assert!(reason.contains("`invalid_request`: Invalid request")),
        other => panic!("{other:?}"),
    }
    let long = "x".repeat(1000);
    match parse_err(
        400,
        &format!(r#"{{"error":"e","error_description":"{long}"}}"#),
    ) {
        Failure::Refused(reason) => assert!(reason.len() < 300, "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn passing_failures_and_malformed_answers_are_classified() {
    assert!(matches!(
        parse_err(503, "<html>down</html>"),
        Failure::Transient(_)
    ));
    assert!(matches!(
        parse_err(429, r#"{"error":"slow_down"}"#),
        Failure::Transient(_)
    ));
    assert!(matches!(
        parse_err(200, r#"{"error":"temporarily_unavailable"}"#),
        Failure::Transient(_)
    ));
    assert!(matches!(
        parse_err(200, r#"{"ok":false,"error":"ratelimited"}"#),
        Failure::Transient(_)
    ));
    assert!(matches!(
        parse_err(200, r#"{"token_type":"bearer"}"#),
        Failure::Refused(_)
    ));
    assert!(matches!(parse_err(200, "<html>"), Failure::Refused(_)));
    assert!(matches!(parse_err(400, "nonsense"), Failure::Refused(_)));
    assert!(
        matches!(parse_err(400, r#"{"error":"bad\r\ncode<script>"}"#), Failure::Refused(m) if m.contains("badcodescript"))
    );
    // A 2xx whose `status` is a field of a token response, not an error.
    assert_eq!(
        ok(r#"{"access_token":"a","status":"active"}"#).access_token,
        "a"
    );
}
