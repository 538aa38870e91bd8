//! `config/requests.json`: templates, their `schema` and `options`.

use std::net::{IpAddr, Ipv6Addr};

use super::{boolean, get, integer_in, object, reject_unknown_keys, required, template_string};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::json::{Json, JsonKind, Member};
use crate::model::{
    AuthRef, Header, Method, Protocol, QueryParam, QueryValue, Schema, Security, Template,
    TemplateOptions,
};
use crate::placeholder::{Part, TemplateString, Term};
use crate::source::{Span, Spanned};

/// At most this many templates in one app (FDK's limit).
pub(crate) const MAX_TEMPLATES: usize = 100;

const TEMPLATE_KEYS: &[&str] = &["schema", "options"];
const SCHEMA_KEYS: &[&str] = &["method", "protocol", "host", "path", "headers", "query"];
const OPTION_KEYS: &[&str] = &["oauth", "isOAuth", "maxAttempts", "retryDelay", "security"];
const SECURITY_KEYS: &[&str] = &["cert", "key", "ca", "pfx", "passphrase"];

/// Reads the templates of a parsed `requests.json`. Templates with errors are left out.
pub(crate) fn load_requests(json: &Json, diagnostics: &mut Diagnostics) -> Vec<Template> {
    let Some(members) = object(json, "`requests.json`", diagnostics) else {
        return Vec::new();
    };
    if let Some(extra) = members.get(MAX_TEMPLATES) {
        diagnostics.push(
            Diagnostic::error(
                extra.key.span.clone(),
                format!(
                    "too many templates: {} (at most {MAX_TEMPLATES})",
                    members.len()
                ),
            )
            .with_label(format!("template {} starts here", MAX_TEMPLATES + 1))
            .with_help("FDK allows at most 100 request templates per app"),
        );
    }
    members
        .iter()
        .filter_map(|member| load_template(member, diagnostics))
        .collect()
}

/// A template whose parts have errors is still returned, with stand-ins for the broken parts,
/// so that the rules across templates and files report everything in one run.
fn load_template(member: &Member, diagnostics: &mut Diagnostics) -> Option<Template> {
    let name = &member.key;
    if name.value.is_empty()
        || !name
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        diagnostics.push(
            Diagnostic::error(
                name.span.clone(),
                format!("invalid template name `{}`", name.value),
            )
            .with_help("template names use letters, digits, `_` and `-` only"),
        );
    }
    let what = format!("template `{}`", name.value);
    let members = object(&member.value, &what, diagnostics)?;
    reject_unknown_keys(members, TEMPLATE_KEYS, &what, diagnostics);
    let schema = required(members, "schema", &name.span, &what, diagnostics)
        .and_then(|schema| load_schema(schema, &name.value, diagnostics))?;
    let options = match get(members, "options") {
        Some(options) => load_options(&options.value, &name.value, diagnostics),
        None => TemplateOptions::default(),
    };
    Some(Template {
        name: name.clone(),
        schema,
        options,
    })
}

fn load_schema(json: &Json, template: &str, diagnostics: &mut Diagnostics) -> Option<Schema> {
    let what = format!("`schema` of template `{template}`");
    let members = object(json, &what, diagnostics)?;
    let schema_key = json.span.clone();
    for member in members {
        if member.key.value == "body" {
            diagnostics.push(
                Diagnostic::error(
                    member.key.span.clone(),
                    format!("`body` is not allowed in {what}"),
                )
                .with_help(
                    "the body is given when the template is invoked: `.json(&value)` or `.body(…)`",
                ),
            );
        }
    }
    let rest = members.iter().filter(|m| m.key.value != "body");
    reject_unknown_keys(rest, SCHEMA_KEYS, &what, diagnostics);

    let method = required(members, "method", &schema_key, &what, diagnostics)
        .and_then(|m| method(m, diagnostics));
    let protocol = match get(members, "protocol") {
        Some(p) => protocol(&p.value, diagnostics),
        None => Some(Protocol::Https),
    };
    let host = required(members, "host", &schema_key, &what, diagnostics)
        .and_then(|h| template_string(h, "`host`", diagnostics));
    let path = get(members, "path").and_then(|p| template_string(&p.value, "`path`", diagnostics));
    let headers = match get(members, "headers") {
        Some(h) => headers(
            &h.value,
            &format!("`headers` of template `{template}`"),
            diagnostics,
        ),
        None => Vec::new(),
    };
    let query = match get(members, "query") {
        Some(q) => query(&q.value, template, diagnostics),
        None => Vec::new(),
    };
    if let (Some(host), Some(protocol)) = (&host, protocol) {
        check_host(host, protocol, diagnostics);
    }
    if let Some(path) = &path {
        check_path(path, diagnostics);
    }
    Some(Schema {
        method: method.unwrap_or_else(|| Spanned::new(Method::Get, schema_key.clone())),
        protocol: protocol.unwrap_or(Protocol::Https),
        host: host.unwrap_or_else(|| TemplateString::empty(schema_key)),
        path,
        headers,
        query,
    })
}

