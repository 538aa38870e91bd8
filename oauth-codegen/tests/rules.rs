//! One fixture per validation rule: the exact message, the exact place, and the help.

use oauth_codegen::{AppInput, CheckedApp, Diagnostic, InputFile, check};

#[derive(Default, Clone, Copy)]
struct App<'a> {
    requests: Option<&'a str>,
    oauth: Option<&'a str>,
    iparams: Option<&'a str>,
    manifest: Option<&'a str>,
}

const REQUESTS: &str = "config/requests.json";
const OAUTH: &str = "config/oauth_config.json";
const IPARAMS: &str = "config/iparams.json";
const MANIFEST: &str = "manifest.json";

fn requests(text: &str) -> App<'_> {
    App {
        requests: Some(text),
        ..App::default()
    }
}

fn run(app: App<'_>) -> CheckedApp {
    let file = |name: &str, text: Option<&str>| text.map(|t| InputFile::in_memory(name, t));
    check(AppInput {
        requests: file(REQUESTS, app.requests),
        oauth: file(OAUTH, app.oauth),
        iparams: file(IPARAMS, app.iparams),
        manifest: file(MANIFEST, app.manifest),
    })
}

/// `file:line:col` of the first occurrence of `needle` in `text`.
fn at(file: &str, text: &str, needle: &str) -> String {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("fixture has no {needle:?}"));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!("{file}:{line}:{column}")
}

fn describe(app: &CheckedApp) -> Vec<String> {
    app.diagnostics
        .iter()
        .map(|d| {
            let severity = if d.is_error() { "error" } else { "warning" };
            format!(
                "{severity} {} {}",
                d.location(&app.sources).unwrap_or_default(),
                d.message
            )
        })
        .collect()
}

/// Asserts that checking `app` finds exactly one diagnostic, `message` at `needle` in `file`
/// (as an error unless `message` starts with `warning: `), and returns it.
fn expect_one(app: App<'_>, file: &str, needle: &str, message: &str) -> Diagnostic {
    let text = match file {
        REQUESTS => app.requests,
        OAUTH => app.oauth,
        IPARAMS => app.iparams,
        _ => app.manifest,
    }
    .unwrap_or_default();
    let checked = run(app);
    let (severity, message) = match message.strip_prefix("warning: ") {
        Some(m) => ("warning", m),
        None => ("error", message),
    };
    let expected = format!("{severity} {} {message}", at(file, text, needle));
    assert_eq!(describe(&checked), [expected]);
    checked.diagnostics[0].clone()
}

fn help(diagnostic: &Diagnostic) -> &str {
    diagnostic.help.as_deref().unwrap_or("<no help>")
}

const MULTI_OAUTH: &str = r#"{ "integrations": {
  "freshservice": {
    "display_name": "Freshservice",
    "client_id": "<%= oauth_iparams.client_id %>", "client_secret": "",
    "authorize_url": "https://<%= oauth_iparams.domain %>/org/oauth/v2/authorize",
    "token_url": "https://<%= oauth_iparams.domain %>/org/oauth/v2/token",
    "options": { "scope": "freshservice.tickets.create", "customHeaders": { "Authorization": "Basic <%= encode(oauth_iparams.client_id) %>" }, "access_type": "offline" },
    "token_type": "account",
    "oauth_iparams": {
      "domain": { "display_name": "Domain", "type": "text", "required": true },
      "client_id": { "display_name": "Client id", "type": "text", "required": true, "secure": true } } },
  "asana": {
    "display_name": "Asana", "client_id": "a", "client_secret": "",
    "authorize_url": "https://app.asana.com/-/oauth_authorize", "token_url": "https://app.asana.com/-/oauth_token",
    "options": { "scope": ["default", "openid"] }, "token_type": "agent" } } }"#;

const LEGACY_OAUTH: &str = r#"{
  "client_id": "a", "client_secret": "",
  "authorize_url": "https://github.com/login/oauth/authorize",
  "token_url": "https://github.com/login/oauth/access_token",
  "options": { "scope": "repo" }, "token_type": "account" }"#;

#[test]
fn a_complete_app_has_no_findings() {
    let requests = r#"{
  "createTicket": {
    "schema": {
      "method": "POST", "protocol": "https",
      "host": "<%= iparam.domain %>.freshservice.com",
      "path": "/api/v2/tickets/<%= context.ticket_id %>?x=1",
      "headers": { "Authorization": "Bearer <%= access_token %>", "Content-Type": "application/json",
                   "X-Key": "<%= encode(iparam.api_key + ':X') %>" },
      "query": { "page": "<%= context.page || '1' %>", "per_page": 30, "all": true }
    },
    "options": { "oauth": "freshservice", "maxAttempts": 3, "retryDelay": 500 }
  },
  "listWorkspaces": {
    "schema": { "method": "GET", "host": "app.asana.com", "path": "/api/1.0/workspaces",
                "headers": { "Authorization": "Bearer <%= access_token %>" } },
    "options": { "oauth": "asana" }
  },
  "local": { "schema": { "method": "GET", "protocol": "http", "host": "127.0.0.1:8080" } },
  "platform": { "schema": { "method": "GET", "host": "<%= current_host.endpoint_urls.freshdesk %>",
                            "path": "<%= app_settings.base_path %>/x" } }
}"#;
    let iparams = r#"{ "domain": { "display_name": "Domain", "type": "text", "required": true },
  "api_key": { "display_name": "Key", "type": "text", "secure": true } }"#;
    let manifest = r#"{ "platform-version": "3.0", "modules": { "common": { "requests": {
  "createTicket": {}, "listWorkspaces": {}, "local": {}, "platform": {} } } } }"#;
    let app = run(App {
        requests: Some(requests),
        oauth: Some(MULTI_OAUTH),
        iparams: Some(iparams),
        manifest: Some(manifest),
    });
    assert_eq!(describe(&app), Vec::<String>::new());
    assert_eq!(app.config.templates.len(), 4);
    let integrations = &app.config.oauth.as_ref().unwrap().integrations;
    let scope = integrations[1].scope.as_ref().map(|s| s.value.as_str());
    assert_eq!(
        scope,
        Some("default openid"),
        "an array is sent joined with spaces"
    );
    assert_eq!(integrations[0].extra_params[0].0.value, "access_type");
    assert_eq!(
        integrations[0].custom_headers[0].name.value,
        "Authorization"
    );
}

#[test]
fn legacy_oauth_config_with_is_oauth() {
    let r = r#"{ "getRepos": { "schema": { "method": "GET", "host": "api.github.com",
  "headers": { "Authorization": "token <%= access_token %>" } }, "options": { "isOAuth": true } } }"#;
    let app = run(App {
        requests: Some(r),
        oauth: Some(LEGACY_OAUTH),
        ..App::default()
    });
    assert_eq!(describe(&app), Vec::<String>::new());
}

