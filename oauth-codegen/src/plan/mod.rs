//! The plan: every decision about an app's templates, made once from a checked config.
//!
//! Rust names, field types, each template's integration, method, scheme, retries and the
//! ordered steps that compose its request are decided here and nowhere else. The macro
//! translates a plan to Rust (`codegen`); the CLI interprets it with the runtime's composition
//! functions. A parity test holds the two to the same requests.

mod fields;
mod value;

use std::collections::HashSet;

pub use fields::{ContextField, IparamField, IparamKind, Position};
pub use value::{Lookup, Missing, Piece, Term, Text, Value};

use crate::ident as names;
use crate::model::{
    AppConfig, Integration, Method, OAuthFormat, Protocol, QueryValue, Template, TokenType,
};
use crate::placeholder::{self, Part, TemplateString, render_expr, render_template};
use fields::{context_fields, iparam_fields};

/// `options.retryDelay` when a template retries and does not say how long to wait.
pub const DEFAULT_RETRY_DELAY_MS: u16 = 1000;

/// What an app's config decides, ready to be generated or interpreted.
#[derive(Debug, Clone)]
pub struct AppPlan {
    /// The installation's values (`iparam.*`, `app_settings.*`, `current_host.*`), each once.
    pub iparams: Vec<IparamField>,
    /// The OAuth integrations, each once by Rust name.
    pub integrations: Vec<IntegrationPlan>,
    /// Whether `oauth_config.json` is the legacy single-integration format.
    pub legacy_oauth: bool,
    /// The templates, each once by method name (two that map to one name are a config error).
    pub templates: Vec<TemplatePlan>,
}

/// One template, decided.
#[derive(Debug, Clone)]
pub struct TemplatePlan {
    /// Its name in `requests.json`.
    pub name: String,
    /// The client's method (`get_ticket`).
    pub method_name: String,
    /// Its context struct (`GetTicketContext`), generated when `context` is not empty.
    pub context_name: String,
    /// The values given at each call, in order of first use.
    pub context: Vec<ContextField>,
    /// The template as written, for docs.
    pub shown: Shown,
    /// Its method.
    pub method: Method,
    /// `https` (the default) or `http`.
    pub https: bool,
    /// The integration whose token it sends.
    pub auth: Option<TemplateAuth>,
    /// `options.maxAttempts` (1 when absent).
    pub max_attempts: u8,
    /// `options.retryDelay`, or [`DEFAULT_RETRY_DELAY_MS`] when it retries, else 0.
    pub retry_delay_ms: u16,
    /// The query keys the template sets itself (`Template::query_keys`).
    pub query_keys: Vec<String>,
    /// How the request is composed, in order.
    pub steps: Vec<Step>,
    /// The first `fixed_steps` steps are the request's fixed part: text and installation
    /// values only, the same at each call of one client, composed once per client. The URL's
    /// fixed start, then the headers made of text and installation values alone (moved before
    /// the other steps: a header's place among the headers does not matter, as no header is
    /// set twice). None when the host reads the context: a client keeps nothing then.
    pub fixed_steps: usize,
}

/// A template's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateAuth {
    /// The integration's key (its tokens are stored under it).
    pub integration: String,
    /// `token_type: agent`: the call names the end user whose token it sends.
    pub agent: bool,
}

/// A template as written, for the doc comment of its method.
#[derive(Debug, Clone)]
pub struct Shown {
    /// `GET https://{iparam.domain}/api/v2/tickets`.
    pub request: String,
    /// The `query` pairs (`include={context.include || 'requester'}`).
    pub query: Vec<String>,
}

/// One step of composing a request; each maps to one function of the runtime's composer.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Literal host text.
    HostText(String),
    /// A value in the host.
    HostValue(Value),
    /// Literal path text (a `?` in it starts the query).
    PathText(String),
    /// A value at the very start of the path: a path prefix (`/org/project`).
    PathPrefix(Value),
    /// A value inside the path: one segment (or a query value after a `?`).
    PathValue(Value),
    /// A pair of the template's `query`.
    Query {
        /// The key.
        key: String,
        /// The value.
        value: Text,
    },
    /// A header without the access token.
    Header {
        /// Its label in errors (`header X-Note`).
        label: String,
        /// Its name, lower case (checked when the config was read).
        name: String,
        /// Its value.
        value: Text,
        /// Whether its value reads a secure installation value: the header is marked
        /// sensitive (HTTP/2 never indexes it; `Debug` of the built `reqwest::Request` shows
        /// `Sensitive`).
        secret: bool,
    },
    /// A header carrying the access token between `prefix` and `suffix`.
    TokenHeader {
        /// Its label in errors (`header Authorization`).
        label: String,
        /// Its name, lower case.
        name: String,
        /// The text before the token (`Bearer `).
        prefix: Text,
        /// The text after it.
        suffix: Text,
    },
    /// The client certificate the request presents (`options.security`), each part PEM.
    ClientIdentity {
        /// `cert`.
        certificate: Value,
        /// `key`.
        key: Value,
        /// `ca`: an authority trusted beside the runtime's; none when absent or empty.
        ca: Option<Value>,
    },
}

