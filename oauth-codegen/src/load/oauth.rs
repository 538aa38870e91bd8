//! `config/oauth_config.json`: multi-OAuth (`integrations`) and the legacy single format.

use super::{
    boolean, get, object, plain_string, reject_unknown_keys, required, template_string, type_error,
};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::json::{Json, JsonKind, Member};
use crate::model::{Header, Integration, OAuthConfig, OAuthFormat, OAuthIparam, TokenType};
use crate::placeholder::{Part, TemplateString, parse_template};
use crate::source::{FileId, Spanned};
use oauth_rules::{ParamRule, ParamValue};

/// At most this many integrations in one app.
pub(crate) const MAX_INTEGRATIONS: usize = 3;

const MULTI_KEYS: &[&str] = &[
    "display_name",
    "client_id",
    "client_secret",
    "authorize_url",
    "token_url",
    "options",
    "token_type",
    "oauth_iparams",
];
const LEGACY_KEYS: &[&str] = &[
    "client_id",
    "client_secret",
    "authorize_url",
    "token_url",
    "options",
    "token_type",
    "oauth_iparams",
];
const OAUTH_IPARAM_KEYS: &[&str] = &["display_name", "description", "type", "required", "secure"];

/// Reads a parsed `oauth_config.json`. Integrations with errors are left out.
pub(crate) fn load_oauth(
    json: &Json,
    file: FileId,
    diagnostics: &mut Diagnostics,
) -> Option<OAuthConfig> {
    let members = object(json, "`oauth_config.json`", diagnostics)?;
    if let Some(integrations) = get(members, "integrations") {
        let others = members.iter().filter(|m| m.key.value != "integrations");
        reject_unknown_keys(
            others,
            &["integrations"],
            "multi-OAuth `oauth_config.json`",
            diagnostics,
        );
        return load_multi(&integrations.value, file, diagnostics);
    }
    if !members
        .iter()
        .any(|m| LEGACY_KEYS.contains(&m.key.value.as_str()))
    {
        diagnostics.push(
            Diagnostic::error(json.span.clone(), "this is not an FDK `oauth_config.json`")
                .with_label("expected `integrations`, or `client_id`, `authorize_url`, `token_url`, …")
                .with_help("multi-OAuth configs hold `{ \"integrations\": { \"name\": { … } } }`; legacy configs hold one integration's keys at top level"),
        );
        return None;
    }
    let integration = load_integration(None, json, members, OAuthFormat::Legacy, diagnostics);
    Some(OAuthConfig {
        format: OAuthFormat::Legacy,
        integrations: vec![integration],
        file,
    })
}

fn load_multi(json: &Json, file: FileId, diagnostics: &mut Diagnostics) -> Option<OAuthConfig> {
    let members = object(json, "`integrations`", diagnostics)?;
    if members.is_empty() {
        diagnostics.push(
            Diagnostic::error(json.span.clone(), "`integrations` is empty").with_help(
                "add an integration, or remove `oauth_config.json` if the app uses no OAuth",
            ),
        );
    }
    if let Some(extra) = members.get(MAX_INTEGRATIONS) {
        diagnostics.push(
            Diagnostic::error(
                extra.key.span.clone(),
                format!(
                    "too many integrations: {} (at most {MAX_INTEGRATIONS})",
                    members.len()
                ),
            )
            .with_help("an app may configure at most 3 OAuth integrations"),
        );
    }
    let mut integrations = Vec::with_capacity(members.len());
    for member in members {
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
                    format!("invalid integration name `{}`", name.value),
                )
                .with_help("integration names use letters, digits, `_` and `-` only"),
            );
            continue;
        }
        let what = format!("integration `{}`", name.value);
        let Some(fields) = object(&member.value, &what, diagnostics) else {
            continue;
        };
        integrations.push(load_integration(
            Some(name),
            &member.value,
            fields,
            OAuthFormat::Multi,
            diagnostics,
        ));
    }
    let mut agents = integrations
        .iter()
        .filter(|i| i.token_type.value == TokenType::Agent);
    if let (Some(first), Some(_)) = (agents.next(), agents.clone().next()) {
        for extra in agents {
            diagnostics.push(
                Diagnostic::error(extra.token_type.span.clone(), "more than one integration has `token_type: \"agent\"`")
                    .with_related(first.token_type.span.clone(), "the first agent integration")
                    .with_help("at most one integration may hold per-user (agent) tokens; make this one `account`"),
            );
        }
    }
    Some(OAuthConfig {
        format: OAuthFormat::Multi,
        integrations,
        file,
    })
}