// ---- JSON -------------------------------------------------------------------------------

#[test]
fn invalid_json_is_located_where_the_parser_stopped() {
    let r = "{\n  \"a\": { \"schema\": {} },\n}";
    expect_one(
        requests(r),
        REQUESTS,
        ",\n}",
        "invalid JSON: trailing commas are not allowed",
    );
}

#[test]
fn duplicate_template_names() {
    let r = "{ \"a\": { \"schema\": { \"method\": \"GET\", \"host\": \"x.com\" } },\n  \"a\": { \"schema\": { \"method\": \"GET\", \"host\": \"y.com\" } } }";
    let d = expect_one(
        requests(r),
        REQUESTS,
        "\"a\": { \"schema\": { \"method\": \"GET\", \"host\": \"y",
        "duplicate key `a`",
    );
    assert_eq!(d.related.len(), 1);
}

// ---- requests.json shape ----------------------------------------------------------------

#[test]
fn requests_must_be_an_object() {
    expect_one(
        requests("[1]"),
        REQUESTS,
        "[1]",
        "`requests.json` must be an object, found an array",
    );
}

#[test]
fn template_names_are_letters_digits_underscore_and_dash() {
    let r = r#"{ "get ticket": { "schema": { "method": "GET", "host": "x.com" } } }"#;
    let d = expect_one(
        requests(r),
        REQUESTS,
        "\"get ticket\"",
        "invalid template name `get ticket`",
    );
    assert_eq!(
        help(&d),
        "template names use letters, digits, `_` and `-` only"
    );
}

#[test]
fn unknown_template_key_suggests_the_close_one() {
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com" }, "option": {} } }"#;
    let d = expect_one(
        requests(r),
        REQUESTS,
        "\"option\"",
        "unknown key `option` in template `a`",
    );
    assert_eq!(help(&d), "did you mean `options`?");
}

#[test]
fn missing_schema() {
    let r = r#"{ "a": { "options": {} } }"#;
    expect_one(
        requests(r),
        REQUESTS,
        "\"a\"",
        "missing key `schema` in template `a`",
    );
}

#[test]
fn unknown_schema_key_suggests_or_lists() {
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "header": {} } } }"#;
    let d = expect_one(
        requests(r),
        REQUESTS,
        "\"header\"",
        "unknown key `header` in `schema` of template `a`",
    );
    assert_eq!(help(&d), "did you mean `headers`?");
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "timeout": 5 } } }"#;
    let d = expect_one(
        requests(r),
        REQUESTS,
        "\"timeout\"",
        "unknown key `timeout` in `schema` of template `a`",
    );
    assert_eq!(
        help(&d),
        "the keys allowed here are `method`, `protocol`, `host`, `path`, `headers` and `query`"
    );
}

#[test]
fn missing_method_and_host_are_both_reported() {
    let r = r#"{ "a": { "schema": { "path": "/" } } }"#;
    let app = run(requests(r));
    let at_schema = at(REQUESTS, r, "{ \"path\"");
    assert_eq!(
        describe(&app),
        [
            format!("error {at_schema} missing key `method` in `schema` of template `a`"),
            format!("error {at_schema} missing key `host` in `schema` of template `a`"),
        ]
    );
}

#[test]
fn method_must_be_upper_case_and_known() {
    let r = r#"{ "a": { "schema": { "method": "get", "host": "x.com" } } }"#;
    let d = expect_one(requests(r), REQUESTS, "\"get\"", "unsupported method `get`");
    assert_eq!(help(&d), "methods are written in upper case: `GET`");
    let r = r#"{ "a": { "schema": { "method": "HEAD", "host": "x.com" } } }"#;
    let d = expect_one(
        requests(r),
        REQUESTS,
        "\"HEAD\"",
        "unsupported method `HEAD`",
    );
    assert_eq!(
        help(&d),
        "use one of `GET`, `POST`, `PUT`, `PATCH` or `DELETE`"
    );
}

#[test]
fn protocol_is_http_or_https() {
    let r = r#"{ "a": { "schema": { "method": "GET", "protocol": "HTTPS", "host": "x.com" } } }"#;
    let d = expect_one(
        requests(r),
        REQUESTS,
        "\"HTTPS\"",
        "unsupported protocol `HTTPS`",
    );
    assert_eq!(help(&d), "write `https` (lower case, no `://`)");
}

#[test]
fn host_rules() {
    let cases = [
        (
            "https://x.com",
            "`host` must not include a scheme",
            "remove `https://`; set `\"protocol\": \"https\"` if it is not https",
        ),
        (
            "x.com/api",
            "`host` must not contain `/`",
            "the host is only the server's name (and `:port`): move the rest to `path`",
        ),
        (
            "user@x.com",
            "`host` must not contain `@`",
            "credentials cannot be part of the host: send them in a header",
        ),
        (
            "x .com",
            "`host` must not contain whitespace",
            "remove the whitespace",
        ),
        (
            "10.0.0.1",
            "IP address `10.0.0.1` as `host`",
            "use the server's host name (certificates name hosts, not addresses); IP literals are allowed only for loopback with `\"protocol\": \"http\"`",
        ),
        (
            "127.0.0.1",
            "IP address `127.0.0.1` as `host`",
            "use the server's host name (certificates name hosts, not addresses); IP literals are allowed only for loopback with `\"protocol\": \"http\"`",
        ),
        (
            "3232235777",
            "`3232235777` as `host` is an IP address in another spelling",
            "a host name whose last label is a number is read as an IPv4 address; use the server's host name",
        ),
        (
            "0xc0.0xa8.1.1",
            "`0xc0.0xa8.1.1` as `host` is an IP address in another spelling",
            "a host name whose last label is a number is read as an IPv4 address; use the server's host name",
        ),
        (
            "169.254.169.254.",
            "`169.254.169.254.` as `host` is an IP address in another spelling",
            "a host name whose last label is a number is read as an IPv4 address; use the server's host name",
        ),
        (
            "x.com:99999",
            "invalid port `99999` in `host`",
            "a port is a number from 1 to 65535",
        ),
        (
            "",
            "`host` is empty",
            "write a host name such as `api.example.com`",
        ),
        (
            "<%= iparam.domain %>/api",
            "`host` must not contain `/`",
            "the host is only the server's name (and `:port`): move the rest to `path`",
        ),
    ];
    for (host, message, expected_help) in cases {
        let r = format!(r#"{{ "a": {{ "schema": {{ "method": "GET", "host": "{host}" }} }} }}"#);
        let needle = format!("{host}\" }}");
        let d = expect_one(requests(&r), REQUESTS, &needle, message);
        assert_eq!(help(&d), expected_help, "{host}");
    }
}

#[test]
fn plain_http_to_a_remote_host_is_a_warning_and_loopback_is_fine() {
    let r =
        r#"{ "a": { "schema": { "method": "GET", "protocol": "http", "host": "example.com" } } }"#;
    let d = expect_one(
        requests(r),
        REQUESTS,
        "example.com",
        "warning: plain `http` to `example.com`",
    );
    assert!(help(&d).contains("use `https`"));
    for host in ["localhost:10001", "127.0.0.1", "[::1]:8080"] {
        let r = format!(
            r#"{{ "a": {{ "schema": {{ "method": "GET", "protocol": "http", "host": "{host}" }} }} }}"#
        );
        assert_eq!(describe(&run(requests(&r))), Vec::<String>::new(), "{host}");
    }
}

#[test]
fn path_rules() {
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "path": "api/v2" } } }"#;
    let d = expect_one(
        requests(r),
        REQUESTS,
        "api/v2",
        "`path` must start with `/`",
    );
    assert_eq!(help(&d), "write `/api/v2`");
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "path": "/a#b" } } }"#;
    expect_one(requests(r), REQUESTS, "/a#b", "`path` contains `#`");
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "path": "/v2/ <%= context.id %> /m" } } }"#;
    expect_one(
        requests(r),
        REQUESTS,
        "/v2/ ",
        "warning: `path` contains a space",
    );
    // a space in the query part of a path is encoded, as real apps expect (Freshdesk search)
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "path": "/s?query=\"a:<%= context.p %> OR b\"" } } }"#;
    assert_eq!(describe(&run(requests(r))), Vec::<String>::new());
    // a path may start with a placeholder that holds a path prefix
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "path": "<%= context.base %>/x" } } }"#;
    assert_eq!(describe(&run(requests(r))), Vec::<String>::new());
}

