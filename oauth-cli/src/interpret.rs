//! The plan interpreted: each step of a template sent to the runtime's composer, as the
//! generated method sends it, and each integration made the runtime's spec. Nothing here
//! decides what a template means; the plan did.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use oauth_codegen::model::Method;
use oauth_codegen::plan::{AppPlan, IntegrationPlan, Lookup, Missing, Piece, Step, Term, Text};
use oauth_codegen::plan::{IparamKind, TemplatePlan, Value};
use oauth_runtime::__private::{Compose, FixedPart, HeaderName, MethodKind, TemplateInfo, base64};
use oauth_runtime::spec::{IntegrationSpec, SpecPiece, SpecTerm, SpecValue};
use oauth_runtime::{RequestBuilder, Runtime, UserId};

/// An app's plan, ready to be sent through the runtime. The runtime's errors name templates
/// and placeholders by `&'static str`, as the generated code's constants do; so an
/// interpreter lives in a `static` (see [`Interpreter::new`]) and lends its plan's text.
pub struct Interpreter {
    plan: AppPlan,
    /// Each template's compile-time data, made from the plan at first use.
    infos: OnceLock<Box<[TemplateInfo]>>,
    query_keys: OnceLock<Box<[Box<[&'static str]>]>>,
}

/// The values a call gives: context fields by name (`ticket_id`), installation values by
/// label (`iparam.domain`, `current_host.endpoint_urls.x`), already as text.
#[derive(Debug, Clone, Default)]
pub struct Given {
    /// `context.NAME`, by `NAME`.
    pub context: HashMap<String, String>,
    /// Installation values, by label.
    pub iparams: HashMap<String, String>,
}

/// Why a request could not be composed from what was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotGiven {
    /// A context value the template needs (its field is not optional).
    Context(String),
    /// A required installation value (its label).
    Iparam(String),
    /// A header name the checker would have refused (the plan came from a config with errors).
    HeaderName(String),
}

impl std::fmt::Display for NotGiven {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotGiven::Context(name) => write!(f, "`context.{name}` has no value"),
            NotGiven::Iparam(label) => write!(f, "`{label}` has no value"),
            NotGiven::HeaderName(name) => write!(f, "`{name}` is not a valid header name"),
        }
    }
}

impl Interpreter {
    /// An interpreter of `plan`; keep it in a `static` (a `OnceLock`) to use it.
    pub fn new(plan: AppPlan) -> Interpreter {
        Interpreter {
            plan,
            infos: OnceLock::new(),
            query_keys: OnceLock::new(),
        }
    }

    /// The plan.
    pub fn plan(&self) -> &AppPlan {
        &self.plan
    }