fn load_integration(
    name: Option<&Spanned<String>>,
    json: &Json,
    members: &[Member],
    format: OAuthFormat,
    diagnostics: &mut Diagnostics,
) -> Integration {
    let (what, owner, allowed) = match name {
        Some(name) => (
            format!("integration `{}`", name.value),
            name.span.clone(),
            MULTI_KEYS,
        ),
        None => (
            "`oauth_config.json`".to_string(),
            json.span.clone(),
            LEGACY_KEYS,
        ),
    };
    // Some apps write `response_type` beside the URLs (FDK accepts it): the same rule as in
    // `options`.
    reject_unknown_keys(
        members.iter().filter(|m| m.key.value != "response_type"),
        allowed,
        &what,
        diagnostics,
    );
    if let Some(response_type) = get(members, "response_type") {
        let value = match response_type.value.as_string() {
            Some(s) => ParamValue::Text(s.as_str()),
            None => ParamValue::Other,
        };
        authorize_param_allowed(
            "response_type",
            value,
            "`response_type`",
            &response_type.key.span,
            diagnostics,
        );
    }
    let display_name = match format {
        OAuthFormat::Multi => required(members, "display_name", &owner, &what, diagnostics)
            .and_then(|d| plain_string(d, "`display_name`", diagnostics)),
        OAuthFormat::Legacy => None,
    };
    let mut url = |key: &str| {
        required(members, key, &owner, &what, diagnostics)
            .and_then(|v| template_string(v, &format!("`{key}`"), diagnostics))
    };
    let client_id = url("client_id");
    let client_secret = url("client_secret");
    let authorize_url = url("authorize_url");
    let token_url = url("token_url");
    for (key, url) in [("authorize_url", &authorize_url), ("token_url", &token_url)] {
        if let Some(url) = url {
            check_endpoint(key, url, diagnostics);
        }
    }
    if let Some(authorize_url) = &authorize_url {
        check_authorize_query(authorize_url, diagnostics);
    }
    if let Some(secret) = &client_secret
        && secret.placeholders().next().is_none()
        && !secret.parts.is_empty()
    {
        let variable = oauth_rules::client_variable(
            name.map_or(oauth_rules::LEGACY_INTEGRATION, |n| n.value.as_str()),
            oauth_rules::ClientVariable::Secret,
        );
        diagnostics.push(
            Diagnostic::warning(secret.span.clone(), "the client secret is written in the config file")
                .with_help(format!(
                    "it is never compiled in: the runtime reads it from the environment variable `{variable}`; \
                     remove it from the file (and from version control), or ask for it at installation \
                     with `<%= oauth_iparams.client_secret %>`"
                )),
        );
    }
    let token_type = required(members, "token_type", &owner, &what, diagnostics)
        .and_then(|t| token_type(t, diagnostics));
    let mut integration_options = IntegrationOptions::default();
    if let Some(options) = get(members, "options") {
        load_options(&options.value, &what, &mut integration_options, diagnostics);
    }
    let oauth_iparams = match get(members, "oauth_iparams") {
        Some(iparams) => load_oauth_iparams(&iparams.value, &what, diagnostics),
        None => Vec::new(),
    };
    // Broken values get stand-ins so templates naming this integration are still checked.
    let stand_in = |value: Option<TemplateString>| {
        value.unwrap_or_else(|| TemplateString::empty(owner.clone()))
    };
    Integration {
        name: name.cloned(),
        display_name,
        client_id: stand_in(client_id),
        client_secret: stand_in(client_secret),
        authorize_url: stand_in(authorize_url),
        token_url: stand_in(token_url),
        scope: integration_options.scope,
        custom_headers: integration_options.custom_headers,
        extra_params: integration_options.extra_params,
        token_type: token_type.unwrap_or_else(|| Spanned::new(TokenType::Account, owner.clone())),
        oauth_iparams,
        span: json.span.clone(),
    }
}