impl Step {
    /// Whether this is the usual `Authorization: Bearer <%= access_token %>`.
    pub fn is_bearer(&self) -> bool {
        matches!(self, Step::TokenHeader { label, name, prefix, suffix }
            if label == "header Authorization"
                && name == "authorization"
                && prefix.as_literal().as_deref() == Some("Bearer ")
                && suffix.0.is_empty())
    }
}

/// One OAuth integration, decided.
#[derive(Debug, Clone)]
pub struct IntegrationPlan {
    /// The name its tokens are stored under.
    pub key: String,
    /// Its variant in the client's integrations enum (`Freshservice`).
    pub variant: String,
    /// `display_name`.
    pub display_name: Option<String>,
    /// `token_type: agent`.
    pub agent: bool,
    /// `authorize_url`.
    pub authorize_url: Text,
    /// `token_url`.
    pub token_url: Text,
    /// `client_id`.
    pub client_id: Text,
    /// `client_secret` when it comes from `oauth_iparams`; `None` when the file holds it as
    /// text, which is never compiled in (the runtime reads it from the environment).
    pub client_secret: Option<Text>,
    /// `options.scope`, as sent.
    pub scope: Option<String>,
    /// `options.customHeaders` sent on token requests (a literal `Authorization` is a
    /// credential, never compiled in: the runtime authenticates with the client's instead).
    pub token_headers: Vec<(String, Text)>,
    /// The other `options`: extra authorize URL parameters.
    pub authorize_params: Vec<(String, Text)>,
}

impl AppPlan {
    /// The plan of `app`. Works on configs with errors too (what they leave unresolved is a
    /// [`Term::Unresolved`]), so the macro still emits a skeleton for them.
    pub fn new(app: &AppConfig) -> AppPlan {
        let mut seen = HashSet::new();
        let iparams: Vec<IparamField> = iparam_fields(app)
            .into_iter()
            .filter(|f| seen.insert(f.ident.clone()))
            .collect();
        let mut seen = HashSet::new();
        let integrations = app
            .oauth
            .iter()
            .flat_map(|oauth| &oauth.integrations)
            .map(integration_plan)
            .filter(|i| seen.insert(i.variant.clone()))
            .collect();
        let mut seen = HashSet::new();
        let templates = app
            .templates
            .iter()
            .map(|t| (t, names::snake_case(&t.name.value)))
            .filter(|(_, method_name)| seen.insert(method_name.clone()))
            .map(|(t, method_name)| template_plan(app, t, method_name, &iparams))
            .collect();
        AppPlan {
            iparams,
            integrations,
            legacy_oauth: app
                .oauth
                .as_ref()
                .is_some_and(|o| o.format == OAuthFormat::Legacy),
            templates,
        }
    }

    /// The template named `name` in `requests.json`.
    pub fn template(&self, name: &str) -> Option<&TemplatePlan> {
        self.templates.iter().find(|t| t.name == name)
    }

    /// The integration whose tokens are stored under `key`.
    pub fn integration(&self, key: &str) -> Option<&IntegrationPlan> {
        self.integrations.iter().find(|i| i.key == key)
    }
}