    fn info(&'static self, index: usize) -> Option<&'static TemplateInfo> {
        let keys = self.query_keys.get_or_init(|| {
            let keys = self.plan.templates.iter().map(|t| {
                t.query_keys
                    .iter()
                    .map(String::as_str)
                    .collect::<Box<[_]>>()
            });
            keys.collect()
        });
        let infos = self.infos.get_or_init(|| {
            let infos = self.plan.templates.iter().zip(keys.iter());
            infos.map(|(t, keys)| template_info(t, keys)).collect()
        });
        infos.get(index)
    }

    /// The request of the template named `name`, composed from `given` as its generated
    /// method composes it; `user` for a template of an agent integration.
    pub fn compose(
        &'static self,
        runtime: &Runtime,
        name: &str,
        given: &Given,
        user: Option<&UserId>,
    ) -> Option<Result<RequestBuilder, NotGiven>> {
        let index = self.plan.templates.iter().position(|t| t.name == name)?;
        let template = self.plan.templates.get(index)?;
        let info = self.info(index)?;
        Some(self.compose_template(runtime, template, info, given, user))
    }

    fn compose_template(
        &'static self,
        runtime: &Runtime,
        template: &'static TemplatePlan,
        info: &'static TemplateInfo,
        given: &Given,
        user: Option<&UserId>,
    ) -> Result<RequestBuilder, NotGiven> {
        let values = Values {
            plan: &self.plan,
            template,
            given,
        };
        values.check()?;
        let mut request = Compose::new(runtime, info);
        if let Some(user) = user.filter(|_| template.auth.as_ref().is_some_and(|a| a.agent)) {
            request.user(user);
        }
        // The request's fixed part (the URL's fixed start, the headers of installation values)
        // goes through the same path as a generated client's first call (a client's later
        // calls copy it; the CLI makes one).
        let fixed = FixedPart::default();
        let (start, rest) = template.steps.split_at(template.fixed_steps);
        if !start.is_empty() && request.fixed(&fixed) {
            start
                .iter()
                .for_each(|step| values.step(&mut request, step));
            request.keep_fixed();
        }
        rest.iter().for_each(|step| values.step(&mut request, step));
        Ok(request.finish())
    }

    /// The runtime's spec of the integration whose tokens are stored under `key`.
    pub fn integration_spec(&'static self, key: &str) -> Option<IntegrationSpec> {
        self.plan.integration(key).map(integration_spec)
    }
}

fn template_info(template: &'static TemplatePlan, keys: &'static [&'static str]) -> TemplateInfo {
    TemplateInfo {
        name: &template.name,
        method: match template.method {
            Method::Get => MethodKind::Get,
            Method::Post => MethodKind::Post,
            Method::Put => MethodKind::Put,
            Method::Patch => MethodKind::Patch,
            Method::Delete => MethodKind::Delete,
        },
        https: template.https,
        integration: template.auth.as_ref().map(|a| a.integration.as_str()),
        max_attempts: template.max_attempts,
        retry_delay_ms: template.retry_delay_ms,
        query_keys: keys,
    }
}

/// The values of one call, read as the plan's terms.
struct Values<'g> {
    plan: &'static AppPlan,
    template: &'static TemplatePlan,
    given: &'g Given,
}

impl<'g> Lookup<'g> for Values<'g> {
    fn get(&self, term: &Term) -> Option<&'g str> {
        match term {
            Term::Context(index) => {
                let field = self.template.context.get(*index)?;
                self.given.context.get(&field.name).map(String::as_str)
            }
            Term::Iparam(index) => {
                let field = self.plan.iparams.get(*index)?;
                self.given.iparams.get(&field.label).map(String::as_str)
            }
            _ => None,
        }
    }

    fn encode(&self, text: &str) -> String {
        base64(text)
    }
}

impl Values<'_> {
    /// What the generated method's types require: every context field that is not an
    /// `Option`, and every required installation value the template reads.
    fn check(&self) -> Result<(), NotGiven> {
        for field in self.template.context.iter().filter(|f| !f.optional) {
            if !self.given.context.contains_key(&field.name) {
                return Err(NotGiven::Context(field.name.clone()));
            }
        }
        for value in self.template.steps.iter().flat_map(step_values) {
            for index in value.iparams_read() {
                if let Some(field) = self.plan.iparams.get(index)
                    && field.required
                    && !self.given.iparams.contains_key(&field.label)
                {
                    return Err(NotGiven::Iparam(field.label.clone()));
                }
            }
        }
        for step in &self.template.steps {
            if let Step::Header { name, .. } | Step::TokenHeader { name, .. } = step
                && HeaderName::from_bytes(name.as_bytes()).is_err()
            {
                return Err(NotGiven::HeaderName(name.clone()));
            }
        }
        Ok(())
    }

    fn step(&self, request: &mut Compose<'_>, step: &'static Step) {
        match step {
            Step::HostText(text) => request.host_text(text),
            Step::HostValue(value) => {
                let text = self.value(request, value);
                request.host_value(&value.label, &text);
            }
            Step::PathText(text) => request.path_text(text),
            Step::PathPrefix(value) => {
                let text = self.value(request, value);
                request.path_prefix_value(&value.label, &text);
            }
            Step::PathValue(value) => {
                let text = self.value(request, value);
                request.path_value(&value.label, &text);
            }
            Step::Query { key, value } => {
                let text = self.text(request, value);
                request.query(key, &text);
            }
            Step::Header {
                label,
                name,
                value,
                secret,
            } => {
                let text = self.text(request, value);
                if *secret {
                    request.secret_header(label, header_name(name), &text);
                } else {
                    request.header(label, header_name(name), &text);
                }
            }
            Step::TokenHeader {
                label,
                name,
                prefix,
                suffix,
            } => {
                let (prefix, suffix) = (self.text(request, prefix), self.text(request, suffix));
                request.token_header(label, header_name(name), prefix, suffix);
            }
            Step::ClientIdentity {
                certificate,
                key,
                ca,
            } => {
                let (certificate, key) =
                    (self.value(request, certificate), self.value(request, key));
                // An absent or empty `ca` is none, as in the generated code.
                let ca = ca.as_ref().and_then(|ca| ca.evaluate(self).ok());
                let ca = ca.as_deref().filter(|ca| !ca.is_empty());
                request.client_identity(&certificate, &key, ca);
            }
        }
    }

    fn text(&self, request: &mut Compose<'_>, text: &Text) -> String {
        let mut out = String::new();
        for piece in &text.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Value(value) => out.push_str(&self.value(request, value)),
            }
        }
        out
    }

    /// A value's text; an optional installation value it needs and lacks fails the request
    /// (`MissingIparam`), as in the generated code.
    fn value(&self, request: &mut Compose<'_>, value: &Value) -> String {
        match value.evaluate(self) {
            Ok(text) => text.into_owned(),
            Err(Missing::Iparam(index)) => {
                if let Some(field) = self.plan.iparams.get(index) {
                    request.require(&field.label, None);
                }
                String::new()
            }
            Err(Missing::OauthIparam(_)) => String::new(),
        }
    }
}