fn token_type(json: &Json, diagnostics: &mut Diagnostics) -> Option<Spanned<TokenType>> {
    let value = match json.as_string().map(|s| s.as_str()) {
        Some("account") => TokenType::Account,
        Some("agent") => TokenType::Agent,
        _ => {
            diagnostics.push(
                type_error(json, "`token_type`", "\"account\" or \"agent\"").with_help(
                    "`account`: one token for the installation; `agent`: one token per end user",
                ),
            );
            return None;
        }
    };
    Some(Spanned::new(value, json.span.clone()))
}

#[derive(Default)]
struct IntegrationOptions {
    scope: Option<Spanned<String>>,
    custom_headers: Vec<Header>,
    extra_params: Vec<(Spanned<String>, TemplateString)>,
}

fn load_options(
    json: &Json,
    integration: &str,
    out: &mut IntegrationOptions,
    diagnostics: &mut Diagnostics,
) {
    let what = format!("`options` of {integration}");
    let Some(members) = object(json, &what, diagnostics) else {
        return;
    };
    for member in members {
        let key = member.key.value.as_str();
        match key {
            "scope" => out.scope = scope(&member.value, diagnostics),
            "customHeaders" => {
                out.custom_headers =
                    super::requests::headers(&member.value, "`customHeaders`", diagnostics);
                for header in out
                    .custom_headers
                    .iter()
                    .filter(|h| h.is_literal_credential())
                {
                    diagnostics.push(
                        Diagnostic::warning(header.value.span.clone(), "a credential is written in the config file")
                            .with_help("it is never compiled in: on token requests the runtime sends `Authorization: Basic` built from the client id and the client secret it is given (the header FreshID expects); remove it from the file (and from version control)"),
                    );
                }
            }
            _ => {
                let value = match &member.value.kind {
                    JsonKind::String(s) => ParamValue::Text(s.as_str()),
                    JsonKind::Array(_) => ParamValue::List,
                    _ => ParamValue::Other,
                };
                let what = format!("`options.{key}`");
                if authorize_param_allowed(key, value, &what, &member.key.span, diagnostics)
                    && let JsonKind::String(s) = &member.value.kind
                {
                    out.extra_params
                        .push((member.key.clone(), parse_template(s, diagnostics)));
                }
            }
        }
    }
}

/// Applies the rule the runtime applies too (`oauth_rules::authorize_param`) to an authorize
/// parameter named at `span`; true when it is sent.
pub(super) fn authorize_param_allowed(
    key: &str,
    value: ParamValue<'_>,
    what: &str,
    span: &crate::source::Span,
    diagnostics: &mut Diagnostics,
) -> bool {
    match oauth_rules::authorize_param(key, value) {
        ParamRule::Send => true,
        ParamRule::Ignored { why, help } => {
            diagnostics.push(
                Diagnostic::warning(span.clone(), format!("{what} is ignored: {why}"))
                    .with_help(help),
            );
            false
        }
        ParamRule::Refused { why, help } => {
            diagnostics.push(
                Diagnostic::error(span.clone(), format!("{what} cannot be used: {why}"))
                    .with_help(help),
            );
            false
        }
    }
}

/// An endpoint is an absolute `https` URL (`http` only to loopback, as the runtime requires):
/// plain http elsewhere is an error, text that is no URL a warning. A URL starting with a
/// placeholder is checked when the runtime has its value.
fn check_endpoint(key: &str, url: &TemplateString, diagnostics: &mut Diagnostics) {
    let Some(Part::Text(start)) = url.parts.first() else {
        return;
    };
    let start = start.to_ascii_lowercase();
    let http_host = start.strip_prefix("http://").map(|rest| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // `[::1]:9000` keeps its brackets; a port goes.
        match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host.to_string(),
            _ => authority.to_string(),
        }
    });
    let loopback = oauth_rules::is_loopback_host;
    let help = "write the provider's endpoint as its documentation gives it, such as `https://provider.example/oauth/token`";
    match http_host {
        _ if start.starts_with("https://") => {}
        Some(host) if loopback(&host) => {}
        // A host that a placeholder completes (`http://<%= … %>`) is not known yet.
        Some(host) if host.is_empty() && url.parts.len() > 1 => {}
        // Beyond FDK, for the tokens' sake: the runtime refuses it.
        Some(_) => diagnostics.push(
            Diagnostic::error(
                url.span.clone(),
                format!("`{key}` must use https (plain http only to loopback)"),
            )
            .with_help(help),
        ),
        // FDK accepts it (Freshworks ships a sample with `"s"`); the runtime refuses it when
        // the integration is configured.
        None => diagnostics.push(
            Diagnostic::warning(
                url.span.clone(),
                format!("`{key}` is not an absolute `https://` URL: authorizing and refreshing fail until it is one"),
            )
            .with_help(help),
        ),
    }
}

