//! `oauth-templates invoke TEMPLATE`: sends one template, its values given on the command line,
//! through the same runtime functions the generated code calls.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use oauth_codegen::model::{AuthRef, Method, Protocol, QueryValue, Template};
use oauth_codegen::placeholder::{Expr, Part, TemplateString, Term};
use oauth_codegen::render_expr;
use oauth_runtime::__private::{Compose, HeaderName, MethodKind, TemplateInfo};
use oauth_runtime::{InvokeError, Runtime, TokenKey, UserId};

use crate::app::{self, Failed, fail};

pub(crate) struct Invoke<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) template: &'a str,
    pub(crate) store: Option<&'a Path>,
    pub(crate) context: &'a [String],
    pub(crate) iparams: &'a [String],
    pub(crate) oauth_iparams: &'a [String],
    pub(crate) user: Option<&'a str>,
    pub(crate) body: Option<&'a str>,
}

pub(crate) fn run(args: Invoke<'_>) -> ExitCode {
    match invoke(&args) {
        Ok(code) => code,
        Err(Failed) => ExitCode::FAILURE,
    }
}

/// The values placeholders are filled with: `context.x`, `iparam.x` and the platform's.
struct Values {
    by_path: HashMap<String, String>,
}

impl Values {
    fn get(&self, path: &str) -> Option<&str> {
        self.by_path.get(path).map(String::as_str)
    }

    /// The text of `expr`; `Err(path)` when a value it needs was not given. As in the
    /// generated code, the `||` default stands in for a single absent or empty value; inside a
    /// concatenation every value is required.
    fn expr(&self, expr: &Expr) -> Result<String, String> {
        let single = matches!(expr.terms.as_slice(), [Term::Path(_)]);
        match (self.concat(&expr.terms), &expr.default) {
            (Ok(text), Some(default)) if text.is_empty() => Ok(default.value.text().to_string()),
            (Err(_), Some(default)) if single => Ok(default.value.text().to_string()),
            (result, _) => result,
        }
    }

    fn concat(&self, terms: &[Term]) -> Result<String, String> {
        let mut out = String::new();
        for term in terms {
            match term {
                Term::Literal(literal) => out.push_str(literal.value.text()),
                Term::Encode { terms, .. } => {
                    out.push_str(&oauth_runtime::__private::base64(&self.concat(terms)?));
                }
                Term::Path(path) => {
                    let dotted = path.dotted();
                    out.push_str(self.get(&dotted).ok_or(dotted)?);
                }
            }
        }
        Ok(out)
    }

    fn text(&self, text: &TemplateString) -> Result<String, String> {
        let mut out = String::new();
        for part in &text.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Placeholder(p) => out.push_str(&self.expr(&p.expr)?),
            }
        }
        Ok(out)
    }
}

