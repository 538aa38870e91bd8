//! The fields of generated structs: a template's context values, and the installation's iparams.

use crate::ident;
use crate::model::{AppConfig, IparamType, QueryValue, Template};
use crate::placeholder::{Path, TemplateString, Term};

/// Where in a request a value lands (for doc comments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// The host.
    Host,
    /// The path.
    Path,
    /// A query value.
    Query,
    /// A header value.
    Header,
}

impl Position {
    /// Where, in words (`the path`).
    pub fn describe(self) -> &'static str {
        match self {
            Position::Host => "the host",
            Position::Path => "the path",
            Position::Query => "the query",
            Position::Header => "a header",
        }
    }
}

/// Every templated value of a template with its position, in file order.
pub(crate) fn positioned_values(template: &Template) -> Vec<(Position, &TemplateString)> {
    let schema = &template.schema;
    let mut values = vec![(Position::Host, &schema.host)];
    values.extend(schema.path.iter().map(|p| (Position::Path, p)));
    values.extend(schema.query.iter().filter_map(|q| match &q.value {
        QueryValue::Text(t) => Some((Position::Query, t)),
        _ => None,
    }));
    values.extend(schema.headers.iter().map(|h| (Position::Header, &h.value)));
    values
}

/// One field of a `…Context` struct.
#[derive(Debug, Clone)]
pub struct ContextField {
    /// The name after `context.`.
    pub name: String,
    /// The Rust field name.
    pub ident: String,
    /// `Option<String>`: every use of it has a `|| default`.
    pub optional: bool,
    /// Where it lands, each place once.
    pub positions: Vec<Position>,
}

/// The context fields of a template, in order of first use.
pub(crate) fn context_fields(template: &Template) -> Vec<ContextField> {
    let mut fields: Vec<ContextField> = Vec::new();
    for (position, value) in positioned_values(template) {
        for placeholder in value.placeholders() {
            let expr = &placeholder.expr;
            let alone_with_default = expr.default.is_some() && expr.terms.len() == 1;
            let mut paths = Vec::new();
            expr.collect_paths(&mut paths);
            for path in paths {
                let Some(name) = context_name(path) else {
                    continue;
                };
                let optional =
                    alone_with_default && matches!(expr.terms.first(), Some(Term::Path(_)));
                match fields.iter_mut().find(|f| f.name == name) {
                    Some(field) => {
                        field.optional &= optional;
                        if !field.positions.contains(&position) {
                            field.positions.push(position);
                        }
                    }
                    None => fields.push(ContextField {
                        name: name.to_string(),
                        ident: ident::snake_case(name),
                        optional,
                        positions: vec![position],
                    }),
                }
            }
        }
    }
    fields
}

fn context_name(path: &Path) -> Option<&str> {
    match path.segments.as_slice() {
        [root, field] if root.value == "context" => Some(field.value.as_str()),
        _ => None,
    }
}

/// The Rust type of an installation value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IparamKind {
    /// Text (`String`).
    Text,
    /// A secure value (`SecretString`), redacted everywhere but where it is sent.
    Secret,
    /// A number (`f64`), sent as Rust prints it.
    Number,
    /// A checkbox (`bool`), sent as `true` or `false`.
    Checkbox,
    /// Several values (`Vec<String>`), sent joined with `,`.
    Multiselect,
}

/// One field of the `…Iparams` struct.
#[derive(Debug, Clone)]
pub struct IparamField {
    /// As written in placeholders: `iparam.domain`, `app_settings.a.b`, `current_host.endpoint_urls.x`.
    pub label: String,
    /// The Rust field name.
    pub ident: String,
    /// Its type.
    pub kind: IparamKind,
    /// `Option<…>` when iparams.json says it is not required.
    pub required: bool,
}

/// Installation values: every iparam of `iparams.json` (or, without it, every one the templates
/// use), then the platform values the templates use.
pub(crate) fn iparam_fields(app: &AppConfig) -> Vec<IparamField> {
    let mut fields: Vec<IparamField> = Vec::new();
    if let Some(iparams) = &app.iparams {
        for param in &iparams.params {
            let kind = match (param.kind, param.secure) {
                (_, true) => IparamKind::Secret,
                (IparamType::Text, false) => IparamKind::Text,
                (IparamType::Number, false) => IparamKind::Number,
                (IparamType::Checkbox, false) => IparamKind::Checkbox,
                (IparamType::Multiselect, false) => IparamKind::Multiselect,
            };
            fields.push(IparamField {
                label: format!("iparam.{}", param.name.value),
                ident: ident::snake_case(&param.name.value),
                kind,
                required: param.required,
            });
        }
    }
    for template in &app.templates {
        let values = positioned_values(template)
            .into_iter()
            .map(|(_, value)| value);
        let security = template.options.security.iter().flat_map(|s| s.values());
        for value in values.chain(security.map(|(_, value)| value)) {
            for path in value.paths() {
                let Some((root, rest)) = path.segments.split_first() else {
                    continue;
                };
                let is_platform = matches!(root.value.as_str(), "app_settings" | "current_host")
                    && !rest.is_empty();
                let is_iparam = root.value == "iparam" && rest.len() == 1 && app.iparams.is_none();
                if !(is_platform || is_iparam) {
                    continue;
                }
                let label = path.dotted();
                if fields.iter().any(|f| f.label == label) {
                    continue;
                }
                let ident_source = if is_iparam {
                    rest.iter()
                        .map(|s| s.value.as_str())
                        .collect::<Vec<_>>()
                        .join("_")
                } else {
                    label.replace('.', "_")
                };
                // Without iparams.json nothing says which values are secure: one sent only in
                // credential headers (`Authorization: Basic <%= encode(iparam.api_key) %>`) is.
                // A client certificate's private key is, wherever it comes from.
                let kind = if (is_iparam && only_in_credential_headers(app, &label))
                    || is_security_key(app, &label)
                {
                    IparamKind::Secret
                } else {
                    IparamKind::Text
                };
                fields.push(IparamField {
                    ident: ident::snake_case(&ident_source),
                    label,
                    kind,
                    required: true,
                });
            }
        }
    }
    fields
}

/// Whether a template's `options.security.key` is the value `label`.
fn is_security_key(app: &AppConfig, label: &str) -> bool {
    app.templates.iter().any(|template| {
        template
            .options
            .security
            .as_ref()
            .is_some_and(|s| s.key.paths().iter().any(|p| p.dotted() == label))
    })
}

/// Whether every use of the value `label` in the templates is in a header that carries a
/// credential (by its name, `oauth_rules::is_credential_header`).
fn only_in_credential_headers(app: &AppConfig, label: &str) -> bool {
    let mut used = false;
    for template in &app.templates {
        let uses = |value: &TemplateString| value.paths().iter().any(|p| p.dotted() == label);
        let schema = &template.schema;
        let outside_headers = uses(&schema.host)
            || schema.path.as_ref().is_some_and(uses)
            || schema.query.iter().any(|q| match &q.value {
                QueryValue::Text(t) => uses(t),
                _ => false,
            });
        if outside_headers {
            return false;
        }
        for header in &schema.headers {
            if uses(&header.value) {
                if !oauth_rules::is_credential_header(&header.name.value) {
                    return false;
                }
                used = true;
            }
        }
    }
    used
}