#[test]
fn body_in_schema_is_explained() {
    let r = r#"{ "a": { "schema": { "method": "POST", "host": "x.com", "body": "{}" } } }"#;
    let d = expect_one(
        requests(r),
        REQUESTS,
        "\"body\"",
        "`body` is not allowed in `schema` of template `a`",
    );
    assert!(help(&d).contains("given when the template is invoked"));
}

#[test]
fn header_rules() {
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "headers": { "X Key": "v" } } } }"#;
    expect_one(
        requests(r),
        REQUESTS,
        "\"X Key\"",
        "invalid header name `X Key`",
    );
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "headers": { "Accept": "a", "accept": "b" } } } }"#;
    let d = expect_one(
        requests(r),
        REQUESTS,
        "\"accept\"",
        "header `accept` is set twice",
    );
    assert_eq!(
        help(&d),
        "header names are case-insensitive: keep one of them"
    );
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "headers": { "X": "a\r\nEvil: 1" } } } }"#;
    expect_one(
        requests(r),
        REQUESTS,
        "a\\r",
        "header `X` contains a line break",
    );
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "headers": { "X": "a\u0000b", "Y": "a\tb" } } } }"#;
    expect_one(
        requests(r),
        REQUESTS,
        "a\\u0000",
        "header `X` contains the control character '\\0'",
    );
    // In a placeholder's default or literal too; inside `encode(…)` it is sent as Base64.
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "headers": { "X": "<%= context.a || 'b\u0001' %>", "Y": "<%= encode(context.a + '\u0001') %>" } } } }"#;
    expect_one(
        requests(r),
        REQUESTS,
        "<%= context.a || ",
        "header `X` contains the control character '\\u{1}'",
    );
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "headers": { "X": "<%= context.a + '\u0002' %>" } } } }"#;
    expect_one(
        requests(r),
        REQUESTS,
        "<%= context.a + ",
        "header `X` contains the control character '\\u{2}'",
    );
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "headers": { "X": 1 } } } }"#;
    expect_one(
        requests(r),
        REQUESTS,
        "1 }",
        "header `X` must be a string, found a number",
    );
}

#[test]
fn query_values_are_strings_numbers_or_booleans() {
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "query": { "with[]": ["a", "b"] } } } }"#;
    let d = expect_one(
        requests(r),
        REQUESTS,
        "[\"a\"",
        "query parameter `with[]` is an array; arrays are not supported in `query`",
    );
    assert!(help(&d).contains(".query(key, value)"));
    let r =
        r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "query": { "q": null } } } }"#;
    expect_one(
        requests(r),
        REQUESTS,
        "null",
        "query parameter `q` must be a string, a number or a boolean, found null",
    );
}