fn template_plan(
    app: &AppConfig,
    template: &Template,
    method_name: String,
    iparams: &[IparamField],
) -> TemplatePlan {
    let mut seen = HashSet::new();
    let context: Vec<ContextField> = context_fields(template)
        .into_iter()
        .filter(|f| seen.insert(f.ident.clone()))
        .collect();
    let auth = template.options.auth.as_ref().map(|auth| TemplateAuth {
        integration: auth.value.key().to_string(),
        agent: app
            .oauth
            .as_ref()
            .and_then(|oauth| oauth.integration(&auth.value))
            .is_some_and(|i| i.token_type.value == TokenType::Agent),
    });
    let max_attempts = template
        .options
        .max_attempts
        .as_ref()
        .map_or(1, |m| m.value);
    let retry_delay_ms = template.options.retry_delay_ms.as_ref().map_or(
        if max_attempts > 1 {
            DEFAULT_RETRY_DELAY_MS
        } else {
            0
        },
        |r| r.value,
    );
    let resolve = Resolve {
        context: &context,
        iparams,
    };
    let (steps, fixed_steps) = steps(template, &resolve);
    TemplatePlan {
        name: template.name.value.clone(),
        method_name,
        context_name: format!("{}Context", names::upper_camel_case(&template.name.value)),
        shown: shown(template),
        method: template.schema.method.value,
        https: template.schema.protocol == Protocol::Https,
        auth,
        max_attempts,
        retry_delay_ms,
        query_keys: template.query_keys(),
        steps,
        fixed_steps,
        context,
    }
}

/// The steps of a template, and how many of them make its fixed part.
fn steps(template: &Template, resolve: &Resolve<'_>) -> (Vec<Step>, usize) {
    let schema = &template.schema;
    let mut steps = Vec::new();
    // The fixed start includes the whole host, or it is of no use: nothing is parsed before.
    let host = resolve.text(&schema.host);
    let mut fixed_steps = 0;
    let mut fixed = host.is_fixed();
    steps.extend(host.0.into_iter().map(|piece| match piece {
        Piece::Text(text) => Step::HostText(text),
        Piece::Value(value) => Step::HostValue(value),
    }));
    if fixed {
        fixed_steps = steps.len();
    }
    for (index, part) in schema.path.iter().flat_map(|p| &p.parts).enumerate() {
        let step = match part {
            Part::Text(text) => Step::PathText(text.clone()),
            Part::Placeholder(p) => {
                let value = resolve.value(&p.expr);
                fixed &= value.is_fixed();
                if index == 0 {
                    Step::PathPrefix(value)
                } else {
                    Step::PathValue(value)
                }
            }
        };
        steps.push(step);
        if fixed {
            fixed_steps = steps.len();
        }
    }
    for param in &schema.query {
        let value = match &param.value {
            QueryValue::Text(text) => resolve.text(text),
            QueryValue::Number(n) => Text::literal(&n.value),
            QueryValue::Bool(b) => Text::literal(&b.value.to_string()),
        };
        steps.push(Step::Query {
            key: param.name.value.clone(),
            value,
        });
    }
    let mut headers = Vec::new();
    for header in &schema.headers {
        let label = format!("header {}", header.name.value);
        let name = header.name.value.to_ascii_lowercase();
        let parts = &header.value.parts;
        let token_at = parts.iter().position(|part| match part {
            Part::Placeholder(p) => p.expr.is_access_token(),
            Part::Text(_) => false,
        });
        headers.push(match token_at {
            Some(at) => Step::TokenHeader {
                label,
                name,
                prefix: resolve.parts(parts.get(..at).unwrap_or_default()),
                suffix: resolve.parts(parts.get(at + 1..).unwrap_or_default()),
            },
            None => {
                let value = resolve.text(&header.value);
                Step::Header {
                    label,
                    name,
                    secret: resolve.reads_secret(&value),
                    value,
                }
            }
        });
    }
    // Headers of text and installation values are the same at each call of a client: made
    // with the URL's fixed start, kept with it (when it has one).
    if fixed_steps > 0 {
        let (fixed, other): (Vec<Step>, Vec<Step>) = headers
            .into_iter()
            .partition(|step| matches!(step, Step::Header { value, .. } if value.is_fixed()));
        let at = fixed_steps;
        fixed_steps += fixed.len();
        steps.splice(at..at, fixed);
        headers = other;
    }
    steps.extend(headers);
    if let Some(security) = &template.options.security {
        // Each is one placeholder (checked): its value.
        let value = |text: &TemplateString| match text.parts.as_slice() {
            [Part::Placeholder(p)] => resolve.value(&p.expr),
            _ => Value {
                label: render_template(text),
                terms: vec![Term::Unresolved],
                default: None,
            },
        };
        steps.push(Step::ClientIdentity {
            certificate: value(&security.certificate),
            key: value(&security.key),
            ca: security.ca.as_ref().map(value),
        });
    }
    (steps, fixed_steps)
}

