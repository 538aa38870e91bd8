//! Building a request from a template against the same request built by hand the fast way on
//! reqwest (a pre-parsed base URL, `path_segments_mut().push` for each segment,
//! `query_pairs_mut().append_pair`, header names as constants, the token in hand), over a
//! matrix of realistic shapes, side by side in one run:
//!
//! - (a) 2 context values and the token (`getTicket`);
//! - (b) 5 context values: two path values, a `||` default and two more query values, a
//!   context header, and the token (`getConversation`), none needing encoding;
//! - (c) the same with values that need encoding (a space and a `/` in a path value, `&` and a
//!   space in a query value);
//! - (d) an agent integration: the end user's token (`myTicket`);
//! - (e) a `current_host.endpoint_urls` host and a path-prefix value (`hostTicket`);
//! - (f) (a) from a client made for the call (`Bench::new(runtime, iparams)`), as a server
//!   serving many installations makes them: the first call of each client, whose URL start
//!   the runtime has parsed for an earlier client. Both sides are given the installation's
//!   values at each call (a copy, as a server reads them per request), and the hand-built
//!   side finds the installation's parsed base URL by its host in a locked `HashMap`, as a
//!   server of many installations keeps them parsed;
//! - (g) (a) with the token in hand, as the hand-built side has it: an installation parameter
//!   in the template's `Authorization` header (`ticketWithToken`), no token looked up; the
//!   client makes that header once, so the building alone is compared with
//!   `INVOKE_HAND_BEARER=kept` (below);
//! - (h) (d) against a hand-built request that looks its user's token up, as an app keeping its
//!   users' tokens itself would: a `HashMap` of 1000 users' tokens behind an `RwLock` (its
//!   `Authorization` value made from the token found, with or without `INVOKE_HAND_BEARER`);
//! - (i) (a) without OAuth, as the corpus's Freshdesk apps send their API key: `Authorization:
//!   Basic <%= encode(iparam.api_key + ':X') %>` and a `Content-Type` (`ticketWithApiKey`);
//!   the client makes that header once (compare with `INVOKE_HAND_BEARER=kept` too);
//! - (j) a `POST` with a JSON body given at the call (`createTicket(..).json(&ticket)`), the
//!   template setting its `Content-Type`, as the corpus's ticket-creating templates do;
//! - (k) (a) from the installation's client, which the server keeps: found by its host in a
//!   locked `HashMap` of 1000 installations' clients, as (f)'s hand-built side finds its
//!   installation's parsed base URL (the like-for-like of (f)'s hand-built side, which keeps
//!   what it made for each installation).
//!
//! The hand-built side makes its `Authorization` value at each call, as reqwest's `bearer_auth`
//! and `basic_auth` do (`INVOKE_HAND_BEARER=kept` makes it once and clones it, as the runtime's
//! token cache and a client's fixed headers do: the like-for-like comparison of the building
//! alone, on (g) and (i) above all, where the client makes its header once).
//!
//! The template's token comes from a `MemoryStore` through the refreshing manager. Rounds
//! alternate which side goes first; figures are medians over rounds (ns per request, and the
//! ratio template ÷ by hand of each round).
//!
//! Run: `cargo bench -p oauth-runtime --bench invoke` (`INVOKE_ROUNDS=N` sets the rounds,
//! `INVOKE_ROWS=b,c` the rows; `INVOKE_PROFILE=template` or `hand` runs one side alone, for a
//! profiler).

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{LazyLock, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use oauth_runtime::UserId;

mod common;
use common::{
    API_KEY, Bench, GetConversationContext, GetTicketContext, HostTicketContext, MyTicketContext,
    TOKEN, TicketWithApiKeyContext, TicketWithTokenContext, USER, quick, server,
};

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const ROUNDS: usize = 31;
const PER_ROUND: usize = 20_000;

/// One row: the template's request and the one built by hand, which must be equal.
struct Row {
    name: &'static str,
    template: Box<dyn Fn(&Bench) -> oauth_runtime::RequestBuilder>,
    by_hand: Box<dyn Fn(&url::Url) -> reqwest::Request>,
}

/// The `Authorization` value of `token`, made at each call as reqwest's `bearer_auth` makes it.
fn bearer_of(token: &str) -> HeaderValue {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    value.set_sensitive(true);
    value
}

/// An `Authorization` value of the hand-built side: made by `make` at each call, or with
/// `INVOKE_HAND_BEARER=kept`, made once (`kept`) and cloned (a count taken on shared bytes).
fn authorization(kept: &LazyLock<HeaderValue>, make: fn() -> HeaderValue) -> HeaderValue {
    static KEEPS: LazyLock<bool> =
        LazyLock::new(|| std::env::var("INVOKE_HAND_BEARER").is_ok_and(|v| v == "kept"));
    if *KEEPS { (**kept).clone() } else { make() }
}

/// The token's `Authorization` value.
fn bearer() -> HeaderValue {
    static KEPT: LazyLock<HeaderValue> = LazyLock::new(|| bearer_of(TOKEN));
    authorization(&KEPT, || bearer_of(TOKEN))
}

/// The API key's `Authorization` value, made as reqwest's `basic_auth` makes it.
fn basic() -> HeaderValue {
    fn basic_of(key: &str) -> HeaderValue {
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{key}:X"));
        let mut value = HeaderValue::from_str(&format!("Basic {credentials}")).unwrap();
        value.set_sensitive(true);
        value
    }
    static KEPT: LazyLock<HeaderValue> = LazyLock::new(|| basic_of(API_KEY));
    authorization(&KEPT, || basic_of(API_KEY))
}

/// A request on `url` with the token, as by hand.
fn request(url: url::Url) -> reqwest::Request {
    request_with(url, bearer())
}

/// A request on `url` with `bearer` as its `Authorization` header, as by hand.
fn request_with(url: url::Url, bearer: HeaderValue) -> reqwest::Request {
    let mut request = reqwest::Request::new(reqwest::Method::GET, url);
    *request.timeout_mut() = Some(Duration::from_secs(15));
    request.headers_mut().insert(AUTHORIZATION, bearer);
    request
}

/// The tokens of 1000 users, USER's among them, as an app keeping its users' tokens itself
/// holds them.
fn users_tokens() -> RwLock<HashMap<String, String>> {
    let mut tokens: HashMap<String, String> = (0..1000)
        .map(|n| (format!("u-{}", n + 2), format!("token-of-u-{}", n + 2)))
        .collect();
    tokens.insert(USER.to_string(), TOKEN.to_string());
    RwLock::new(tokens)
}

/// The parsed base URLs of 1000 installations by their hosts, `host`'s among them, as a server
/// of many installations keeps them.
fn installation_bases(host: &str) -> RwLock<HashMap<String, url::Url>> {
    let mut bases: HashMap<String, url::Url> = (0..1000)
        .map(|n| {
            let other = format!("tenant-{n}.example.com");
            let base = url::Url::parse(&format!("http://{other}/")).unwrap();
            (other, base)
        })
        .collect();
    let base = url::Url::parse(&format!("http://{host}/")).unwrap();
    bases.insert(host.to_string(), base);
    RwLock::new(bases)
}

/// The clients of 1000 installations by their hosts, the loopback server's among them, as a
/// server of many installations keeps them.
fn installation_clients(
    runtime: &oauth_runtime::Runtime,
    port: u16,
) -> RwLock<HashMap<String, Bench>> {
    let client = |host: String| {
        let iparams = common::BenchIparams {
            host: host.clone(),
            ..common::iparams(port)
        };
        (host, Bench::new(runtime.clone(), iparams))
    };
    let mut clients: HashMap<String, Bench> = (0..1000)
        .map(|n| client(format!("tenant-{n}.example.com")))
        .collect();
    clients.extend([client(format!("127.0.0.1:{port}"))]);
    RwLock::new(clients)
}

fn conversation(ticket_id: &str, include: &str) -> GetConversationContext {
    GetConversationContext {
        ticket_id: ticket_id.into(),
        conversation_id: "67890".into(),
        include: Some(include.into()),
        page: "2".into(),
        per_page: "30".into(),
        request_id: "req-8f14e45f-ceea".into(),
    }
}

fn conversation_by_hand(base: &url::Url, context: &GetConversationContext) -> reqwest::Request {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments
            .push("api")
            .push("v2")
            .push("tickets")
            .push(&context.ticket_id)
            .push("conversations")
            .push(&context.conversation_id);
    }
    url.query_pairs_mut()
        .append_pair("include", context.include.as_deref().unwrap_or("requester"))
        .append_pair("page", &context.page)
        .append_pair("per_page", &context.per_page);
    let mut request = request(url);
    request.headers_mut().insert(
        X_REQUEST_ID,
        HeaderValue::from_str(&context.request_id).unwrap(),
    );
    request
}