#[test]
fn option_rules() {
    let base = |options: &str| {
        format!(
            r#"{{ "a": {{ "schema": {{ "method": "GET", "host": "x.com" }}, "options": {options} }} }}"#
        )
    };
    let r = base(r#"{ "maxAttempts": 6 }"#);
    expect_one(
        requests(&r),
        REQUESTS,
        "6 }",
        "`maxAttempts` must be from 1 to 5, found 6",
    );
    let r = base(r#"{ "maxAttempts": 0 }"#);
    expect_one(
        requests(&r),
        REQUESTS,
        "0 }",
        "`maxAttempts` must be from 1 to 5, found 0",
    );
    let r = base(r#"{ "maxAttempts": 2.5 }"#);
    expect_one(
        requests(&r),
        REQUESTS,
        "2.5",
        "`maxAttempts` must be an integer from 1 to 5, found `2.5`",
    );
    let r = base(r#"{ "retryDelay": 2000 }"#);
    expect_one(
        requests(&r),
        REQUESTS,
        "2000",
        "`retryDelay` must be from 0 to 1500, found 2000",
    );
    let r = base(r#"{ "retryDelay": "500" }"#);
    expect_one(
        requests(&r),
        REQUESTS,
        "\"500\"",
        "`retryDelay` must be an integer from 0 to 1500, found a string",
    );
    let r = base(r#"{ "isOauth": true }"#);
    let d = expect_one(
        requests(&r),
        REQUESTS,
        "\"isOauth\"",
        "unknown key `isOauth` in `options` of template `a`",
    );
    assert_eq!(help(&d), "did you mean `isOAuth`?");
}

// ---- options.security (mutual TLS) ------------------------------------------------------

fn with_security(security: &str, protocol: &str) -> String {
    format!(
        r#"{{ "a": {{ "schema": {{ "method": "GET", {protocol}"host": "api.example.com:<%= iparam.port %>" }}, "options": {{ "security": {security} }} }} }}"#
    )
}

const SECURE_IPARAMS: &str = r#"{
  "port": { "display_name": "Port", "type": "text", "required": true },
  "client_cert": { "display_name": "Certificate", "type": "paragraph", "required": true },
  "client_key": { "display_name": "Key", "type": "paragraph", "required": true, "secure": true },
  "plain_key": { "display_name": "Key", "type": "paragraph", "required": true },
  "client_ca": { "display_name": "CA", "type": "paragraph", "required": false } }"#;

fn with_iparams<'a>(requests: &'a str, iparams: &'a str) -> App<'a> {
    App {
        requests: Some(requests),
        iparams: Some(iparams),
        ..App::default()
    }
}

#[test]
fn security_names_installation_values() {
    let ok = with_security(
        r#"{ "cert": "<%= iparam.client_cert %>", "key": "<%= iparam.client_key %>", "ca": "<%= iparam.client_ca %>" }"#,
        "",
    );
    assert_eq!(
        describe(&run(with_iparams(&ok, SECURE_IPARAMS))),
        Vec::<String>::new()
    );
    let platform = with_security(
        r#"{ "cert": "<%= app_settings.visa.cert %>", "key": "<%= app_settings.visa.key %>" }"#,
        "",
    );
    assert_eq!(describe(&run(requests(&platform))), Vec::<String>::new());

    let r = with_security(
        r#"{ "cert": "-----BEGIN CERTIFICATE-----", "key": "<%= iparam.client_key %>" }"#,
        "",
    );
    let d = expect_one(
        with_iparams(&r, SECURE_IPARAMS),
        REQUESTS,
        "-----BEGIN",
        "`security.cert` must be one installation value",
    );
    assert!(
        help(&d).contains("never written into requests.json"),
        "{}",
        help(&d)
    );
    let r = with_security(
        r#"{ "cert": "<%= iparam.client_cert %>", "key": "<%= context.key %>" }"#,
        "",
    );
    let d = expect_one(
        with_iparams(&r, SECURE_IPARAMS),
        REQUESTS,
        "context.key",
        "`security.key` cannot be given at each call (`context.key`)",
    );
    assert!(help(&d).contains("keep it in an iparam"), "{}", help(&d));
    let r = with_security(
        r#"{ "cert": "<%= iparam.client_cert || 'x' %>", "key": "<%= iparam.client_key %>" }"#,
        "",
    );
    expect_one(
        with_iparams(&r, SECURE_IPARAMS),
        REQUESTS,
        "<%= iparam.client_cert ||",
        "`security.cert` must name one value, without `||` or `encode(…)`",
    );
    let r = with_security(
        r#"{ "cert": "<%= iparam.client_cert %>", "key": "<%= iparam.client_kee %>" }"#,
        "",
    );
    let d = expect_one(
        with_iparams(&r, SECURE_IPARAMS),
        REQUESTS,
        "iparam.client_kee",
        "iparam `client_kee` is not defined in `iparams.json`",
    );
    assert_eq!(help(&d), "did you mean `iparam.client_key`?");
    let r = with_security(
        r#"{ "cert": "<%= iparam.client_cert %>", "key": "<%= iparam.plain_key %>" }"#,
        "",
    );
    expect_one(
        with_iparams(&r, SECURE_IPARAMS),
        REQUESTS,
        "iparam.plain_key",
        "warning: the private key is in iparam `plain_key`, which is not secure",
    );
}

#[test]
fn security_needs_cert_and_key_over_https() {
    let r = with_security(r#"{ "cert": "<%= iparam.client_cert %>" }"#, "");
    expect_one(
        with_iparams(&r, SECURE_IPARAMS),
        REQUESTS,
        "\"security\"",
        "missing key `key` in `options.security` of template `a`",
    );
    let r = with_security(
        r#"{ "cert": "<%= iparam.client_cert %>", "key": "<%= iparam.client_key %>" }"#,
        r#""protocol": "http", "#,
    );
    let d = expect_one(
        with_iparams(&r, SECURE_IPARAMS),
        REQUESTS,
        "\"security\"",
        "a client certificate (`options.security`) needs https",
    );
    assert!(help(&d).contains("\"protocol\": \"http\""), "{}", help(&d));
    let r = with_security(
        r#"{ "cert": "<%= iparam.client_cert %>", "key": "<%= iparam.client_key %>", "certificate": "x" }"#,
        "",
    );
    expect_one(
        with_iparams(&r, SECURE_IPARAMS),
        REQUESTS,
        "\"certificate\"",
        "unknown key `certificate` in `options.security` of template `a`",
    );
    let r = with_security(r#""<%= iparam.client_cert %>""#, "");
    expect_one(
        with_iparams(&r, SECURE_IPARAMS),
        REQUESTS,
        "\"<%= iparam.client_cert %>\" }",
        "`options.security` of template `a` must be an object, found a string",
    );
}

#[test]
fn security_pfx_and_passphrase_say_how_to_convert() {
    let r = with_security(r#"{ "pfx": "<%= iparam.client_cert %>" }"#, "");
    let d = expect_one(
        with_iparams(&r, SECURE_IPARAMS),
        REQUESTS,
        "\"pfx\"",
        "a PKCS #12 identity (`pfx`) cannot be used: client certificates are read as PEM",
    );
    assert!(
        help(&d).contains("openssl pkcs12 -in identity.pfx"),
        "{}",
        help(&d)
    );
    let r = with_security(
        r#"{ "cert": "<%= iparam.client_cert %>", "key": "<%= iparam.client_key %>", "passphrase": "<%= iparam.port %>" }"#,
        "",
    );
    let d = expect_one(
        with_iparams(&r, SECURE_IPARAMS),
        REQUESTS,
        "\"passphrase\"",
        "an encrypted private key (`passphrase`) cannot be used: keys are read unencrypted",
    );
    assert!(help(&d).contains("openssl pkey"), "{}", help(&d));
}

// ---- OAuth references -------------------------------------------------------------------

fn with_oauth<'a>(requests: &'a str, oauth: &'a str) -> App<'a> {
    App {
        requests: Some(requests),
        oauth: Some(oauth),
        ..App::default()
    }
}

const BEARER: &str = r#""headers": { "Authorization": "Bearer <%= access_token %>" }"#;

#[test]
fn oauth_names_a_defined_integration() {
    let r = format!(
        r#"{{ "a": {{ "schema": {{ "method": "GET", "host": "x.com", {BEARER} }}, "options": {{ "oauth": "freshservise" }} }} }}"#
    );
    let d = expect_one(
        with_oauth(&r, MULTI_OAUTH),
        REQUESTS,
        "\"freshservise\"",
        "unknown integration `freshservise`",
    );
    assert_eq!(help(&d), "did you mean `freshservice`?");
    let r = format!(
        r#"{{ "a": {{ "schema": {{ "method": "GET", "host": "x.com", {BEARER} }}, "options": {{ "oauth": "zoom" }} }} }}"#
    );
    let d = expect_one(
        with_oauth(&r, MULTI_OAUTH),
        REQUESTS,
        "\"zoom\"",
        "unknown integration `zoom`",
    );
    assert_eq!(help(&d), "the integrations are `freshservice`, `asana`");
}

#[test]
fn oauth_without_an_oauth_config() {
    let r = format!(
        r#"{{ "a": {{ "schema": {{ "method": "GET", "host": "x.com", {BEARER} }}, "options": {{ "oauth": "github" }} }} }}"#
    );
    expect_one(
        requests(&r),
        REQUESTS,
        "\"github\"",
        "`options.oauth` names integration `github`, but the app has no `oauth_config.json`",
    );
    let r = format!(
        r#"{{ "a": {{ "schema": {{ "method": "GET", "host": "x.com", {BEARER} }}, "options": {{ "isOAuth": true }} }} }}"#
    );
    expect_one(
        requests(&r),
        REQUESTS,
        "true",
        "`isOAuth` is set, but the app has no `oauth_config.json`",
    );
}

#[test]
fn is_oauth_needs_the_legacy_format_and_oauth_the_multi_format() {
    let r = format!(
        r#"{{ "a": {{ "schema": {{ "method": "GET", "host": "x.com", {BEARER} }}, "options": {{ "isOAuth": true }} }} }}"#
    );
    let d = expect_one(
        with_oauth(&r, MULTI_OAUTH),
        REQUESTS,
        "true",
        "`isOAuth` is for the legacy single-integration `oauth_config.json`, but this one has `integrations`",
    );
    assert_eq!(
        help(&d),
        "write `\"oauth\": \"<name>\"` with one of `freshservice`, `asana`"
    );
    let r = format!(
        r#"{{ "a": {{ "schema": {{ "method": "GET", "host": "x.com", {BEARER} }}, "options": {{ "oauth": "github" }} }} }}"#
    );
    expect_one(
        with_oauth(&r, LEGACY_OAUTH),
        REQUESTS,
        "\"github\"",
        "`options.oauth` names integration `github`, but `oauth_config.json` is in the legacy single format",
    );
    let r = format!(
        r#"{{ "a": {{ "schema": {{ "method": "GET", "host": "x.com", {BEARER} }}, "options": {{ "isOAuth": true, "oauth": "asana" }} }} }}"#
    );
    expect_one(
        with_oauth(&r, MULTI_OAUTH),
        REQUESTS,
        "\"isOAuth\"",
        "`isOAuth` and `oauth` cannot both be set",
    );
}

#[test]
fn access_token_only_in_headers_and_only_with_oauth() {
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "query": { "t": "<%= access_token %>" } }, "options": { "oauth": "asana" } } }"#;
    let d = expect_one(
        with_oauth(r, MULTI_OAUTH),
        REQUESTS,
        "access_token",
        "`access_token` cannot be used in `query`",
    );
    assert!(help(&d).starts_with("tokens travel in headers only"));
    let r =
        format!(r#"{{ "a": {{ "schema": {{ "method": "GET", "host": "x.com", {BEARER} }} }} }}"#);
    let d = expect_one(
        requests(&r),
        REQUESTS,
        "access_token",
        "template `a` uses `access_token` but names no OAuth integration",
    );
    assert!(help(&d).contains("\"oauth\""));
}

#[test]
fn an_integration_whose_token_is_never_sent_is_a_warning() {
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com" }, "options": { "oauth": "asana" } } }"#;
    let d = expect_one(
        with_oauth(r, MULTI_OAUTH),
        REQUESTS,
        "\"a\"",
        "warning: template `a` has an OAuth integration but never sends its token",
    );
    assert_eq!(
        help(&d),
        "add `\"Authorization\": \"Bearer <%= access_token %>\"` to `headers`"
    );
}

// ---- placeholder references ------------------------------------------------------------

fn header_value(value: &str) -> String {
    format!(
        r#"{{ "a": {{ "schema": {{ "method": "GET", "host": "x.com", "headers": {{ "X": "{value}" }} }} }} }}"#
    )
}

#[test]
fn unknown_placeholder_roots_get_a_fix() {
    let cases = [
        (
            "<%= iparams.domain %>",
            "iparams",
            "unknown placeholder `iparams.domain`",
            "did you mean `iparam.domain`?",
        ),
        (
            "<%= ticket_id %>",
            "ticket_id",
            "unknown placeholder `ticket_id`",
            "did you mean `context.ticket_id`? values given at each call are written `context.ticket_id`",
        ),
        (
            "<%= query.page %>",
            "query",
            "unknown placeholder `query.page`",
            "invoke-time query values are not placeholders: pass the value as `context.page`",
        ),
        (
            "<%= shopify_access_token %>",
            "shopify_access_token",
            "unknown placeholder `shopify_access_token`",
            "`shopify_access_token` is not the OAuth token: only `access_token` is; pass other values as `context.shopify_access_token`",
        ),
        (
            "<%= contxt.id %>",
            "contxt",
            "unknown placeholder `contxt.id`",
            "did you mean `context.id`?",
        ),
        (
            "<%= context %>",
            "context",
            "`context` needs a field name",
            "write `context.ticket_id`",
        ),
        (
            "<%= context.a.b %>",
            "b %>",
            "`context` values are not nested: `context.a.b` has one field too many",
            "use a flat name such as `context.a_b`",
        ),
        (
            "<%= access_token.value %>",
            "access_token",
            "`access_token` has no fields",
            "write `<%= access_token %>`",
        ),
        (
            "<%= oauth_iparams.domain %>",
            "oauth_iparams",
            "`oauth_iparams` can only be used in `oauth_config.json`",
            "in request templates use `iparam.x` for installation parameters",
        ),
    ];
    for (value, needle, message, expected_help) in cases {
        let r = header_value(value);
        let d = expect_one(requests(&r), REQUESTS, needle, message);
        assert_eq!(help(&d), expected_help, "{value}");
    }
}

#[test]
fn a_name_that_merely_contains_access_token_is_not_the_token() {
    let r = header_value("<%= iparam.shopify_access_token %>");
    assert_eq!(describe(&run(requests(&r))), Vec::<String>::new());
}

const IPARAMS_JSON: &str = r#"{ "domain": { "display_name": "Domain", "type": "text" },
  "api_key": { "display_name": "Key", "type": "text", "secure": true } }"#;

#[test]
fn secure_iparams_stay_in_headers() {
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "query": { "k": "<%= iparam.api_key %>" } } } }"#;
    let app = App {
        requests: Some(r),
        iparams: Some(IPARAMS_JSON),
        ..App::default()
    };
    let d = expect_one(
        app,
        REQUESTS,
        "iparam.api_key",
        "secure iparam `api_key` cannot be used in `query`",
    );
    assert_eq!(d.related.len(), 1);
    let r = header_value("<%= encode(iparam.api_key + ':X') %>");
    let app = App {
        requests: Some(&r),
        iparams: Some(IPARAMS_JSON),
        ..App::default()
    };
    assert_eq!(describe(&run(app)), Vec::<String>::new());
}

#[test]
fn iparams_must_be_declared_when_iparams_json_exists() {
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "<%= iparam.domian %>.x.com" } } }"#;
    let app = App {
        requests: Some(r),
        iparams: Some(IPARAMS_JSON),
        ..App::default()
    };
    let d = expect_one(
        app,
        REQUESTS,
        "iparam.domian",
        "iparam `domian` is not defined in `iparams.json`",
    );
    assert_eq!(help(&d), "did you mean `iparam.domain`?");
    // without iparams.json, any iparam name is accepted
    assert_eq!(describe(&run(requests(r))), Vec::<String>::new());
}