fn method(json: &Json, diagnostics: &mut Diagnostics) -> Option<Spanned<Method>> {
    let Some(text) = json.as_string() else {
        diagnostics.push(super::type_error(
            json,
            "`method`",
            "a string such as \"GET\"",
        ));
        return None;
    };
    let text = text.as_str();
    if let Some((_, method)) = Method::ALL.iter().find(|(name, _)| *name == text) {
        return Some(Spanned::new(*method, json.span.clone()));
    }
    let upper = text.to_ascii_uppercase();
    let help = if Method::ALL.iter().any(|(name, _)| *name == upper) {
        format!("methods are written in upper case: `{upper}`")
    } else {
        "use one of `GET`, `POST`, `PUT`, `PATCH` or `DELETE`".to_string()
    };
    diagnostics.push(
        Diagnostic::error(json.span.clone(), format!("unsupported method `{text}`"))
            .with_help(help),
    );
    None
}

fn protocol(json: &Json, diagnostics: &mut Diagnostics) -> Option<Protocol> {
    match json.as_string().map(|s| s.as_str()) {
        Some("https") => Some(Protocol::Https),
        Some("http") => Some(Protocol::Http),
        Some(other) => {
            let help = match other.to_ascii_lowercase().trim_end_matches("://") {
                "https" => "write `https` (lower case, no `://`)",
                "http" => "write `http` (lower case, no `://`)",
                _ => "use `https` (the default) or `http`",
            };
            diagnostics.push(
                Diagnostic::error(json.span.clone(), format!("unsupported protocol `{other}`"))
                    .with_help(help),
            );
            None
        }
        None => {
            diagnostics.push(super::type_error(
                json,
                "`protocol`",
                "\"https\" or \"http\"",
            ));
            None
        }
    }
}

/// Reads an object of header name → templated string value. Shared with `customHeaders`.
/// Headers that frame the request or the connection: never a template's to set.
const FRAMING_HEADERS: [&str; 9] = [
    "Host",
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
    "TE",
    "Upgrade",
    "Keep-Alive",
    "Proxy-Connection",
    "Trailer",
];

pub(super) fn headers(json: &Json, what: &str, diagnostics: &mut Diagnostics) -> Vec<Header> {
    let Some(members) = object(json, what, diagnostics) else {
        return Vec::new();
    };
    let mut headers = Vec::with_capacity(members.len());
    for member in members {
        let name = &member.key;
        if name.value.is_empty() || !name.value.bytes().all(is_token_byte) {
            diagnostics.push(
                Diagnostic::error(
                    name.span.clone(),
                    format!("invalid header name `{}`", name.value),
                )
                .with_help(
                    "header names are letters, digits and ``!#$%&'*+-.^_`|~``, without spaces",
                ),
            );
            continue;
        }
        if let Some(forbidden) = FRAMING_HEADERS
            .iter()
            .find(|h| h.eq_ignore_ascii_case(&name.value))
        {
            // A `Host` sends the request (and its token) to another virtual host behind a
            // shared front end; a `Content-Length` truncates bodies; the others are the
            // connection's, which the HTTP client manages.
            diagnostics.push(
                Diagnostic::error(
                    name.span.clone(),
                    format!("`{forbidden}` cannot be set by a template"),
                )
                .with_help("the HTTP client sets it from the request: remove it (the host is the template's `host`)"),
            );
            continue;
        }
        if let Some(first) = headers
            .iter()
            .find(|h: &&Header| h.name.value.eq_ignore_ascii_case(&name.value))
        {
            diagnostics.push(
                Diagnostic::error(
                    name.span.clone(),
                    format!("header `{}` is set twice", name.value),
                )
                .with_related(first.name.span.clone(), "first set here")
                .with_help("header names are case-insensitive: keep one of them"),
            );
            continue;
        }
        let Some(value) = template_string(
            &member.value,
            &format!("header `{}`", name.value),
            diagnostics,
        ) else {
            continue;
        };
        // As HTTP allows (RFC 9110, section 5.5): no control character but a tab; a value
        // sent as it is would be refused at every call.
        if let Some(control) = control_character(&value) {
            let what = if matches!(control, '\r' | '\n') {
                "a line break".to_string()
            } else {
                format!("the control character {:?}", control)
            };
            diagnostics.push(
                Diagnostic::error(
                    value.span.clone(),
                    format!("header `{}` contains {what}", name.value),
                )
                .with_help("header values cannot contain `\\r`, `\\n` or other control characters (a tab is allowed)"),
            );
        }
        headers.push(Header {
            name: name.clone(),
            value,
        });
    }
    headers
}

