//! The generated fixture client against a loopback server: what goes on the wire.

use std::sync::{Arc, Mutex};

use oauth_generated::helpdesk::{
    Helpdesk, HelpdeskIparams, LocalTicketContext, LocalUserCallContext, ProxyCallContext,
};
use oauth_runtime::{InvokeError, Runtime, StaticTokens, TokenKey, UserId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A one-request-per-connection HTTP server that records each raw request head and answers
/// with `status` and `body`.
async fn server(status: u16, body: &'static str) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                }
            }
            record
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buffer).into_owned());
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    (port, seen)
}

fn client(tokens: StaticTokens) -> Helpdesk {
    client_with_team(tokens, None)
}

fn client_with_team(tokens: StaticTokens, team: Option<&str>) -> Helpdesk {
    let runtime = Runtime::builder().tokens(tokens).build().unwrap();
    Helpdesk::new(
        runtime,
        HelpdeskIparams {
            domain: "acme".into(),
            api_key: "key".to_string().into(),
            region: None,
            limit: 10.0,
            beta: Some(true),
            tags: vec!["a".into(), "b c".into()],
            team: team.map(str::to_string),
        },
    )
}

fn head(seen: &Arc<Mutex<Vec<String>>>) -> String {
    seen.lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[tokio::test]
async fn values_are_encoded_where_they_land_and_the_token_is_injected() {
    let (port, seen) = server(200, r#"{"id": 7}"#).await;
    let helpdesk =
        client(StaticTokens::new().with(TokenKey::installation("freshservice"), "tok-1"));
    let response = helpdesk
        .local_ticket(&LocalTicketContext {
            port: port.to_string(),
            ticket_id: "../admin?x=1#y".into(),
            note: Some("hi".into()),
            fields: None,
        })
        .query("page", "99")
        .query("extra", "a&b=c")
        .json(&serde_json_like())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text(), r#"{"id": 7}"#);
    assert_eq!(response.attempts(), 1);
    let head = head(&seen);
    // the hostile id stays one path segment; the template's `page` wins; invoke-time query is encoded
    assert!(
        head.starts_with("patch /api/v2/tickets/..%2fadmin%3fx%3d1%23y?fields=id%2csubject&page=1&extra=a%26b%3dc http/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nauthorization: bearer tok-1\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nx-note: hi\r\n"), "{head}");
    // text around the token may hold values too
    assert!(head.contains("\r\nx-signed-token: hi:tok-1\r\n"), "{head}");
    assert!(
        head.contains("\r\ncontent-type: application/json\r\n"),
        "{head}"
    );
}

fn serde_json_like() -> std::collections::BTreeMap<&'static str, &'static str> {
    [("subject", "Printer on fire")].into_iter().collect()
}

#[tokio::test]
async fn agent_templates_send_the_given_users_token() {
    let (port, seen) = server(200, "{}").await;
    let helpdesk =
        client(StaticTokens::new().with(TokenKey::user("asana", UserId::new("u1")), "user-token"));
    let context = LocalUserCallContext {
        port: port.to_string(),
    };
    helpdesk
        .local_user_call(&context, &UserId::new("u1"))
        .send()
        .await
        .unwrap();
    assert!(head(&seen).contains("\r\nauthorization: bearer user-token\r\n"));
    let error = helpdesk
        .local_user_call(&context, &UserId::new("u2"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            InvokeError::ReauthorizationRequired {
                integration: "asana",
                reason: oauth_runtime::ReauthorizationReason::NotAuthorized,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "template `localUserCall`: user `u2` must authorize `asana` (the app was never authorized)"
    );
}

#[tokio::test]
async fn path_prefixes_keep_slashes_and_refuse_dot_segments() {
    let (port, seen) = server(204, "").await;
    let helpdesk = client_with_team(StaticTokens::new(), Some("core"));
    let mut context = ProxyCallContext {
        port: port.to_string(),
        base_path: "/org/project x".into(),
        item_id: "a/b".into(),
    };
    helpdesk.proxy_call(&context).send().await.unwrap();
    let head = head(&seen);
    assert!(
        head.starts_with("delete /org/project%20x/items/a%2fb http/1.1\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nx-tags: a,b c\r\n"), "{head}");
    assert!(head.contains("\r\nx-team: core\r\n"), "{head}");

    context.base_path = "/org/../admin".into();
    let error = helpdesk.proxy_call(&context).send().await.unwrap_err();
    assert!(
        matches!(
            error,
            InvokeError::InvalidValue {
                placeholder: "context.base_path",
                ..
            }
        ),
        "{error:?}"
    );
    context.base_path = "org".into();
    let error = helpdesk.proxy_call(&context).send().await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "template `proxy-call`: the value of `context.base_path` must start with `/`, as it begins the path; nothing was sent"
    );
    context.base_path = "/org".into();
    context.item_id = "..".into();
    let error = helpdesk.proxy_call(&context).send().await.unwrap_err();
    assert!(
        matches!(
            error,
            InvokeError::InvalidValue {
                placeholder: "context.item_id",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "refused requests must not be sent"
    );
}

#[tokio::test]
async fn hostile_hosts_and_headers_are_refused_before_sending() {
    let helpdesk = client_with_team(StaticTokens::new(), Some("core"));
    for (port, placeholder) in [
        ("80/evil", "context.port"),
        ("80@evil.com", "context.port"),
        ("", "context.port"),
    ] {
        let context = ProxyCallContext {
            port: port.into(),
            base_path: "/x".into(),
            item_id: "1".into(),
        };
        let error = helpdesk.proxy_call(&context).send().await.unwrap_err();
        assert!(
            matches!(error, InvokeError::InvalidValue { placeholder: p, .. } if p == placeholder),
            "{port}: {error:?}"
        );
    }
    let (port, seen) = server(200, "{}").await;
    let error = helpdesk
        .local_ticket(&LocalTicketContext {
            port: port.to_string(),
            ticket_id: "1".into(),
            note: Some("a\r\nX-Evil: 1".into()),
            fields: None,
        })
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            InvokeError::InvalidValue {
                placeholder: "header X-Note",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn error_statuses_and_missing_iparams_are_typed() {
    let (port, _) = server(404, r#"{"error":"nope"}"#).await;
    let helpdesk = client(StaticTokens::new().with(TokenKey::installation("freshservice"), "t"));
    let context = LocalTicketContext {
        port: port.to_string(),
        ticket_id: "1".into(),
        ..LocalTicketContext::default()
    };
    let error = helpdesk.local_ticket(&context).send().await.unwrap_err();
    match &error {
        InvokeError::Status {
            status,
            body,
            attempts,
            ..
        } => {
            assert_eq!(status.as_u16(), 404);
            assert_eq!(&body[..], br#"{"error":"nope"}"#);
            assert_eq!(*attempts, 1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "template `localTicket`: the server answered 404 Not Found"
    );

    // `iparam.team` is optional and the template has no default for it
    let context = ProxyCallContext {
        port: port.to_string(),
        base_path: "/x".into(),
        item_id: "1".into(),
    };
    let error = helpdesk.proxy_call(&context).send().await.unwrap_err();
    assert!(
        matches!(
            error,
            InvokeError::MissingIparam {
                placeholder: "iparam.team",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn secure_iparams_are_redacted_in_debug() {
    let helpdesk =
        client(StaticTokens::new().with(TokenKey::installation("freshservice"), "tok-secret"));
    let debug = format!("{helpdesk:?}");
    assert!(debug.contains("HelpdeskIparams { .. }"), "{debug}");
    assert!(!debug.contains("acme"), "no installation value: {debug}");
    assert!(!debug.contains("tok-secret"), "{debug}");
}

#[tokio::test]
async fn a_key_the_templates_path_sets_is_not_added_again_at_the_call() {
    let helpdesk = client(StaticTokens::new());
    let request = helpdesk
        .search_tickets(&oauth_generated::helpdesk::SearchTicketsContext {
            query: "status:2".into(),
        })
        .query("query", "injected")
        .query("page", "2")
        .build()
        .await
        .unwrap();
    let pairs: Vec<(String, String)> = request.url().query_pairs().into_owned().collect();
    assert_eq!(
        pairs,
        [
            ("query".to_string(), "\"status:2\"".to_string()),
            ("page".to_string(), "2".to_string())
        ],
        "the template's own `query` wins: {}",
        request.url()
    );
}