#[test]
fn context_names_that_become_one_field_collide() {
    let r = r#"{ "a": { "schema": { "method": "GET", "host": "x.com", "path": "/<%= context.ticketId %>/<%= context.ticket_id %>" } } }"#;
    let d = expect_one(
        requests(r),
        REQUESTS,
        "context.ticket_id",
        "`context.ticket_id` and `context.ticketId` both become the field `ticket_id`",
    );
    assert_eq!(d.related.len(), 1);
}

#[test]
fn template_names_that_become_one_method_collide() {
    let r = r#"{ "createTicket": { "schema": { "method": "GET", "host": "x.com" } },
  "create-ticket": { "schema": { "method": "GET", "host": "x.com" } } }"#;
    let d = expect_one(
        requests(r),
        REQUESTS,
        "\"create-ticket\"",
        "templates `createTicket` and `create-ticket` both become the method `create_ticket`",
    );
    assert_eq!(help(&d), "rename one of them");
}

#[test]
fn at_most_one_hundred_templates() {
    let templates: Vec<String> = (0..101)
        .map(|i| format!(r#""t{i}": {{ "schema": {{ "method": "GET", "host": "x.com" }} }}"#))
        .collect();
    let r = format!("{{\n{}\n}}", templates.join(",\n"));
    expect_one(
        requests(&r),
        REQUESTS,
        "\"t100\"",
        "too many templates: 101 (at most 100)",
    );
    let r = format!("{{\n{}\n}}", templates[..100].join(",\n"));
    assert_eq!(describe(&run(requests(&r))), Vec::<String>::new());
}

// ---- oauth_config.json -------------------------------------------------------------------

fn oauth(text: &str) -> App<'_> {
    App {
        oauth: Some(text),
        ..App::default()
    }
}

fn integration(name: &str, token_type: &str) -> String {
    format!(
        r#""{name}": {{ "display_name": "{name}", "client_id": "a", "client_secret": "",
  "authorize_url": "https://x.com/a", "token_url": "https://x.com/t", "token_type": "{token_type}" }}"#
    )
}