/// The authorize URL's own query parameters, where they are literal text, under the rule of
/// `options` (the runtime drops the ignored ones and refuses the others when it parses the URL).
fn check_authorize_query(url: &TemplateString, diagnostics: &mut Diagnostics) {
    let mut in_query = false;
    for part in &url.parts {
        let Part::Text(text) = part else {
            continue;
        };
        let query = if in_query {
            text.as_str()
        } else if let Some((_, query)) = text.split_once('?') {
            in_query = true;
            query
        } else {
            continue;
        };
        let query = query.split('#').next().unwrap_or_default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            // Decoded as the runtime's URL parser decodes them (`response%5Ftype`).
            let (key, value) = (percent_decoded(key), percent_decoded(value));
            let what = format!("`{key}` in the authorize URL");
            authorize_param_allowed(
                &key,
                ParamValue::Text(&value),
                &what,
                &url.span,
                diagnostics,
            );
        }
    }
}

/// `text` with its `%XX` escapes and `+` decoded, as a query's pairs are read.
fn percent_decoded(text: &str) -> String {
    let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match (byte, hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(high), Some(low)) => {
                // Two hex digits make one byte: at most 255.
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'%'));
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (other, _, _) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `options.scope` as the authorize URL sends it: a string as written, an array joined with
/// spaces.
fn scope(json: &Json, diagnostics: &mut Diagnostics) -> Option<Spanned<String>> {
    match &json.kind {
        JsonKind::String(s) => Some(Spanned::new(s.as_str().to_string(), json.span.clone())),
        JsonKind::Array(items) => {
            let mut scopes = Vec::with_capacity(items.len());
            for item in items {
                match item.as_string() {
                    Some(s) => scopes.push(s.as_str()),
                    None => diagnostics.push(type_error(item, "a scope", "a string")),
                }
            }
            Some(Spanned::new(
                oauth_rules::scope_text(&scopes),
                json.span.clone(),
            ))
        }
        _ => {
            diagnostics.push(type_error(
                json,
                "`scope`",
                "a string of scopes separated by spaces (or commas, as Shopify writes them)",
            ));
            None
        }
    }
}

fn load_oauth_iparams(
    json: &Json,
    integration: &str,
    diagnostics: &mut Diagnostics,
) -> Vec<OAuthIparam> {
    let Some(members) = object(
        json,
        &format!("`oauth_iparams` of {integration}"),
        diagnostics,
    ) else {
        return Vec::new();
    };
    let mut params = Vec::with_capacity(members.len());
    for member in members {
        let what = format!("oauth_iparam `{}`", member.key.value);
        let Some(fields) = object(&member.value, &what, diagnostics) else {
            continue;
        };
        reject_unknown_keys(fields, OAUTH_IPARAM_KEYS, &what, diagnostics);
        let display_name = required(fields, "display_name", &member.key.span, &what, diagnostics)
            .and_then(|d| plain_string(d, "`display_name`", diagnostics))
            .map(|d| d.value);
        if let Some(kind) = get(fields, "type") {
            match kind.value.as_string().map(|s| s.as_str()) {
                Some("text") => {}
                _ => diagnostics.push(
                    type_error(&kind.value, "the `type` of an oauth_iparam", "\"text\"")
                        .with_help("OAuth installation parameters are text fields"),
                ),
            }
        }
        let mut flag = |key: &str| {
            get(fields, key)
                .and_then(|r| boolean(&r.value, &format!("`{key}`"), diagnostics))
                .unwrap_or(false)
        };
        let required = flag("required");
        let secure = flag("secure");
        params.push(OAuthIparam {
            name: member.key.clone(),
            display_name,
            required,
            secure,
        });
    }
    params
}