fn shown(template: &Template) -> Shown {
    let schema = &template.schema;
    let scheme = match schema.protocol {
        Protocol::Https => "https",
        Protocol::Http => "http",
    };
    let path = schema
        .path
        .as_ref()
        .map_or_else(|| "/".to_string(), render_template);
    Shown {
        request: format!(
            "{} {scheme}://{}{path}",
            schema.method.value.as_str(),
            render_template(&schema.host)
        ),
        query: schema
            .query
            .iter()
            .map(|q| {
                let value = match &q.value {
                    QueryValue::Text(t) => render_template(t),
                    QueryValue::Number(n) => n.value.clone(),
                    QueryValue::Bool(b) => b.value.to_string(),
                };
                format!("{}={value}", q.name.value)
            })
            .collect(),
    }
}

fn integration_plan(integration: &Integration) -> IntegrationPlan {
    let key = integration.key().to_string();
    let text = |value: &TemplateString| Resolve::OAUTH.text(value);
    IntegrationPlan {
        variant: names::upper_camel_case(&key),
        display_name: integration.display_name.as_ref().map(|d| d.value.clone()),
        agent: integration.token_type.value == TokenType::Agent,
        authorize_url: text(&integration.authorize_url),
        token_url: text(&integration.token_url),
        client_id: text(&integration.client_id),
        client_secret: (integration.client_secret.placeholders().next().is_some())
            .then(|| text(&integration.client_secret)),
        scope: integration.scope.as_ref().map(|s| s.value.clone()),
        token_headers: integration
            .custom_headers
            .iter()
            .filter(|h| !h.is_literal_credential())
            .map(|h| (h.name.value.clone(), text(&h.value)))
            .collect(),
        authorize_params: integration
            .extra_params
            .iter()
            .map(|(k, v)| (k.value.clone(), text(v)))
            .collect(),
        key,
    }
}

/// Resolves the paths of placeholders to the plan's fields.
struct Resolve<'a> {
    context: &'a [ContextField],
    iparams: &'a [IparamField],
}

impl Resolve<'_> {
    /// For `oauth_config.json`, whose placeholders name `oauth_iparams` only.
    const OAUTH: Resolve<'static> = Resolve {
        context: &[],
        iparams: &[],
    };

    fn text(&self, text: &TemplateString) -> Text {
        self.parts(&text.parts)
    }

    /// Whether `text` reads a secure installation value.
    fn reads_secret(&self, text: &Text) -> bool {
        text.values().flat_map(Value::iparams_read).any(|index| {
            self.iparams
                .get(index)
                .is_some_and(|f| f.kind == IparamKind::Secret)
        })
    }

    fn parts(&self, parts: &[Part]) -> Text {
        Text(
            parts
                .iter()
                .map(|part| match part {
                    Part::Text(t) => Piece::Text(t.clone()),
                    Part::Placeholder(p) => Piece::Value(self.value(&p.expr)),
                })
                .collect(),
        )
    }

    fn value(&self, expr: &placeholder::Expr) -> Value {
        Value {
            label: render_expr(expr),
            terms: self.terms(&expr.terms),
            default: expr.default.as_ref().map(|d| d.value.text().to_string()),
        }
    }

    fn terms(&self, terms: &[placeholder::Term]) -> Vec<Term> {
        terms
            .iter()
            .map(|term| match term {
                placeholder::Term::Literal(literal) => {
                    Term::Literal(literal.value.text().to_string())
                }
                placeholder::Term::Encode { terms, .. } => Term::Encode(self.terms(terms)),
                placeholder::Term::Path(path) => self.path(path),
            })
            .collect()
    }

    fn path(&self, path: &placeholder::Path) -> Term {
        match path.segments.as_slice() {
            [root, name] if root.value == "context" => self
                .context
                .iter()
                .position(|f| f.name == name.value)
                .map_or(Term::Unresolved, Term::Context),
            [root, name] if root.value == "oauth_iparams" => Term::OauthIparam(name.value.clone()),
            _ => {
                let label = path.dotted();
                self.iparams
                    .iter()
                    .position(|f| f.label == label)
                    .map_or(Term::Unresolved, Term::Iparam)
            }
        }
    }
}

#[cfg(test)]
mod tests;