/// A header name from the plan, checked by `Values::check` before composing.
fn header_name(name: &str) -> HeaderName {
    HeaderName::from_bytes(name.as_bytes()).unwrap_or(HeaderName::from_static("x-unchecked"))
}

fn step_values(step: &Step) -> Vec<&Value> {
    match step {
        Step::HostValue(v) | Step::PathPrefix(v) | Step::PathValue(v) => vec![v],
        Step::Query { value, .. } | Step::Header { value, .. } => value.values().collect(),
        Step::TokenHeader { prefix, suffix, .. } => {
            prefix.values().chain(suffix.values()).collect()
        }
        Step::ClientIdentity {
            certificate, key, ..
        } => vec![certificate, key],
        Step::HostText(_) | Step::PathText(_) => Vec::new(),
    }
}

/// What a number or checkbox installation value is sent as, from the text given for it:
/// numbers as Rust prints an `f64` (`1.50` → `1.5`), checkboxes as `true`/`false`.
pub fn iparam_text(kind: IparamKind, text: &str) -> Result<String, &'static str> {
    match kind {
        IparamKind::Number => text
            .trim()
            .parse::<f64>()
            .map(|n| n.to_string())
            .map_err(|_| "a number"),
        IparamKind::Checkbox => match text.trim() {
            "true" | "false" => Ok(text.trim().to_string()),
            _ => Err("a checkbox: true or false"),
        },
        IparamKind::Text | IparamKind::Secret | IparamKind::Multiselect => Ok(text.to_string()),
    }
}

fn integration_spec(integration: &'static IntegrationPlan) -> IntegrationSpec {
    let pairs = |pairs: &'static [(String, Text)]| {
        pairs
            .iter()
            .map(|(key, value)| (key.as_str(), spec_value(value)))
            .collect::<Vec<_>>()
            .into()
    };
    IntegrationSpec {
        name: &integration.key,
        authorize_url: spec_value(&integration.authorize_url),
        token_url: spec_value(&integration.token_url),
        client_id: spec_value(&integration.client_id),
        client_secret: integration.client_secret.as_ref().map(spec_value),
        scope: integration.scope.as_deref(),
        token_headers: pairs(&integration.token_headers),
        authorize_params: pairs(&integration.authorize_params),
        agent: integration.agent,
    }
}

fn spec_value(text: &'static Text) -> SpecValue {
    SpecValue(Cow::Owned(
        text.0
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => SpecPiece::Text(text),
                Piece::Value(value) => {
                    SpecPiece::Expr(spec_terms(&value.terms), value.default.as_deref())
                }
            })
            .collect(),
    ))
}

fn spec_terms(terms: &'static [Term]) -> Cow<'static, [SpecTerm]> {
    Cow::Owned(
        terms
            .iter()
            .map(|term| match term {
                Term::Literal(text) => SpecTerm::Literal(text),
                Term::OauthIparam(name) => SpecTerm::Iparam(name),
                Term::Encode(inner) => SpecTerm::Encode(spec_terms(inner)),
                Term::Context(_) | Term::Iparam(_) | Term::Unresolved => SpecTerm::Literal(""),
            })
            .collect(),
    )
}
