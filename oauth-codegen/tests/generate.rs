//! Snapshots of the generated code, formatted, for our fixtures and for real corpus apps. The
//! `oauth-generated` crate compiles these very snapshots under `#![deny(warnings)]` and clippy.

use std::path::Path;

mod common;
use common::corpus_dir;
use oauth_codegen::{AppInput, ClientSpec, InputFile, check, format_generated, generate};
use quote::quote;

fn spec(name: &str) -> ClientSpec {
    ClientSpec {
        name: name.to_string(),
        vis: quote!(pub),
        attrs: quote!(),
        runtime: quote!(::oauth_runtime),
        requests_label: "config/requests.json".to_string(),
        tracked_files: Vec::new(),
    }
}

fn generated(input: AppInput, name: &str) -> String {
    let app = check(input);
    let errors: Vec<_> = app.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{name} has errors: {errors:#?}");
    format_generated(
        generate(&app.config, &spec(name)),
        &format!("{name} from config/requests.json"),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn fixture(name: &str) -> AppInput {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    AppInput::read_dir(&dir).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn fixture_helpdesk() {
    insta::assert_snapshot!("helpdesk", generated(fixture("helpdesk"), "Helpdesk"));
}

#[test]
fn fixture_legacy() {
    insta::assert_snapshot!("legacy", generated(fixture("legacy"), "GitHub"));
}

#[test]
fn fixture_minimal() {
    insta::assert_snapshot!("minimal", generated(fixture("minimal"), "Minimal"));
}

#[test]
fn fixture_mutual_tls() {
    insta::assert_snapshot!("mutual_tls", generated(fixture("mutual_tls"), "Payments"));
}

/// A corpus app: its requests.json and, if it has one, its oauth_config.json.
fn corpus_app(corpus: &Path, requests: &str, oauth: Option<&str>) -> AppInput {
    let read = |file: &str, name: &str| {
        InputFile::read(&corpus.join(file), name)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("{file} is missing"))
    };
    AppInput {
        requests: Some(read(requests, "config/requests.json")),
        oauth: oauth.map(|o| read(o, "config/oauth_config.json")),
        ..AppInput::default()
    }
}

/// Five real apps: many templates, multi-OAuth with `options.oauth`, the legacy `isOAuth` with
/// an agent token, `current_host` and `encode`, and numeric and boolean query values.
const CORPUS_APPS: &[(&str, &str, Option<&str>, &str)] = &[
    (
        "corpus_trello",
        "Akashramsankar__TrelloConnector__config_requests.json",
        None,
        "Trello",
    ),
    (
        "corpus_oauth_samples",
        "freshworks-developers__oauth-samples__config_requests.json",
        Some("freshworks-developers__oauth-samples__config_oauth_config.json"),
        "OAuthSamples",
    ),
    (
        "corpus_freshsales",
        "Madhu9995__Freshsales__config_requests.json",
        Some("Madhu9995__Freshsales__config_oauth_config.json"),
        "Freshsales",
    ),
    (
        "corpus_auto_resume",
        "freshworks-developers__auto-resume__config_requests.json",
        None,
        "AutoResume",
    ),
    (
        "corpus_support_shield",
        "freshworks-developers__support-shield-lens__config_requests.json",
        None,
        "SupportShield",
    ),
];

#[test]
fn corpus_apps() {
    let Some(corpus) = corpus_dir() else { return };
    for (snapshot, requests, oauth, name) in CORPUS_APPS {
        insta::assert_snapshot!(
            *snapshot,
            generated(corpus_app(&corpus, requests, *oauth), name)
        );
    }
}

#[test]
fn config_text_in_doc_comments_is_neither_markup_nor_a_broken_code_span() {
    let requests = r#"{ "get`Ticket": { "schema": { "method": "GET", "host": "x.example.com",
      "path": "/a`b/<img src=x onerror=alert(1)>" } } }"#;
    let input = AppInput {
        requests: Some(InputFile::in_memory("config/requests.json", requests)),
        ..AppInput::default()
    };
    let app = check(input);
    let code = generate(&app.config, &spec("Hostile")).to_string();
    assert!(
        code.contains(
            r#"" Sends ``GET https://x.example.com/a`b/<img src=x onerror=alert(1)>``.""#
        ),
        "{code}"
    );
}

