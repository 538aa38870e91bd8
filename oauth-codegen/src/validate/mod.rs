//! Rules that look across templates and files: what placeholders name, which integration a
//! template uses, manifest declarations, and Rust name collisions.

mod references;
mod security;

use std::collections::HashMap;

use references::{Position, Reference, check_request_value, resolve};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::ident;
use crate::model::{
    AppConfig, AuthRef, Integration, OAuthConfig, OAuthFormat, QueryValue, Template,
};
use crate::placeholder::TemplateString;
use crate::source::Span;
use crate::suggest;

/// Checks the rules that relate templates to each other and to the other files.
pub(crate) fn validate(app: &AppConfig, diagnostics: &mut Diagnostics) {
    for template in &app.templates {
        check_template_references(app, template, diagnostics);
        check_auth(app, template, diagnostics);
        security::check_security(app, template, diagnostics);
    }
    if let Some(oauth) = &app.oauth {
        for integration in &oauth.integrations {
            check_integration_references(integration, diagnostics);
        }
    }
    check_manifest(app, diagnostics);
    check_method_names(&app.templates, diagnostics);
}

fn check_template_references(app: &AppConfig, template: &Template, diagnostics: &mut Diagnostics) {
    let schema = &template.schema;
    let iparams = app.iparams.as_ref();
    check_request_value(template, &schema.host, Position::Host, iparams, diagnostics);
    if let Some(path) = &schema.path {
        check_request_value(template, path, Position::Path, iparams, diagnostics);
    }
    for param in &schema.query {
        if let QueryValue::Text(value) = &param.value {
            check_request_value(template, value, Position::Query, iparams, diagnostics);
        }
    }
    for header in &schema.headers {
        check_request_value(
            template,
            &header.value,
            Position::Header,
            iparams,
            diagnostics,
        );
        check_token_placeholder(&header.value, diagnostics);
    }
    check_context_fields(template, diagnostics);
    check_secrets_go_to_a_fixed_host(app, template, diagnostics);
}

/// The token and secure iparams go only to a host fixed per installation (literal text,
/// iparams, `current_host`): a host holding a value given at each call would let the caller
/// decide where they go.
fn check_secrets_go_to_a_fixed_host(
    app: &AppConfig,
    template: &Template,
    diagnostics: &mut Diagnostics,
) {
    let schema = &template.schema;
    // A loopback host written as such, its port given at the call (as tests do), keeps the
    // secret on this machine.
    if let Some(crate::placeholder::Part::Text(start)) = schema.host.parts.first()
        && let Some((name, _)) = start.split_once(':')
        && matches!(name, "127.0.0.1" | "localhost")
    {
        return;
    }
    let Some(chosen) = schema
        .host
        .paths()
        .into_iter()
        .find(|p| matches!(resolve(p), Ok(Reference::Context(_))))
    else {
        return;
    };
    let secure = |name: &str| {
        app.iparams
            .as_ref()
            .is_some_and(|i| i.params.iter().any(|p| p.secure && p.name.value == name))
    };
    for header in &schema.headers {
        // An installation value in a credential header is a secret even when not declared
        // `secure`: a warning there (real apps do it, and FDK accepts it), an error for the
        // token and for what is declared secure.
        let credential = oauth_rules::is_credential_header(&header.name.value);
        for path in header.value.paths() {
            let (what, error) = match resolve(path) {
                Ok(Reference::AccessToken) => ("the access token".to_string(), true),
                Ok(Reference::Iparam(name)) if secure(name) => {
                    (format!("secure iparam `{name}`"), true)
                }
                Ok(Reference::Iparam(name)) if credential => (
                    format!(
                        "iparam `{name}`, sent in the credential header `{}`,",
                        header.name.value
                    ),
                    false,
                ),
                _ => continue,
            };
            let message = format!("{what} would go to a host chosen at each call");
            let diagnostic = if error {
                Diagnostic::error(path.span.clone(), message)
            } else {
                Diagnostic::warning(path.span.clone(), message)
            };
            diagnostics.push(
                diagnostic
                    .with_related(chosen.span.clone(), format!("`{}` decides the host", chosen.dotted()))
                    .with_help("take the host from an iparam (fixed per installation) or write it in the template: a value given at each call must not decide where a secret goes"),
            );
        }
    }
}

/// The token is filled in at send time, so it must stand alone: `<%= access_token %>`, once.
fn check_token_placeholder(value: &TemplateString, diagnostics: &mut Diagnostics) {
    let mut seen = false;
    for placeholder in value.placeholders() {
        let mut paths = Vec::new();
        placeholder.expr.collect_paths(&mut paths);
        if !paths
            .iter()
            .any(|p| resolve(p) == Ok(Reference::AccessToken))
        {
            continue;
        }
        if !placeholder.expr.is_access_token() {
            diagnostics.push(
                Diagnostic::error(placeholder.span.clone(), "`access_token` must stand alone in its placeholder")
                    .with_help("write `<%= access_token %>`, with any text around it outside the placeholder: `Bearer <%= access_token %>`"),
            );
        } else if seen {
            diagnostics.push(
                Diagnostic::error(
                    placeholder.span.clone(),
                    "`access_token` appears twice in one header",
                )
                .with_help("send the token once per header"),
            );
        }
        seen = true;
    }
}

