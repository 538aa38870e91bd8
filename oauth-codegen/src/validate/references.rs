//! What a placeholder may name, and where.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::{Iparams, Template};
use crate::placeholder::{Path, TemplateString};
use crate::source::{Span, Spanned};
use crate::suggest;

/// Where in a request a value lands; decides which roots it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Position {
    Host,
    Path,
    Query,
    Header,
    /// `options.security`: the TLS client certificate, never sent as text.
    Security,
}

impl Position {
    fn name(self) -> &'static str {
        match self {
            Position::Host => "`host`",
            Position::Path => "`path`",
            Position::Query => "`query`",
            Position::Header => "headers",
            Position::Security => "`options.security`",
        }
    }
}

/// What a placeholder path refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reference<'p> {
    Context(&'p str),
    Iparam(&'p str),
    AccessToken,
    OAuthIparam(&'p str),
    /// `app_settings.a.b` and `current_host.endpoint_urls.p`: values supplied at installation.
    Platform,
}

const ROOTS: &[&str] = &[
    "context",
    "iparam",
    "access_token",
    "oauth_iparams",
    "app_settings",
    "current_host",
];

/// Resolves a path to what it names, or says why it names nothing.
pub(super) fn resolve(path: &Path) -> Result<Reference<'_>, Diagnostic> {
    let Some((root, fields)) = path.segments.split_first() else {
        return Err(Diagnostic::error(
            path.span.clone(),
            "empty placeholder name",
        ));
    };
    match root.value.as_str() {
        "context" => single_field(path, root, fields, "ticket_id").map(Reference::Context),
        "iparam" => single_field(path, root, fields, "domain").map(Reference::Iparam),
        "oauth_iparams" => single_field(path, root, fields, "domain").map(Reference::OAuthIparam),
        "access_token" if fields.is_empty() => Ok(Reference::AccessToken),
        "access_token" => Err(
            Diagnostic::error(path.span.clone(), "`access_token` has no fields")
                .with_help("write `<%= access_token %>`"),
        ),
        "app_settings" | "current_host" if !fields.is_empty() => Ok(Reference::Platform),
        "app_settings" | "current_host" => Err(Diagnostic::error(
            path.span.clone(),
            format!("`{}` needs a field name", root.value),
        )
        .with_help(format!("write `{}.name`", root.value))),
        unknown => Err(unknown_root(path, root.span.clone(), unknown, fields)),
    }
}

/// The one field of `context.x`, `iparam.x` or `oauth_iparams.x`.
fn single_field<'p>(
    path: &Path,
    root: &Spanned<String>,
    fields: &'p [Spanned<String>],
    example: &str,
) -> Result<&'p str, Diagnostic> {
    match fields {
        [field] => Ok(field.value.as_str()),
        [] => Err(Diagnostic::error(
            path.span.clone(),
            format!("`{}` needs a field name", root.value),
        )
        .with_help(format!("write `{}.{example}`", root.value))),
        [_, extra, ..] => {
            let flat: Vec<&str> = fields.iter().map(|f| f.value.as_str()).collect();
            Err(Diagnostic::error(
                extra.span.clone(),
                format!(
                    "`{}` values are not nested: `{}` has one field too many",
                    root.value,
                    path.dotted()
                ),
            )
            .with_help(format!(
                "use a flat name such as `{}.{}`",
                root.value,
                flat.join("_")
            )))
        }
    }
}

fn unknown_root(path: &Path, span: Span, root: &str, fields: &[Spanned<String>]) -> Diagnostic {
    let message = format!("unknown placeholder `{}`", path.dotted());
    let rest: Vec<&str> = fields.iter().map(|s| s.value.as_str()).collect();
    let help = if let Some(first_field) = rest.first().filter(|_| root == "query" || root == "body")
    {
        format!(
            "invoke-time {root} values are not placeholders: pass the value as `context.{first_field}`"
        )
    } else if rest.is_empty() {
        if root.contains("access_token") {
            format!(
                "`{root}` is not the OAuth token: only `access_token` is; pass other values as `context.{root}`"
            )
        } else {
            format!(
                "did you mean `context.{root}`? values given at each call are written `context.{root}`"
            )
        }
    } else if let Some(close) = suggest::did_you_mean(root, ROOTS.iter().copied()) {
        format!("did you mean `{close}.{}`?", rest.join("."))
    } else {
        "placeholders name `context.x` (given at each call), `iparam.x` (installation parameters), `access_token`, `app_settings.x` or `current_host.endpoint_urls.x`".to_string()
    };
    Diagnostic::error(span, message).with_help(help)
}

/// Checks every placeholder of one templated value of a request template.
pub(super) fn check_request_value(
    template: &Template,
    value: &TemplateString,
    position: Position,
    iparams: Option<&Iparams>,
    diagnostics: &mut Diagnostics,
) {
    for path in value.paths() {
        let reference = match resolve(path) {
            Ok(reference) => reference,
            Err(diagnostic) => {
                diagnostics.push(diagnostic);
                continue;
            }
        };
        match reference {
            Reference::Context(_) | Reference::Platform => {}
            Reference::Iparam(name) => check_iparam(path, name, position, iparams, diagnostics),
            Reference::AccessToken => {
                if position != Position::Header {
                    diagnostics.push(
                        Diagnostic::error(path.span.clone(), format!("`access_token` cannot be used in {}", position.name()))
                            .with_help("tokens travel in headers only, as in `\"Authorization\": \"Bearer <%= access_token %>\"`: a token in a URL ends up in logs"),
                    );
                } else if template.options.auth.is_none() {
                    diagnostics.push(
                        Diagnostic::error(path.span.clone(), format!("template `{}` uses `access_token` but names no OAuth integration", template.name.value))
                            .with_help("add `\"options\": { \"oauth\": \"<integration>\" }` (or `\"isOAuth\": true` with a legacy oauth_config.json)"),
                    );
                }
            }
            Reference::OAuthIparam(_) => diagnostics.push(
                Diagnostic::error(
                    path.span.clone(),
                    "`oauth_iparams` can only be used in `oauth_config.json`",
                )
                .with_help("in request templates use `iparam.x` for installation parameters"),
            ),
        }
    }
}

pub(super) fn check_iparam(
    path: &Path,
    name: &str,
    position: Position,
    iparams: Option<&Iparams>,
    diagnostics: &mut Diagnostics,
) {
    let Some(iparams) = iparams else { return };
    let Some(iparam) = iparams.params.iter().find(|p| p.name.value == name) else {
        let names = iparams.params.iter().map(|p| p.name.value.as_str());
        diagnostics.push(
            Diagnostic::error(
                path.span.clone(),
                format!("iparam `{name}` is not defined in `iparams.json`"),
            )
            .with_help(match suggest::did_you_mean(name, names) {
                Some(close) => format!("did you mean `iparam.{close}`?"),
                None => format!("add `{name}` to `config/iparams.json`"),
            }),
        );
        return;
    };
    if iparam.secure && !matches!(position, Position::Header | Position::Security) {
        diagnostics.push(
            Diagnostic::error(
                path.span.clone(),
                format!(
                    "secure iparam `{name}` cannot be used in {}",
                    position.name()
                ),
            )
            .with_related(iparam.name.span.clone(), "declared `secure` here")
            .with_help(
                "secure iparams are secrets: they may only be sent in headers, never in a URL",
            ),
        );
    }
}