#[test]
fn at_most_three_integrations_and_one_agent() {
    let four = ["a", "b", "c", "d"]
        .map(|n| integration(n, "account"))
        .join(",\n");
    let o = format!("{{ \"integrations\": {{\n{four} }} }}");
    expect_one(
        oauth(&o),
        OAUTH,
        "\"d\"",
        "too many integrations: 4 (at most 3)",
    );
    let agents = format!(
        "{{ \"integrations\": {{\n{},\n{} }} }}",
        integration("a", "agent"),
        integration("b", "agent")
    );
    let needle = "agent\" }";
    let second = agents.rfind(needle).unwrap();
    let app = run(oauth(&agents));
    let (line, col) = {
        let before = &agents[..second];
        (
            before.matches('\n').count() + 1,
            before.rsplit('\n').next().unwrap().chars().count(),
        )
    };
    assert_eq!(
        describe(&app),
        [format!(
            "error {OAUTH}:{line}:{col} more than one integration has `token_type: \"agent\"`"
        )]
    );
}

#[test]
fn integration_keys_are_checked() {
    let o = r#"{ "integrations": { "a": { "client_id": "a", "client_secret": "",
  "authorize_url": "https://x.com/a", "token_url": "https://x.com/t", "token_type": "user", "scopes": "x" } } }"#;
    let app = run(oauth(o));
    assert_eq!(
        describe(&app),
        [
            format!(
                "error {} missing key `display_name` in integration `a`",
                at(OAUTH, o, "\"a\"")
            ),
            format!(
                "error {} `token_type` must be \"account\" or \"agent\", found a string",
                at(OAUTH, o, "\"user\"")
            ),
            format!(
                "error {} unknown key `scopes` in integration `a`",
                at(OAUTH, o, "\"scopes\"")
            ),
        ]
    );
    assert_eq!(
        app.diagnostics[2].help.as_deref(),
        Some(
            "the keys allowed here are `display_name`, `client_id`, `client_secret`, `authorize_url`, `token_url`, `options`, `token_type` and `oauth_iparams`"
        )
    );
}

#[test]
fn oauth_iparams_must_be_declared_and_used() {
    let o = r#"{ "integrations": { "a": { "display_name": "A", "client_id": "a", "client_secret": "",
  "authorize_url": "https://<%= oauth_iparams.domian %>/a", "token_url": "https://x.com/t", "token_type": "account",
  "oauth_iparams": { "domain": { "display_name": "Domain", "type": "text", "required": true } } } } }"#;
    let app = run(oauth(o));
    assert_eq!(
        describe(&app),
        [
            format!(
                "error {} oauth_iparam `domian` is not declared",
                at(OAUTH, o, "oauth_iparams.domian")
            ),
            format!(
                "warning {} oauth_iparam `domain` is declared but never used",
                at(OAUTH, o, "\"domain\"")
            ),
        ]
    );
    assert_eq!(
        app.diagnostics[0].help.as_deref(),
        Some("did you mean `oauth_iparams.domain`?")
    );
}

#[test]
fn oauth_values_may_not_use_request_roots() {
    let o = r#"{ "client_id": "<%= iparam.id %>", "client_secret": "",
  "authorize_url": "https://x.com/a", "token_url": "https://x.com/t", "token_type": "account" }"#;
    expect_one(
        oauth(o),
        OAUTH,
        "iparam.id",
        "`iparam.id` cannot be used in `oauth_config.json`",
    );
}

#[test]
fn oauth_iparam_fields() {
    let o = r#"{ "client_id": "a", "client_secret": "", "token_type": "account",
  "authorize_url": "https://<%= oauth_iparams.d %>/a", "token_url": "https://x.com/t",
  "oauth_iparams": { "d": { "display_name": "D", "type": "number", "placeholder": "x" } } }"#;
    let app = run(oauth(o));
    assert_eq!(
        describe(&app),
        [
            format!(
                "error {} the `type` of an oauth_iparam must be \"text\", found a string",
                at(OAUTH, o, "\"number\"")
            ),
            format!(
                "error {} unknown key `placeholder` in oauth_iparam `d`",
                at(OAUTH, o, "\"placeholder\"")
            ),
        ]
    );
}