/// The first control character but a tab that a header's value sends as written: in its
/// text, or in a placeholder's literals and default (not inside `encode(…)`, sent as Base64).
fn control_character(value: &TemplateString) -> Option<char> {
    let control = |text: &str| text.chars().find(|c| c.is_ascii_control() && *c != '\t');
    value.parts.iter().find_map(|part| match part {
        Part::Text(text) => control(text),
        Part::Placeholder(p) => (p.expr.terms.iter())
            .find_map(|term| match term {
                Term::Literal(literal) => control(literal.value.text()),
                Term::Encode { .. } | Term::Path(_) => None,
            })
            .or_else(|| (p.expr.default.as_ref()).and_then(|d| control(d.value.text()))),
    })
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn query(json: &Json, template: &str, diagnostics: &mut Diagnostics) -> Vec<QueryParam> {
    let Some(members) = object(
        json,
        &format!("`query` of template `{template}`"),
        diagnostics,
    ) else {
        return Vec::new();
    };
    let mut params = Vec::with_capacity(members.len());
    for member in members {
        let what = format!("query parameter `{}`", member.key.value);
        let value = match &member.value.kind {
            JsonKind::String(_) => {
                template_string(&member.value, &what, diagnostics).map(QueryValue::Text)
            }
            JsonKind::Number(n) => Some(QueryValue::Number(Spanned::new(
                n.clone(),
                member.value.span.clone(),
            ))),
            JsonKind::Bool(b) => Some(QueryValue::Bool(Spanned::new(
                *b,
                member.value.span.clone(),
            ))),
            JsonKind::Array(_) => {
                diagnostics.push(
                    Diagnostic::error(member.value.span.clone(), format!("{what} is an array; arrays are not supported in `query`"))
                        .with_help("FDK's handling of arrays here is undefined: give one value per key, or add repeated keys at invoke time with `.query(key, value)`"),
                );
                None
            }
            _ => {
                diagnostics.push(super::type_error(
                    &member.value,
                    &what,
                    "a string, a number or a boolean",
                ));
                None
            }
        };
        if let Some(value) = value {
            params.push(QueryParam {
                name: member.key.clone(),
                value,
            });
        }
    }
    params
}

fn load_options(json: &Json, template: &str, diagnostics: &mut Diagnostics) -> TemplateOptions {
    let what = format!("`options` of template `{template}`");
    let Some(members) = object(json, &what, diagnostics) else {
        return TemplateOptions::default();
    };
    reject_unknown_keys(members, OPTION_KEYS, &what, diagnostics);
    let mut options = TemplateOptions::default();
    let oauth = get(members, "oauth");
    let is_oauth = get(members, "isOAuth");
    if let Some(member) = oauth {
        match member.value.as_string() {
            Some(name) if !name.as_str().is_empty() => {
                options.auth = Some(Spanned::new(
                    AuthRef::Integration(name.as_str().to_string()),
                    member.value.span.clone(),
                ));
            }
            _ => diagnostics.push(
                super::type_error(
                    &member.value,
                    "`oauth`",
                    "the name of an integration in `oauth_config.json`",
                )
                .with_help("write the integration's key, as in `\"oauth\": \"freshservice\"`"),
            ),
        }
    }
    if let Some(member) = is_oauth
        && boolean(&member.value, "`isOAuth`", diagnostics) == Some(true)
    {
        match oauth {
            Some(oauth) => diagnostics.push(
                Diagnostic::error(member.key.span.clone(), "`isOAuth` and `oauth` cannot both be set")
                    .with_related(oauth.key.span.clone(), "`oauth` is set here")
                    .with_help("`oauth: \"name\"` is for multi-OAuth configs; `isOAuth: true` for the legacy single config"),
            ),
            None => options.auth = Some(Spanned::new(AuthRef::Legacy, member.value.span.clone())),
        }
    }
    if let Some(member) = get(members, "maxAttempts") {
        options.max_attempts = integer_in(&member.value, 1, 5, "`maxAttempts`", diagnostics)
            .and_then(|n| u8::try_from(n).ok())
            .map(|n| Spanned::new(n, member.value.span.clone()));
    }
    if let Some(member) = get(members, "retryDelay") {
        options.retry_delay_ms = integer_in(&member.value, 0, 1500, "`retryDelay`", diagnostics)
            .and_then(|n| u16::try_from(n).ok())
            .map(|n| Spanned::new(n, member.value.span.clone()));
    }
    if let Some(member) = get(members, "security") {
        options.security = load_security(member, template, diagnostics);
    }
    options
}

/// `options.security`: `cert` and `key` (PEM text from the installation's values), an
/// optional `ca`. FDK's `pfx` and `passphrase` are refused with the conversion to make: the
/// TLS stack (rustls) reads unencrypted PEM only.
fn load_security(
    member: &Member,
    template: &str,
    diagnostics: &mut Diagnostics,
) -> Option<Security> {
    let what = format!("`options.security` of template `{template}`");
    let members = object(&member.value, &what, diagnostics)?;
    reject_unknown_keys(members, SECURITY_KEYS, &what, diagnostics);
    let pfx = get(members, "pfx");
    if let Some(pfx) = pfx {
        diagnostics.push(
            Diagnostic::error(
                pfx.key.span.clone(),
                "a PKCS #12 identity (`pfx`) cannot be used: client certificates are read as PEM",
            )
            .with_help(
                "convert it once with `openssl pkcs12 -in identity.pfx -nodes -clcerts -nokeys -out cert.pem` \
                 and `openssl pkcs12 -in identity.pfx -nodes -nocerts -out key.pem`, keep both in iparams \
                 (the key secure), and write `\"cert\": \"<%= iparam.cert %>\", \"key\": \"<%= iparam.key %>\"`",
            ),
        );
    }
    if let Some(passphrase) = get(members, "passphrase") {
        diagnostics.push(
            Diagnostic::error(
                passphrase.key.span.clone(),
                "an encrypted private key (`passphrase`) cannot be used: keys are read unencrypted",
            )
            .with_help(
                "decrypt it once with `openssl pkey -in key.pem -out key-plain.pem`, keep it in a \
                 secure iparam, and remove `passphrase`",
            ),
        );
    }
    let mut value = |key: &str| {
        let json = if pfx.is_some() {
            // `pfx` stands for both: its error says what to write instead.
            get(members, key).map(|m| &m.value)
        } else {
            required(members, key, &member.key.span, &what, diagnostics)
        };
        json.and_then(|json| template_string(json, &format!("`security.{key}`"), diagnostics))
    };
    let certificate = value("cert");
    let key = value("key");
    let ca =
        get(members, "ca").and_then(|m| template_string(&m.value, "`security.ca`", diagnostics));
    if pfx.is_some() || get(members, "passphrase").is_some() {
        return None;
    }
    Some(Security {
        span: member.key.span.clone(),
        certificate: certificate?,
        key: key?,
        ca,
    })
}

fn check_host(host: &TemplateString, protocol: Protocol, diagnostics: &mut Diagnostics) {
    let span = host.span.clone();
    if host.parts.is_empty() {
        diagnostics.push(
            Diagnostic::error(span, "`host` is empty")
                .with_help("write a host name such as `api.example.com`"),
        );
        return;
    }
    for part in &host.parts {
        let Part::Text(text) = part else { continue };
        if let Some(index) = text.find("://") {
            let scheme = &text[..index];
            let help = match scheme.to_ascii_lowercase().as_str() {
                "http" | "https" => format!(
                    "remove `{}://`; set `\"protocol\": \"{}\"` if it is not https",
                    scheme,
                    scheme.to_ascii_lowercase()
                ),
                _ => format!("remove `{scheme}://`"),
            };
            diagnostics.push(
                Diagnostic::error(span.clone(), "`host` must not include a scheme").with_help(help),
            );
            return;
        }
        if let Some(bad) = text
            .chars()
            .find(|c| matches!(c, '/' | '@' | '?' | '#') || c.is_whitespace())
        {
            let help = match bad {
                '/' | '?' | '#' => {
                    "the host is only the server's name (and `:port`): move the rest to `path`"
                }
                '@' => "credentials cannot be part of the host: send them in a header",
                _ => "remove the whitespace",
            };
            diagnostics.push(
                Diagnostic::error(
                    span.clone(),
                    format!("`host` must not contain {}", describe_char(bad)),
                )
                .with_help(help),
            );
            return;
        }
    }
    if let Some(literal) = host.as_literal() {
        check_literal_host(&literal, &span, protocol, diagnostics);
    }
}

fn describe_char(c: char) -> String {
    if c.is_whitespace() {
        "whitespace".to_string()
    } else {
        format!("`{c}`")
    }
}

fn check_literal_host(host: &str, span: &Span, protocol: Protocol, diagnostics: &mut Diagnostics) {
    let (name, port) = split_port(host);
    if let Some(port) = port
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        diagnostics.push(
            Diagnostic::error(span.clone(), format!("invalid port `{port}` in `host`"))
                .with_help("a port is a number from 1 to 65535"),
        );
        return;
    }
    let ip = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .and_then(|n| n.parse::<Ipv6Addr>().ok().map(IpAddr::V6))
        .or_else(|| name.parse::<IpAddr>().ok());
    let loopback = ip.is_some_and(|ip| ip.is_loopback()) || name.eq_ignore_ascii_case("localhost");
    if let Some(ip) = ip {
        if !(ip.is_loopback() && protocol == Protocol::Http) {
            diagnostics.push(
                Diagnostic::error(span.clone(), format!("IP address `{name}` as `host`"))
                    .with_help("use the server's host name (certificates name hosts, not addresses); IP literals are allowed only for loopback with `\"protocol\": \"http\"`"),
            );
            return;
        }
    } else if oauth_rules::ends_in_a_number(name) {
        // WHATWG's URL parser reads `3232235777`, `0xc0.0xa8.1.1`, `10.1` as IPv4 addresses.
        diagnostics.push(
            Diagnostic::error(span.clone(), format!("`{name}` as `host` is an IP address in another spelling"))
                .with_help("a host name whose last label is a number is read as an IPv4 address; use the server's host name"),
        );
        return;
    } else if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
    {
        diagnostics.push(
            Diagnostic::error(span.clone(), format!("invalid host name `{name}`")).with_help(
                "a host name is letters, digits, `-` and `.`, optionally followed by `:port`",
            ),
        );
        return;
    }
    if protocol == Protocol::Http && !loopback {
        diagnostics.push(
            Diagnostic::warning(span.clone(), format!("plain `http` to `{name}`"))
                .with_help("the runtime refuses http except to loopback unless the client allows it; use `https`"),
        );
    }
}