fn invoke(args: &Invoke<'_>) -> Result<ExitCode, Failed> {
    let app = app::load(args.dir)?;
    let Some(template) = app.templates.iter().find(|t| t.name.value == args.template) else {
        return fail(format!(
            "no template `{}` in config/requests.json (there are: {})",
            args.template,
            app.templates
                .iter()
                .map(|t| t.name.value.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let mut by_path = HashMap::new();
    for (key, value) in app::pairs(args.context, "--context")? {
        by_path.insert(format!("context.{key}"), value);
    }
    for (key, value) in app::pairs(args.iparams, "--iparam")? {
        // `domain` is `iparam.domain`; `app_settings.a.b` and the like are given whole.
        let value = typed_iparam(&app, &key, value)?;
        let path = if key.contains('.') {
            key
        } else {
            format!("iparam.{key}")
        };
        by_path.insert(path, value);
    }
    let values = Values { by_path };

    let integration = template
        .options
        .auth
        .as_ref()
        .map(|auth| match &auth.value {
            AuthRef::Integration(name) => name.clone(),
            AuthRef::Legacy => "oauth".to_string(),
        });
    let mut builder = Runtime::builder().store(app::store(args.dir, args.store)?);
    let mut agent = false;
    if let Some(name) = &integration {
        let spec = app::spec(app::integration(&app, name)?);
        agent = spec.agent;
        let lookup = app::oauth_iparams(args.oauth_iparams)?;
        match spec.configure(&lookup, &|var| std::env::var(var).ok()) {
            Ok(config) => builder = builder.integration(config),
            Err(error) => {
                eprintln!("note: the token will be used as stored, not refreshed: {error}")
            }
        }
    }
    let runtime = builder.build().or_else(fail)?;
    let user = match (agent, args.user) {
        (true, Some(user)) => Some(UserId::new(user)),
        (true, None) => return fail("the template sends a user's token: pass --user ID"),
        (false, _) => None,
    };
    let mut request = compose(&runtime, template, &values, user.as_ref())?;
    if let Some(body) = args.body {
        let text = match body.strip_prefix('@') {
            Some(file) => {
                std::fs::read_to_string(file).or_else(|e| fail(format!("{file}: {e}")))?
            }
            None => body.to_string(),
        };
        request = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(json) => request.json(&json),
            Err(_) => request.body(text),
        };
    }
    // Every secret this call may send, to redact wherever a server echoes one back: the values
    // given on the command line, the client secret, and the tokens stored before and after
    // the call (a refresh may replace them).
    let mut sent: Vec<String> = values.by_path.values().cloned().collect();
    sent.extend(app::oauth_iparams_given(args.oauth_iparams)?);
    sent.extend(
        std::env::vars()
            .filter(|(name, _)| name.starts_with("OAUTH_IPARAM_"))
            .map(|(_, value)| value),
    );
    let key = integration.as_ref().map(|name| match &user {
        Some(user) => TokenKey::user(name.clone(), user.clone()),
        None => TokenKey::installation(name.clone()),
    });
    if let Some(name) = &integration {
        let variable = oauth_rules::client_variable(name, oauth_rules::ClientVariable::Secret);
        sent.extend(std::env::var(variable).ok());
    }
    app::block_on(async {
        sent.extend(stored_tokens(&runtime, key.as_ref()).await);
        let result = request.send().await;
        sent.extend(stored_tokens(&runtime, key.as_ref()).await);
        let redact = Redact::new(&sent);
        match result {
            Ok(response) => {
                print_response(
                    response.status(),
                    response.headers(),
                    &response.text(),
                    &redact,
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(InvokeError::Status {
                status,
                headers,
                body,
                ..
            }) => {
                print_response(status, &headers, &String::from_utf8_lossy(&body), &redact);
                Ok(ExitCode::FAILURE)
            }
            Err(error) => {
                // As rustc and the checker do: the error first, then its help.
                eprintln!("error: {error}");
                if let InvokeError::ReauthorizationRequired { integration, .. } = &error {
                    eprintln!("help: run `oauth-templates authorize {integration}`");
                }
                Err(Failed)
            }
        }
    })?
}

/// The request, composed as the generated method would compose it.
fn compose(
    runtime: &Runtime,
    template: &Template,
    values: &Values,
    user: Option<&UserId>,
) -> Result<oauth_runtime::RequestBuilder, Failed> {
    let attempts = template
        .options
        .max_attempts
        .as_ref()
        .map_or(1, |m| m.value);
    let info: &'static TemplateInfo = Box::leak(Box::new(TemplateInfo {
        name: app::leak_str(&template.name.value),
        method: match template.schema.method.value {
            Method::Get => MethodKind::Get,
            Method::Post => MethodKind::Post,
            Method::Put => MethodKind::Put,
            Method::Patch => MethodKind::Patch,
            Method::Delete => MethodKind::Delete,
        },
        https: template.schema.protocol == Protocol::Https,
        integration: template
            .options
            .auth
            .as_ref()
            .map(|auth| match &auth.value {
                AuthRef::Integration(name) => app::leak_str(name),
                AuthRef::Legacy => "oauth",
            }),
        max_attempts: attempts,
        retry_delay_ms: template
            .options
            .retry_delay_ms
            .as_ref()
            .map_or(if attempts > 1 { 1000 } else { 0 }, |r| r.value),
        query_keys: Box::leak(
            template
                .query_keys()
                .iter()
                .map(|key| app::leak_str(key))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        ),
    }));
    let mut request = Compose::new(runtime, info);
    if let Some(user) = user {
        request.user(user);
    }
    for part in &template.schema.host.parts {
        match part {
            Part::Text(text) => request.host_text(text),
            Part::Placeholder(p) => {
                let value = values.expr(&p.expr).map_err(missing)?;
                request.host_value(app::leak_str(&render_expr(&p.expr)), &value);
            }
        }
    }
    if let Some(path) = &template.schema.path {
        for (index, part) in path.parts.iter().enumerate() {
            match part {
                Part::Text(text) => request.path_text(text),
                Part::Placeholder(p) => {
                    let label = app::leak_str(&render_expr(&p.expr));
                    let value = values.expr(&p.expr).map_err(missing)?;
                    if index == 0 {
                        request.path_prefix_value(label, &value);
                    } else {
                        request.path_value(label, &value);
                    }
                }
            }
        }
    }
    for param in &template.schema.query {
        let value = match &param.value {
            QueryValue::Text(text) => values.text(text).map_err(missing)?,
            QueryValue::Number(n) => n.value.clone(),
            QueryValue::Bool(b) => b.value.to_string(),
        };
        request.query(&param.name.value, &value);
    }
    for header in &template.schema.headers {
        // The checker refused invalid names when the app was loaded.
        let Ok(name) = HeaderName::from_bytes(header.name.value.to_ascii_lowercase().as_bytes())
        else {
            return fail(format!(
                "`{}` is not a valid header name",
                header.name.value
            ));
        };
        let label = app::leak_str(&format!("header {}", header.name.value));
        let parts = &header.value.parts;
        let token_at = parts
            .iter()
            .position(|part| matches!(part, Part::Placeholder(p) if p.expr.is_access_token()));
        match token_at {
            Some(at) => {
                let text = |parts: &[Part]| {
                    values.text(&TemplateString::from_parts(
                        parts.to_vec(),
                        header.value.span.clone(),
                    ))
                };
                let prefix = text(parts.get(..at).unwrap_or_default()).map_err(missing)?;
                let suffix = text(parts.get(at + 1..).unwrap_or_default()).map_err(missing)?;
                request.token_header(label, name, prefix, suffix);
            }
            None => {
                let value = values.text(&header.value).map_err(missing)?;
                request.header(label, name, &value);
            }
        }
    }
    Ok(request.finish())
}

/// An iparam's text as the generated code sends it: numbers through `f64` (`1.50` → `1.5`),
/// checkboxes as `true`/`false`, per `iparams.json` when the app has one.
fn typed_iparam(
    app: &oauth_codegen::model::AppConfig,
    name: &str,
    value: String,
) -> Result<String, Failed> {
    use oauth_codegen::model::IparamType;
    let declared = app
        .iparams
        .as_ref()
        .and_then(|i| i.params.iter().find(|p| p.name.value == name));
    match declared.map(|p| &p.kind) {
        Some(IparamType::Number) => match value.trim().parse::<f64>() {
            Ok(number) => Ok(number.to_string()),
            Err(_) => fail(format!(
                "--iparam {name} is a number in iparams.json, not `{value}`"
            )),
        },
        Some(IparamType::Checkbox) => match value.trim() {
            "true" | "false" => Ok(value.trim().to_string()),
            _ => fail(format!(
                "--iparam {name} is a checkbox in iparams.json: true or false"
            )),
        },
        _ => Ok(value),
    }
}

/// A value the template needs was not given.
fn missing(path: String) -> Failed {
    eprintln!("error: `{path}` has no value: pass it with --context or --iparam");
    Failed
}

/// The tokens stored for `key`, if any.
async fn stored_tokens(runtime: &Runtime, key: Option<&TokenKey>) -> Vec<String> {
    let (Some(store), Some(key)) = (runtime.store(), key) else {
        return Vec::new();
    };
    match store.load(key).await {
        Ok(Some(current)) => {
            let tokens = &current.record.tokens;
            let mut secrets = vec![tokens.access_token().secret().to_string()];
            secrets.extend(tokens.refresh_token().map(str::to_string));
            secrets
        }
        _ => Vec::new(),
    }
}

/// Replaces every secret this call sent, wherever a response repeats it.
struct Redact {
    /// Longest first, so a secret holding another is replaced whole.
    secrets: Vec<String>,
}

impl Redact {
    fn new(sent: &[String]) -> Self {
        // Values this short are words, not secrets: replacing them would garble the output.
        // Each also as a URL or a JSON string would carry it (a `location`, an echoed body).
        let mut secrets: Vec<String> = sent
            .iter()
            .filter(|s| s.len() >= 6)
            .flat_map(|s| {
                let url: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
                let json = serde_json::to_string(s).unwrap_or_default();
                let json = json.trim_matches('"').to_string();
                [s.clone(), url, json]
            })
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Redact { secrets }
    }

    fn apply(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "[REDACTED]");
            }
        }
        text
    }
}

fn print_response(
    status: http::StatusCode,
    headers: &http::HeaderMap,
    body: &str,
    redact: &Redact,
) {
    println!("{status}");
    for (name, value) in headers {
        let shown = if oauth_rules::is_credential_header(name.as_str()) {
            "[REDACTED]".to_string()
        } else {
            redact.apply(&String::from_utf8_lossy(value.as_bytes()))
        };
        println!("{name}: {shown}");
    }
    println!();
    println!("{}", redact.apply(body));
}