#[test]
fn authorize_options_are_strings_and_runtime_parameters_are_not_overridden() {
    let o = r#"{ "client_id": "a", "client_secret": "", "token_type": "account",
  "authorize_url": "https://x.com/a", "token_url": "https://x.com/t",
  "options": { "scope": "s", "redirect_uri": "https://x.com/cb", "javascript_origins": ["https://x.com"],
               "response_type": "code", "prompt": 1 } }"#;
    let app = run(oauth(o));
    assert_eq!(
        describe(&app),
        [
            format!(
                "warning {} `options.redirect_uri` is ignored: the runtime sets the redirect URI",
                at(OAUTH, o, "\"redirect_uri\"")
            ),
            format!(
                "warning {} `options.javascript_origins` is ignored: an array is not an authorize parameter, so it is not sent",
                at(OAUTH, o, "\"javascript_origins\"")
            ),
            format!(
                "warning {} `options.response_type` is ignored: the runtime always asks for `response_type=code`",
                at(OAUTH, o, "\"response_type\"")
            ),
            format!(
                "error {} `options.prompt` cannot be used: authorize parameters are strings",
                at(OAUTH, o, "\"prompt\"")
            ),
        ]
    );
    let integration = &app.config.oauth.as_ref().unwrap().integrations[0];
    assert!(
        integration.extra_params.is_empty(),
        "nothing ignored or refused is sent"
    );
}

#[test]
fn endpoints_are_absolute_https_urls_as_the_runtime_requires() {
    for (url, problem) in [
        (
            "\\\"s\\\"",
            "warning {} `token_url` is not an absolute `https://` URL: authorizing and refreshing fail until it is one",
        ),
        (
            "/oauth/token",
            "warning {} `token_url` is not an absolute `https://` URL: authorizing and refreshing fail until it is one",
        ),
        (
            "http://provider.example/t",
            "error {} `token_url` must use https (plain http only to loopback)",
        ),
    ] {
        let o = format!(
            r#"{{ "client_id": "a", "client_secret": "", "token_type": "account",
  "authorize_url": "https://x.com/a", "token_url": "{url}" }}"#
        );
        let app = run(oauth(&o));
        assert_eq!(
            describe(&app),
            [problem.replace("{}", &at(OAUTH, &o, url))],
            "{url}"
        );
    }
    for url in [
        "http://localhost:8080/t",
        "http://127.0.0.1/t",
        "http://127.0.0.2/t",
        "http://[::1]:9000/t",
        "https://<%= oauth_iparams.host %>/t",
        "<%= oauth_iparams.base %>/t",
    ] {
        let o = format!(
            r#"{{ "client_id": "a", "client_secret": "", "token_type": "account",
  "authorize_url": "https://x.com/a", "token_url": "{url}",
  "oauth_iparams": {{ "host": {{ "display_name": "Host", "type": "text" }}, "base": {{ "display_name": "Base", "type": "text" }} }} }}"#
        );
        let errors: Vec<String> = describe(&run(oauth(&o)))
            .into_iter()
            .filter(|d| d.starts_with("error"))
            .collect();
        assert_eq!(errors, Vec::<String>::new(), "{url}");
    }
}

#[test]
fn response_type_other_than_code_is_an_error_wherever_it_is_written() {
    for (o, needle, what) in [
        (
            r#"{ "client_id": "a", "client_secret": "", "token_type": "account",
  "authorize_url": "https://x.com/a?response_type=token&access_type=offline", "token_url": "https://x.com/t" }"#,
            "https://x.com/a?",
            "`response_type` in the authorize URL",
        ),
        (
            r#"{ "client_id": "a", "client_secret": "", "token_type": "account",
  "authorize_url": "https://x.com/a?response%5Ftype=token", "token_url": "https://x.com/t" }"#,
            "https://x.com/a?",
            "`response_type` in the authorize URL",
        ),
        (
            r#"{ "client_id": "a", "client_secret": "", "token_type": "account", "response_type": "token",
  "authorize_url": "https://x.com/a", "token_url": "https://x.com/t" }"#,
            "\"response_type\"",
            "`response_type`",
        ),
        (
            r#"{ "client_id": "a", "client_secret": "", "token_type": "account",
  "authorize_url": "https://x.com/a", "token_url": "https://x.com/t", "options": { "response_type": "token" } }"#,
            "\"response_type\"",
            "`options.response_type`",
        ),
    ] {
        assert_eq!(
            describe(&run(oauth(o))),
            [format!(
                "error {} {what} cannot be used: the runtime does the authorization-code grant only, so `response_type` can only be `code`",
                at(OAUTH, o, needle)
            )]
        );
    }
    // `code` is a warning in the URL and beside the URLs, as in `options`.
    let o = r#"{ "client_id": "a", "client_secret": "", "token_type": "account", "response_type": "code",
  "authorize_url": "https://x.com/a?response_type=code", "token_url": "https://x.com/t" }"#;
    let described = describe(&run(oauth(o)));
    assert_eq!(described.len(), 2, "{described:?}");
    assert!(
        described.iter().all(|d| d.starts_with("warning")),
        "{described:?}"
    );
}

#[test]
fn a_file_that_is_not_an_fdk_oauth_config() {
    let o = r#"{ "providers": [], "session": {} }"#;
    let d = expect_one(
        oauth(o),
        OAUTH,
        "{",
        "this is not an FDK `oauth_config.json`",
    );
    assert!(help(&d).contains("integrations"));
}

// ---- iparams.json ------------------------------------------------------------------------

#[test]
fn iparam_types_and_keys() {
    let i = r#"{ "domain": { "display_name": "Domain", "type": "txt", "colour": "red" },
  "count": { "display_name": "Count" } }"#;
    let app = run(App {
        iparams: Some(i),
        requests: Some("{}"),
        ..App::default()
    });
    assert_eq!(
        describe(&app),
        [
            format!(
                "error {} unknown iparam type `txt`",
                at(IPARAMS, i, "\"txt\"")
            ),
            format!(
                "warning {} unknown key `colour` in iparam `domain`",
                at(IPARAMS, i, "\"colour\"")
            ),
            format!(
                "error {} missing key `type` in iparam `count`",
                at(IPARAMS, i, "\"count\"")
            ),
        ]
    );
    assert_eq!(
        app.diagnostics[0].help.as_deref(),
        Some("did you mean `text`?")
    );
}

// ---- manifest.json -----------------------------------------------------------------------

#[test]
fn manifest_declarations_match_templates() {
    let r = r#"{ "getTicket": { "schema": { "method": "GET", "host": "x.com" } },
  "extra": { "schema": { "method": "GET", "host": "x.com" } } }"#;
    let m = r#"{ "platform-version": "2.3", "product": { "freshdesk": { "requests": { "getTicket": {}, "getTickets": {} } } } }"#;
    let app = run(App {
        requests: Some(r),
        manifest: Some(m),
        ..App::default()
    });
    assert_eq!(
        describe(&app),
        [
            format!(
                "warning {} template `extra` is not declared in the manifest's `requests`",
                at(REQUESTS, r, "\"extra\"")
            ),
            format!(
                "error {} template `getTickets` is declared in the manifest but not defined",
                at(MANIFEST, m, "\"getTickets\"")
            ),
        ]
    );
    assert_eq!(
        app.diagnostics[1].help.as_deref(),
        Some("did you mean `getTicket`?")
    );
}