#[test]
fn without_iparams_json_a_value_sent_only_in_credential_headers_is_secret_and_debug_shows_none() {
    let requests = r#"{ "getTicket": { "schema": { "method": "GET", "host": "<%= iparam.domain %>.example.com",
      "path": "/tickets", "headers": {
        "Authorization": "Basic <%= encode(iparam.api_key + ':X') %>",
        "X-Region": "<%= iparam.region %>" } } } }"#;
    let input = AppInput {
        requests: Some(InputFile::in_memory("config/requests.json", requests)),
        ..AppInput::default()
    };
    let code = generated(input, "Helpdesk");
    assert!(
        code.contains("pub api_key: ::oauth_runtime::SecretString,"),
        "{code}"
    );
    assert!(
        code.contains("pub region: ::std::string::String,"),
        "{code}"
    );
    assert!(
        code.contains("pub domain: ::std::string::String,"),
        "{code}"
    );
    assert!(
        code.contains(
            "f.debug_struct(::core::stringify!(HelpdeskIparams)).finish_non_exhaustive()"
        ),
        "{code}"
    );
    assert!(!code.contains(
        "#[derive(::core::clone::Clone, ::core::fmt::Debug)]\npub struct HelpdeskIparams"
    ));
}

/// An app of `requests` whose installation has an optional text value `team`.
fn with_optional_team(requests: &str) -> AppInput {
    let iparams = r#"{ "team": { "display_name": "Team", "type": "text", "required": false } }"#;
    AppInput {
        requests: Some(InputFile::in_memory("config/requests.json", requests)),
        iparams: Some(InputFile::in_memory("config/iparams.json", iparams)),
        ..AppInput::default()
    }
}

/// Path parts in a row after the fixed start are appended by one call; an optional
/// installation value in the path is required after the parts before it, as their own calls
/// would have it, so that the request's first error stays the first part's.
#[test]
fn path_parts_in_a_row_are_one_call_and_a_required_value_comes_after_the_parts_before_it() {
    let requests = r#"{ "getTeam": { "schema": { "method": "GET", "host": "api.example.com",
      "path": "/orgs/<%= context.org %>/teams/<%= iparam.team %>/members" } } }"#;
    let code = generated(with_optional_team(requests), "Teams");
    let org = code.find("__p::PathPart::Value(\"context.org\"");
    let required = code.find("request.require(\"iparam.team\"");
    let team = code.find("__p::PathPart::Value(\"iparam.team\"");
    assert!(
        org.is_some() && required.is_some() && team.is_some(),
        "{code}"
    );
    assert!(org < required && required < team, "{code}");
    // The parts before the required value are one call, and those after it another.
    assert_eq!(
        code.matches("request\n            .path(").count(),
        2,
        "{code}"
    );
}

/// A template's query pairs in a row are one call; an optional installation value among
/// them is required after the pairs before it, which are one call, and the pairs after it
/// another: the request's first error stays the first pair's.
#[test]
fn query_pairs_in_a_row_are_one_call_and_a_required_value_comes_after_the_pairs_before_it() {
    let requests = r#"{ "search": { "schema": { "method": "GET", "host": "api.example.com",
      "path": "/search", "query": { "q": "<%= context.q %>", "page": "1",
      "team": "<%= iparam.team %>", "per_page": "30", "sort": "<%= context.sort %>" } } } }"#;
    let code = generated(with_optional_team(requests), "Search");
    let q = code.find("(\"q\", &context.q)");
    let required = code.find("request.require(\"iparam.team\"");
    let team = code.find("(\"team\", __value");
    let sort = code.find("(\"sort\", &context.sort)");
    assert!(
        q.is_some() && required.is_some() && team.is_some() && sort.is_some(),
        "{code}"
    );
    assert!(q < required && required < team && team < sort, "{code}");
    assert_eq!(code.matches(".query_pairs(").count(), 2, "{code}");
    assert!(!code.contains("request.query("), "{code}");
}