/// `("example.com", Some("8080"))` for `example.com:8080`; bracketed IPv6 kept whole.
fn split_port(host: &str) -> (&str, Option<&str>) {
    if host.starts_with('[') {
        return match host.find("]:") {
            Some(i) => (&host[..=i], Some(&host[i + 2..])),
            None => (host, None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => (name, Some(port)),
        _ => (host, None),
    }
}

fn check_path(path: &TemplateString, diagnostics: &mut Diagnostics) {
    match path.parts.first() {
        Some(Part::Text(text)) if !text.starts_with('/') => {
            let help = if text.contains("://") {
                "the path starts after the host: put the host in `host` and the rest here, starting with `/`".to_string()
            } else {
                format!("write `/{text}`")
            };
            diagnostics.push(
                Diagnostic::error(path.span.clone(), "`path` must start with `/`").with_help(help),
            );
        }
        None => diagnostics.push(
            Diagnostic::error(path.span.clone(), "`path` is empty")
                .with_help("write `/`, or leave `path` out (it defaults to `/`)"),
        ),
        _ => {}
    }
    // Literal text is percent-encoded where a URL needs it; a space before the query string is
    // still almost always a slip (`/v2/conversations/ <%= id %> /messages`), so say so.
    let mut in_query = false;
    for part in &path.parts {
        let Part::Text(text) = part else { continue };
        if text.contains('#') {
            diagnostics.push(
                Diagnostic::error(path.span.clone(), "`path` contains `#`")
                    .with_help("a fragment is never sent to the server: remove it, or write `%23` for a literal `#`"),
            );
            return;
        }
        let before_query = text.split('?').next().unwrap_or("");
        if !in_query && before_query.contains(char::is_whitespace) {
            diagnostics.push(
                Diagnostic::warning(path.span.clone(), "`path` contains a space")
                    .with_help("it is sent as `%20`; remove it if it is a slip"),
            );
            return;
        }
        in_query |= text.contains('?');
    }
}