#[test]
fn manifest_declarations_are_empty_objects() {
    let r = r#"{ "getTicket": { "schema": { "method": "GET", "host": "x.com" } } }"#;
    let m = r#"{ "modules": { "common": { "requests": { "getTicket": { "schema": {} } } } } }"#;
    expect_one(
        App {
            requests: Some(r),
            manifest: Some(m),
            ..App::default()
        },
        MANIFEST,
        "{ \"schema\"",
        "warning: the declaration of `getTicket` is not `{}`",
    );
}

// ---- everything at once ------------------------------------------------------------------

#[test]
fn every_error_in_every_file_is_reported_in_one_run() {
    let r = r#"{ "a": { "schema": { "method": "get", "host": "<%= iparams.d %>", "path": "x" }, "options": { "oauth": "nope", "maxAttempts": 9 } } }"#;
    let o = r#"{ "integrations": { "b": { "display_name": "B", "client_id": "a", "client_secret": "",
  "authorize_url": "https://<%= oauth_iparams.x %>/a", "token_url": "https://x.com/t", "token_type": "agentt" } } }"#;
    let app = run(with_oauth(r, o));
    let errors: Vec<&str> = app
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        errors,
        [
            "unsupported method `get`",
            "unknown placeholder `iparams.d`",
            "`path` must start with `/`",
            "unknown integration `nope`",
            "`maxAttempts` must be from 1 to 5, found 9",
            "oauth_iparam `x` is not declared",
            "`token_type` must be \"account\" or \"agent\", found a string",
        ]
    );
}

#[test]
fn a_client_secret_written_in_the_file_is_a_warning_that_says_where_it_goes() {
    let o = r#"{ "integrations": { "fresh-service": { "display_name": "F", "client_id": "a",
      "client_secret": "s3cr3t", "authorize_url": "https://a.com/auth", "token_url": "https://a.com/token",
      "token_type": "account" } } }"#;
    let found = expect_one(
        App {
            oauth: Some(o),
            ..requests("{}")
        },
        OAUTH,
        "s3cr3t",
        "warning: the client secret is written in the config file",
    );
    assert!(
        help(&found).contains("`OAUTH_FRESH_SERVICE_CLIENT_SECRET`"),
        "{}",
        help(&found)
    );
    assert!(help(&found).contains("<%= oauth_iparams.client_secret %>"));
    assert!(!found.message.contains("s3cr3t") && !help(&found).contains("s3cr3t"));
}

#[test]
fn a_literal_authorization_custom_header_is_a_credential_warning() {
    let o = r#"{ "integrations": { "freshservice": { "display_name": "F", "client_id": "a",
      "client_secret": "", "authorize_url": "https://a.com/auth", "token_url": "https://a.com/token",
      "options": { "customHeaders": { "Authorization": "Basic c2VjcmV0", "X-Region": "eu" } },
      "token_type": "account" } } }"#;
    let found = expect_one(
        App {
            oauth: Some(o),
            ..requests("{}")
        },
        OAUTH,
        "Basic c2VjcmV0",
        "warning: a credential is written in the config file",
    );
    assert!(
        help(&found).contains("never compiled in"),
        "{}",
        help(&found)
    );
}

#[test]
fn framing_headers_cannot_be_set_by_a_template() {
    for name in [
        "Host",
        "content-length",
        "Transfer-Encoding",
        "Connection",
        "TE",
        "Upgrade",
    ] {
        let r = format!(
            r#"{{ "t": {{ "schema": {{ "method": "GET", "host": "api.example.com",
  "headers": {{ "{name}": "x" }} }} }} }}"#
        );
        let described = describe(&run(requests(&r)));
        assert_eq!(described.len(), 1, "{described:?}");
        assert!(
            described[0].starts_with("error")
                && described[0].contains("cannot be set by a template"),
            "{described:?}"
        );
    }
}

#[test]
fn a_secret_never_goes_to_a_host_given_at_the_call() {
    let oauth = r#"{ "integrations": { "crm": { "display_name": "CRM", "client_id": "a",
  "client_secret": "<%= oauth_iparams.s %>", "authorize_url": "https://x.com/a",
  "token_url": "https://x.com/t", "token_type": "account",
  "oauth_iparams": { "s": { "display_name": "S", "type": "text" } } } } }"#;
    let iparams = r#"{ "key": { "display_name": "Key", "type": "text", "secure": true },
  "domain": { "display_name": "Domain", "type": "text" } }"#;
    let r = r#"{ "token": { "schema": { "method": "GET", "host": "<%= context.domain %>",
    "headers": { "Authorization": "Bearer <%= access_token %>" } }, "options": { "oauth": "crm" } },
  "key": { "schema": { "method": "GET", "host": "<%= context.domain %>.example.com",
    "headers": { "X-Key": "<%= iparam.key %>" } } },
  "fixed": { "schema": { "method": "GET", "host": "<%= iparam.domain %>.example.com",
    "path": "/<%= context.id %>",
    "headers": { "Authorization": "Bearer <%= access_token %>", "X-Key": "<%= iparam.key %>" } },
    "options": { "oauth": "crm" } },
  "plain": { "schema": { "method": "GET", "host": "<%= context.domain %>",
    "headers": { "X-Region": "<%= iparam.domain %>" } } },
  "basic": { "schema": { "method": "GET", "host": "<%= context.domain %>",
    "headers": { "Authorization": "Basic <%= encode(iparam.domain + ':X') %>" } } } }"#;
    let app = run(App {
        requests: Some(r),
        oauth: Some(oauth),
        iparams: Some(iparams),
        ..App::default()
    });
    let errors: Vec<String> = describe(&app)
        .into_iter()
        .filter(|d| d.starts_with("error"))
        .collect();
    assert_eq!(
        errors,
        [
            format!(
                "error {} the access token would go to a host chosen at each call",
                at(REQUESTS, r, "access_token")
            ),
            format!(
                "error {} secure iparam `key` would go to a host chosen at each call",
                at(REQUESTS, r, "iparam.key")
            ),
        ]
    );
    let warnings: Vec<String> = describe(&app)
        .into_iter()
        .filter(|d| d.contains("credential header"))
        .collect();
    assert_eq!(
        warnings,
        [format!(
            "warning {} iparam `domain`, sent in the credential header `Authorization`, would go to a host chosen at each call",
            at(REQUESTS, r, "iparam.domain + ")
        )]
    );
}