fn rows(runtime: &oauth_runtime::Runtime, port: u16) -> Vec<Row> {
    let ticket = GetTicketContext {
        ticket_id: "12345".into(),
        include: "requester,stats".into(),
    };
    let ticket_url = |base: &url::Url, id: &str, include: &str| {
        let mut url = base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push("api").push("v2").push("tickets").push(id);
        }
        url.query_pairs_mut().append_pair("include", include);
        url
    };
    let ticket_by_hand =
        move |base: &url::Url, id: &str, include: &str| request(ticket_url(base, id, include));
    let plain = conversation("12345", "requester,stats");
    let encoded = conversation("12 345/A", "requester&stats x");
    let mine = MyTicketContext {
        ticket_id: "12345".into(),
        include: "requester,stats".into(),
    };
    let user = UserId::new(USER);
    let (also_mine, also_user) = (mine.clone(), user.clone());
    let tokens = users_tokens();
    let hosted = HostTicketContext {
        base_path: "/helpdesk/v2".into(),
        ticket_id: "12345".into(),
        include: "requester,stats".into(),
    };
    let clients = installation_clients(runtime, port);
    let (runtime, iparams) = (runtime.clone(), common::iparams(port));
    let (hand_iparams, bases) = (iparams.clone(), installation_bases(&iparams.host));
    let (host, hand_host, kept_bases) = (
        iparams.host.clone(),
        iparams.host.clone(),
        installation_bases(&iparams.host),
    );
    let kept_ticket = ticket.clone();
    let per_call = ticket.clone();
    let in_hand = TicketWithTokenContext {
        ticket_id: "12345".into(),
        include: "requester,stats".into(),
    };
    let new_ticket = serde_json::json!({
        "subject": "Printer on fire",
        "description": "The printer on the third floor is on fire again.",
        "email": "requester@example.com",
        "priority": 2,
        "status": 2
    });
    let with_key = TicketWithApiKeyContext {
        ticket_id: "12345".into(),
        include: "requester,stats".into(),
    };
    vec![
        Row {
            name: "(a) 2 values + token",
            template: Box::new({
                let ticket = ticket.clone();
                move |bench| bench.get_ticket(&ticket)
            }),
            by_hand: Box::new(move |base| ticket_by_hand(base, "12345", "requester,stats")),
        },
        Row {
            name: "(b) 5 values, header, default",
            template: Box::new({
                let plain = plain.clone();
                move |bench| bench.get_conversation(&plain)
            }),
            by_hand: Box::new(move |base| conversation_by_hand(base, &plain)),
        },
        Row {
            name: "(c) (b) with encoding",
            template: Box::new({
                let encoded = encoded.clone();
                move |bench| bench.get_conversation(&encoded)
            }),
            by_hand: Box::new(move |base| conversation_by_hand(base, &encoded)),
        },
        Row {
            name: "(d) agent (user token)",
            template: Box::new(move |bench| bench.my_ticket(&mine, &user)),
            by_hand: Box::new(move |base| ticket_by_hand(base, "12345", "requester,stats")),
        },
        Row {
            name: "(e) current_host + prefix",
            template: Box::new(move |bench| bench.host_ticket(&hosted)),
            by_hand: Box::new(|base| {
                let mut url = base.clone();
                if let Ok(mut segments) = url.path_segments_mut() {
                    segments
                        .push("helpdesk")
                        .push("v2")
                        .push("tickets")
                        .push("12345");
                }
                url.query_pairs_mut()
                    .append_pair("include", "requester,stats");
                request(url)
            }),
        },
        Row {
            name: "(f) (a), a client per call",
            template: Box::new(move |_| {
                Bench::new(runtime.clone(), iparams.clone()).get_ticket(&per_call)
            }),
            by_hand: Box::new(move |_| {
                let installation = hand_iparams.clone();
                // The base copied once, under the map's lock, and the path pushed on the copy.
                let url = bases.read().ok().and_then(|bases| {
                    let base = bases.get(black_box(&installation.host))?;
                    Some(ticket_url(base, "12345", "requester,stats"))
                });
                request(url.unwrap_or_else(|| url::Url::parse("http://unknown/").unwrap()))
            }),
        },
        Row {
            name: "(g) (a), the token in hand",
            template: Box::new(move |bench| bench.ticket_with_token(&in_hand)),
            by_hand: Box::new(move |base| ticket_by_hand(base, "12345", "requester,stats")),
        },
        Row {
            name: "(h) (d), hand looks token up",
            template: Box::new(move |bench| bench.my_ticket(&also_mine, &also_user)),
            by_hand: Box::new(move |base| {
                let bearer = tokens
                    .read()
                    .ok()
                    .and_then(|tokens| tokens.get(black_box(USER)).map(|token| bearer_of(token)));
                let url = ticket_url(base, "12345", "requester,stats");
                request_with(url, bearer.unwrap_or_else(|| HeaderValue::from_static("")))
            }),
        },
        Row {
            name: "(i) (a), an API key, no OAuth",
            template: Box::new(move |bench| bench.ticket_with_api_key(&with_key)),
            by_hand: Box::new(move |base| {
                let url = ticket_url(base, "12345", "requester,stats");
                let mut request = request_with(url, basic());
                request
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                request
            }),
        },
        Row {
            name: "(j) POST, a JSON body",
            template: Box::new({
                let ticket = new_ticket.clone();
                move |bench| bench.create_ticket().json(&ticket)
            }),
            by_hand: Box::new(move |base| {
                let mut url = base.clone();
                if let Ok(mut segments) = url.path_segments_mut() {
                    segments.push("api").push("v2").push("tickets");
                }
                let mut request = request(url);
                *request.method_mut() = reqwest::Method::POST;
                request
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                let body = serde_json::to_vec(&new_ticket).unwrap();
                *request.body_mut() = Some(body.into());
                request
            }),
        },
        Row {
            name: "(k) (a), client found by host",
            template: Box::new(move |_| {
                let clients = clients.read().unwrap();
                let client = clients.get(black_box(&host)).unwrap();
                client.get_ticket(&kept_ticket)
            }),
            by_hand: Box::new(move |_| {
                let bases = kept_bases.read().unwrap();
                let base = bases.get(black_box(&hand_host)).unwrap();
                request(ticket_url(base, "12345", "requester,stats"))
            }),
        },
    ]
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let port = runtime.block_on(server());
    let handle = runtime.block_on(common::runtime(port, Duration::from_secs(3600)));
    let bench = Bench::new(handle.clone(), common::iparams(port));
    let base = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let (rounds, per_round) = if quick() {
        (1, 100)
    } else {
        let rounds = std::env::var("INVOKE_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(ROUNDS);
        (rounds, PER_ROUND)
    };
    println!(
        "{:<30} | {:>10} {:>10} | {:>6}",
        "building the request", "template", "by hand", "ratio"
    );
    // `INVOKE_ROWS=b,c` measures those rows only (their letters).
    let only = std::env::var("INVOKE_ROWS").ok();
    for row in rows(&handle, port) {
        if let Some(only) = &only
            && !only
                .split(',')
                .any(|l| row.name.starts_with(&format!("({l})")))
        {
            continue;
        }
        // Both sides must build the same request.
        let ours = runtime.block_on((row.template)(&bench).build()).unwrap();
        let theirs = (row.by_hand)(&base);
        assert_eq!(ours.url(), theirs.url(), "{}", row.name);
        assert_eq!(ours.headers(), theirs.headers(), "{}", row.name);
        assert_eq!(ours.method(), theirs.method(), "{}", row.name);
        // Sensitive headers alike too (equality of values ignores it).
        let sensitive = |request: &reqwest::Request| {
            let mut names: Vec<String> = (request.headers().iter())
                .filter(|(_, value)| value.is_sensitive())
                .map(|(name, _)| name.to_string())
                .collect();
            names.sort();
            names
        };
        assert_eq!(sensitive(&ours), sensitive(&theirs), "{}", row.name);
        let body = |request: &reqwest::Request| {
            request
                .body()
                .and_then(|b| b.as_bytes())
                .map(<[u8]>::to_vec)
        };
        assert_eq!(body(&ours), body(&theirs), "{}", row.name);

        let template = || {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..per_round {
                    black_box((row.template)(black_box(&bench)).build().await.unwrap());
                }
                started.elapsed().as_nanos() as f64 / per_round as f64
            })
        };
        let by_hand = || {
            let started = Instant::now();
            for _ in 0..per_round {
                black_box((row.by_hand)(black_box(&base)));
            }
            started.elapsed().as_nanos() as f64 / per_round as f64
        };
        // For a profiler: `INVOKE_PROFILE=template` (or `hand`) runs that side alone.
        if let Ok(side) = std::env::var("INVOKE_PROFILE") {
            for _ in 0..rounds {
                black_box(if side == "hand" {
                    by_hand()
                } else {
                    template()
                });
            }
            continue;
        }
        let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let (a, b) = if round % 2 == 0 {
                let a = template();
                (a, by_hand())
            } else {
                let b = by_hand();
                (template(), b)
            };
            ours.push(a);
            theirs.push(b);
            ratios.push(a / b);
        }
        println!(
            "{:<30} | {:>8.0}ns {:>8.0}ns | {:>5.3}x",
            row.name,
            median(ours),
            median(theirs),
            median(ratios)
        );
    }
}