/// Every string value of a template, in file order.
fn template_values(template: &Template) -> impl Iterator<Item = &TemplateString> {
    let schema = &template.schema;
    std::iter::once(&schema.host)
        .chain(schema.path.as_ref())
        .chain(schema.query.iter().filter_map(|q| match &q.value {
            QueryValue::Text(value) => Some(value),
            _ => None,
        }))
        .chain(schema.headers.iter().map(|h| &h.value))
}

/// Two context names that become the same Rust field (`ticketId`, `ticket_id`) are an error.
fn check_context_fields(template: &Template, diagnostics: &mut Diagnostics) {
    let mut fields: HashMap<String, (&str, &Span)> = HashMap::new();
    for value in template_values(template) {
        for path in value.paths() {
            let Ok(Reference::Context(name)) = resolve(path) else {
                continue;
            };
            let rust_name = ident::snake_case(name);
            match fields.get(&rust_name) {
                Some((first, first_span)) if *first != name => diagnostics.push(
                    Diagnostic::error(path.span.clone(), format!("`context.{name}` and `context.{first}` both become the field `{rust_name}`"))
                        .with_related((*first_span).clone(), "the other name")
                        .with_help("use one spelling for the value throughout the template"),
                ),
                Some(_) => {}
                None => {
                    fields.insert(rust_name, (name, &path.span));
                }
            }
        }
    }
}

fn check_auth(app: &AppConfig, template: &Template, diagnostics: &mut Diagnostics) {
    let Some(auth) = &template.options.auth else {
        return;
    };
    let span = auth.span.clone();
    match (&auth.value, &app.oauth) {
        (AuthRef::Integration(name), None) => diagnostics.push(
            Diagnostic::error(span, format!("`options.oauth` names integration `{name}`, but the app has no `oauth_config.json`"))
                .with_help("add `config/oauth_config.json` with an `integrations` entry for it"),
        ),
        (AuthRef::Legacy, None) => diagnostics.push(
            Diagnostic::error(span, "`isOAuth` is set, but the app has no `oauth_config.json`")
                .with_help("add `config/oauth_config.json`, or remove `isOAuth`"),
        ),
        (AuthRef::Integration(name), Some(oauth)) if oauth.format == OAuthFormat::Legacy => diagnostics.push(
            Diagnostic::error(span, format!("`options.oauth` names integration `{name}`, but `oauth_config.json` is in the legacy single format"))
                .with_help("use `\"isOAuth\": true`, or move the config under `\"integrations\": { \"name\": { … } }`"),
        ),
        (AuthRef::Integration(name), Some(oauth)) if oauth.integration(&auth.value).is_none() => {
            let names = integration_names(oauth);
            let help = suggest::help(name, names.iter().copied())
                .unwrap_or_else(|| format!("the integrations are {}", backticked(&names)));
            diagnostics.push(
                Diagnostic::error(span, format!("unknown integration `{name}`"))
                    .with_related(integrations_span(oauth), "integrations are defined in this file")
                    .with_help(help),
            );
        }
        (AuthRef::Legacy, Some(oauth)) if oauth.format == OAuthFormat::Multi => {
            let names = integration_names(oauth);
            let help = match names.as_slice() {
                [only] => format!("write `\"oauth\": \"{only}\"` instead"),
                _ => format!("write `\"oauth\": \"<name>\"` with one of {}", backticked(&names)),
            };
            diagnostics.push(
                Diagnostic::error(span, "`isOAuth` is for the legacy single-integration `oauth_config.json`, but this one has `integrations`")
                    .with_help(help),
            );
        }
        _ => {}
    }
    let sends_token = template_values(template)
        .flat_map(|v| v.paths())
        .any(|path| resolve(path) == Ok(Reference::AccessToken));
    if !sends_token {
        diagnostics.push(
            Diagnostic::warning(
                template.name.span.clone(),
                format!(
                    "template `{}` has an OAuth integration but never sends its token",
                    template.name.value
                ),
            )
            .with_related(auth.span.clone(), "integration chosen here")
            .with_help("add `\"Authorization\": \"Bearer <%= access_token %>\"` to `headers`"),
        );
    }
}

fn integration_names(oauth: &OAuthConfig) -> Vec<&str> {
    oauth
        .integrations
        .iter()
        .filter_map(|i| i.name.as_ref().map(|n| n.value.as_str()))
        .collect()
}

