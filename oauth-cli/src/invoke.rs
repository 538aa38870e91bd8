//! `oauth-templates invoke TEMPLATE`: sends one template, its values given on the command line,
//! through the app's plan interpreted with the runtime functions the generated code calls.

use std::path::Path;
use std::process::ExitCode;

use oauth_cli::interpret::{Given, iparam_text};
use oauth_runtime::{InvokeError, Runtime, TokenKey, UserId};

use crate::app::{self, Failed, fail};

pub(crate) struct Invoke<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) template: &'a str,
    pub(crate) store: Option<&'a Path>,
    pub(crate) context: &'a [String],
    pub(crate) iparams: &'a [String],
    pub(crate) iparam_files: &'a [String],
    pub(crate) oauth_iparams: &'a [String],
    pub(crate) user: Option<&'a str>,
    pub(crate) body: Option<&'a str>,
    pub(crate) trust: &'a crate::Trust,
}

pub(crate) fn run(args: Invoke<'_>) -> ExitCode {
    match invoke(&args) {
        Ok(code) => code,
        Err(Failed) => ExitCode::FAILURE,
    }
}

fn invoke(args: &Invoke<'_>) -> Result<ExitCode, Failed> {
    let app = app::interpreter(args.dir)?;
    let plan = app.plan();
    let Some(template) = plan.template(args.template) else {
        return fail(format!(
            "no template `{}` in config/requests.json (there are: {})",
            args.template,
            plan.templates
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let mut given = Given {
        context: app::pairs(args.context, "--context")?.into_iter().collect(),
        ..Given::default()
    };
    let mut iparams = app::pairs(args.iparams, "--iparam")?;
    for (key, file) in app::pairs(args.iparam_files, "--iparam-file")? {
        let text = std::fs::read_to_string(&file).or_else(|e| fail(format!("{file}: {e}")))?;
        iparams.push((key, text));
    }
    for (key, value) in iparams {
        // `domain` is `iparam.domain`; `app_settings.a.b` and the like are given whole.
        let label = if key.contains('.') {
            key
        } else {
            format!("iparam.{key}")
        };
        let value = match plan.iparams.iter().find(|f| f.label == label) {
            Some(field) => iparam_text(field.kind, &value).or_else(|kind| {
                fail(format!(
                    "--iparam {label} is {kind} in iparams.json, not `{value}`"
                ))
            })?,
            None => value,
        };
        given.iparams.insert(label, value);
    }

    let integration = template.auth.as_ref().map(|auth| auth.integration.as_str());
    let agent = template.auth.as_ref().is_some_and(|auth| auth.agent);
    let mut builder =
        app::trust(Runtime::builder(), args.trust)?.store(app::store(args.dir, args.store)?);
    if let Some(name) = integration {
        let spec = app::integration(app, name)?;
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
    let composed = app.compose(&runtime, args.template, &given, user.as_ref());
    let mut request = match composed {
        Some(Ok(request)) => request,
        Some(Err(error)) => {
            eprintln!("error: {error}: pass it with --context or --iparam");
            return Err(Failed);
        }
        None => return fail(format!("no template `{}`", args.template)),
    };
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
    let mut sent: Vec<String> = given
        .context
        .values()
        .chain(given.iparams.values())
        .cloned()
        .collect();
    sent.extend(app::oauth_iparams_given(args.oauth_iparams)?);
    sent.extend(
        std::env::vars()
            .filter(|(name, _)| name.starts_with("OAUTH_IPARAM_"))
            .map(|(_, value)| value),
    );
    let key = integration.map(|name| match &user {
        Some(user) => TokenKey::user(name.to_string(), user.clone()),
        None => TokenKey::installation(name.to_string()),
    });
    if let Some(name) = integration {
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
                if error.to_string().contains("certificate was refused") {
                    eprintln!("help: pass the authority's certificate with --ca-cert FILE");
                }
                Err(Failed)
            }
        }
    })?
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