fn integrations_span(oauth: &OAuthConfig) -> Span {
    oauth
        .integrations
        .first()
        .and_then(|i| i.name.as_ref().map(|n| n.span.clone()))
        .unwrap_or_else(|| Span::new(oauth.file, 0..0))
}

fn backticked(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// OAuth config values may name only their own integration's `oauth_iparams`.
fn check_integration_references(integration: &Integration, diagnostics: &mut Diagnostics) {
    let declared: Vec<&str> = integration
        .oauth_iparams
        .iter()
        .map(|p| p.name.value.as_str())
        .collect();
    let mut used = vec![false; declared.len()];
    let values = [
        &integration.client_id,
        &integration.client_secret,
        &integration.authorize_url,
        &integration.token_url,
    ];
    let values = values
        .into_iter()
        .chain(integration.custom_headers.iter().map(|h| &h.value))
        .chain(integration.extra_params.iter().map(|(_, v)| v));
    for value in values {
        for path in value.paths() {
            match resolve(path) {
                Ok(Reference::OAuthIparam(name)) => match declared.iter().position(|d| *d == name) {
                    Some(index) => {
                        if let Some(flag) = used.get_mut(index) {
                            *flag = true;
                        }
                    }
                    None => diagnostics.push(
                        Diagnostic::error(path.span.clone(), format!("oauth_iparam `{name}` is not declared"))
                            .with_help(match suggest::did_you_mean(name, declared.iter().copied()) {
                                Some(close) => format!("did you mean `oauth_iparams.{close}`?"),
                                None => format!("declare it under `oauth_iparams` of this integration: `\"{name}\": {{ \"display_name\": \"…\", \"type\": \"text\", \"required\": true }}`"),
                            }),
                    ),
                },
                Ok(_) => diagnostics.push(
                    Diagnostic::error(path.span.clone(), format!("`{}` cannot be used in `oauth_config.json`", path.dotted()))
                        .with_help("OAuth settings may use only `oauth_iparams.x`, declared under the integration's `oauth_iparams`"),
                ),
                Err(diagnostic) => diagnostics.push(diagnostic),
            }
        }
    }
    for (param, used) in integration.oauth_iparams.iter().zip(used) {
        if !used {
            diagnostics.push(
                Diagnostic::warning(param.name.span.clone(), format!("oauth_iparam `{}` is declared but never used", param.name.value))
                    .with_help(format!("use it as `<%= oauth_iparams.{} %>` or remove it: users would be asked for it at installation", param.name.value)),
            );
        }
    }
}

fn check_manifest(app: &AppConfig, diagnostics: &mut Diagnostics) {
    let Some(manifest) = &app.manifest else {
        return;
    };
    for declared in &manifest.declared {
        if !app.templates.iter().any(|t| t.name.value == declared.value) {
            let names = app.templates.iter().map(|t| t.name.value.as_str());
            diagnostics.push(
                Diagnostic::error(
                    declared.span.clone(),
                    format!(
                        "template `{}` is declared in the manifest but not defined",
                        declared.value
                    ),
                )
                .with_help(match suggest::did_you_mean(&declared.value, names) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!(
                        "define `{}` in `config/requests.json`, or remove it from the manifest",
                        declared.value
                    ),
                }),
            );
        }
    }
    for template in &app.templates {
        if !manifest
            .declared
            .iter()
            .any(|d| d.value == template.name.value)
        {
            let place = if manifest.has_requests_section {
                "the manifest's `requests`"
            } else {
                "the manifest (it has no `requests` section)"
            };
            diagnostics.push(
                Diagnostic::warning(template.name.span.clone(), format!("template `{}` is not declared in {place}", template.name.value))
                    .with_help(format!("FDK refuses undeclared templates: add `\"{}\": {{}}` under `modules.common.requests`", template.name.value)),
            );
        }
    }
}

/// Two templates whose Rust method names are equal cannot both be generated.
fn check_method_names(templates: &[Template], diagnostics: &mut Diagnostics) {
    let mut seen: HashMap<String, &Template> = HashMap::new();
    for template in templates {
        let method = ident::snake_case(&template.name.value);
        if method == "new" {
            diagnostics.push(
                Diagnostic::error(template.name.span.clone(), format!("template `{}` would become the method `new`, which is the client's constructor", template.name.value))
                    .with_help("rename the template (and its manifest entry)"),
            );
            continue;
        }
        match seen.get(&method) {
            // The same name twice is a duplicate JSON key, reported by the parser.
            Some(first) if first.name.value == template.name.value => {}
            Some(first) => diagnostics.push(
                Diagnostic::error(
                    template.name.span.clone(),
                    format!(
                        "templates `{}` and `{}` both become the method `{method}`",
                        first.name.value, template.name.value
                    ),
                )
                .with_related(first.name.span.clone(), "the other template")
                .with_help("rename one of them"),
            ),
            None => {
                seen.insert(method, template);
            }
        }
    }
}
