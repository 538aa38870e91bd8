//! The CLI sends what the generated code sends: for every template of every fixture app and
//! every corpus app that checks without errors, the request the generated method builds and
//! the one `oauth-templates invoke` builds from the same values (its plan interpreted) are
//! equal in method, URL and headers, or fail with the same error, for ordinary values and for
//! values that try to reshape the request.

use std::sync::OnceLock;

use oauth_cli::interpret::{Given, Interpreter};
use oauth_codegen::plan::{AppPlan, IparamKind, Step, TemplatePlan, Term};
use oauth_codegen::{AppInput, InputFile, check};
use oauth_parity::{APPS, App, CORPUS_FOUND, SKIPPED};
use oauth_runtime::{Runtime, StaticTokens, TokenKey, UserId};

/// The interpreters of `APPS`, in order: kept in a static, as the CLI keeps its one.
fn interpreters() -> &'static [Interpreter] {
    static INTERPRETERS: OnceLock<Vec<Interpreter>> = OnceLock::new();
    INTERPRETERS.get_or_init(|| APPS.iter().map(interpreter).collect())
}

fn interpreter(app: &App) -> Interpreter {
    let names = [
        "config/requests.json",
        "config/oauth_config.json",
        "config/iparams.json",
        "manifest.json",
    ];
    let [requests, oauth, iparams, manifest] = std::array::from_fn(|i| {
        app.files[i].map(|path| {
            InputFile::read(path.as_ref(), names[i])
                .expect("readable")
                .expect("present")
        })
    });
    let checked = check(AppInput {
        requests,
        oauth,
        iparams,
        manifest,
    });
    assert!(
        !checked.diagnostics.has_errors(),
        "{} has errors",
        app.label
    );
    Interpreter::new(AppPlan::new(&checked.config))
}

const USER: &str = "user-1";
const TOKEN: &str = "tok-123";

/// A runtime holding a token for every integration of the app, for the installation and USER.
fn runtime(interpreter: &Interpreter) -> Runtime {
    let mut tokens = StaticTokens::new();
    for integration in &interpreter.plan().integrations {
        let key = integration.key.clone();
        tokens = tokens
            .with(TokenKey::installation(key.clone()), TOKEN)
            .with(TokenKey::user(key, UserId::new(USER)), TOKEN);
    }
    // The examples and the runtime's own tests send plain http to hosts of their choosing.
    Runtime::builder()
        .allow_insecure_http(true)
        .tokens(tokens)
        .build()
        .expect("a runtime")
}

/// The value sets: each gives every context field and installation value the same text. The
/// first `ORDINARY` are values a request is built with; the others try to reshape it.
const ORDINARY: usize = 1;
const VALUES: &[&str] = &[
    // Replaced, for each value, by one that fits where it lands (see `ordinary`).
    "acme-7x",
    "/org/project",
    "8443",
    "a b/c?d&e=f#g",
    "..",
    "%2e%2E",
    "ünïcødé.example",
    "x\r\nInjected: yes",
    "",
];

/// Values that fit where they land: a port after `host:`, a path prefix starting with `/`, a
/// host name elsewhere in the host, a plain word anywhere else.
fn ordinary(interpreter: &Interpreter, template: &TemplatePlan) -> Given {
    let mut given = given(interpreter, &template.name, "acme-7x");
    let mut previous: Option<&Step> = None;
    for step in &template.steps {
        let fitting = match (step, previous) {
            (Step::HostValue(_), Some(Step::HostText(text))) if text.ends_with(':') => "8443",
            (Step::PathPrefix(_), _) => "/org/project",
            _ => "acme-7x",
        };
        if let Step::ClientIdentity {
            certificate,
            key,
            ca,
        } = step
        {
            let (certificate_pem, key_pem) = client_identity();
            let pems = [
                (Some(certificate), certificate_pem),
                (Some(key), key_pem),
                (ca.as_ref(), certificate_pem),
            ];
            for (value, pem) in pems {
                for term in value.iter().flat_map(|v| &v.terms) {
                    if let Term::Iparam(i) = term {
                        let label = interpreter.plan().iparams[*i].label.clone();
                        given.iparams.insert(label, pem.to_string());
                    }
                }
            }
        }
        if let Step::HostValue(value) | Step::PathPrefix(value) = step {
            for term in &value.terms {
                let plan = interpreter.plan();
                match term {
                    Term::Context(i) => {
                        given
                            .context
                            .insert(template.context[*i].name.clone(), fitting.into());
                    }
                    Term::Iparam(i) if plan.iparams[*i].kind == IparamKind::Text => {
                        given
                            .iparams
                            .insert(plan.iparams[*i].label.clone(), fitting.into());
                    }
                    _ => {}
                }
            }
        }
        previous = Some(step);
    }
    given
}

/// A self-signed client certificate and its key, PEM.
fn client_identity() -> &'static (String, String) {
    static IDENTITY: OnceLock<(String, String)> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        let made = rcgen::generate_simple_self_signed(vec!["client.example".to_string()])
            .expect("a certificate");
        (made.cert.pem(), made.signing_key.serialize_pem())
    })
}

fn given(interpreter: &Interpreter, template: &str, text: &str) -> Given {
    let plan = interpreter.plan();
    let mut given = Given::default();
    if let Some(template) = plan.template(template) {
        for field in &template.context {
            given.context.insert(field.name.clone(), text.to_string());
        }
    }
    for field in &plan.iparams {
        let value = match field.kind {
            IparamKind::Number => "2.5".to_string(),
            IparamKind::Checkbox => "true".to_string(),
            _ => text.to_string(),
        };
        given.iparams.insert(field.label.clone(), value);
    }
    given
}

/// What a built request is, for comparison: method, URL and headers, or the error's text.
fn shape(built: Result<reqwest::Request, oauth_runtime::InvokeError>) -> String {
    match built {
        Ok(request) => {
            let mut text = format!("{} {}\n", request.method(), request.url());
            for (name, value) in request.headers() {
                text.push_str(&format!("{name}: {value:?}\n"));
            }
            text
        }
        Err(error) => format!("error: {error}"),
    }
}

#[tokio::test]
async fn the_cli_sends_what_the_generated_method_sends() {
    if !CORPUS_FOUND {
        assert!(
            std::env::var_os("FDK_CORPUS_REQUIRED").is_none(),
            "the FDK corpus was not found when this crate was built (set FDK_CORPUS)"
        );
        eprintln!("the FDK corpus was not found: only the fixtures are compared");
    }
    let user = UserId::new(USER);
    let (mut templates, mut compared, mut sent, mut built_templates) = (0, 0, 0, 0);
    let mut differences = Vec::new();
    let mut unbuilt = Vec::new();
    for (app, interpreter) in APPS.iter().zip(interpreters()) {
        let runtime = runtime(interpreter);
        for template in &interpreter.plan().templates {
            templates += 1;
            let mut built_ordinary = false;
            let mut last_ordinary = String::new();
            for (set, text) in VALUES.iter().enumerate() {
                let given = if set < ORDINARY {
                    ordinary(interpreter, template)
                } else {
                    given(interpreter, &template.name, text)
                };
                let [generated, kept, copied] =
                    (app.call)(runtime.clone(), &template.name, &given, &user)
                        .expect("every template has a generated method");
                let interpreted = interpreter
                    .compose(&runtime, &template.name, &given, Some(&user))
                    .expect("every template is in the plan")
                    .expect("every value is given");
                let (generated, interpreted) = (
                    shape(generated.build().await),
                    shape(interpreted.build().await),
                );
                compared += 1;
                // The client's second call keeps what it composes, its third copies it: the
                // same request as its first, which keeps nothing.
                for (call, later) in [("second", kept), ("third", copied)] {
                    let later = shape(later.build().await);
                    if later != generated {
                        differences.push(format!(
                            "{} `{}` with {text:?}, the client's {call} call:\n  first: {generated}\n  {call}: {later}",
                            app.label, template.name
                        ));
                    }
                }
                let built = !generated.starts_with("error:");
                sent += usize::from(built);
                built_ordinary |= built && set < ORDINARY;
                if set < ORDINARY {
                    last_ordinary = generated.clone();
                }
                if generated != interpreted {
                    differences.push(format!(
                        "{} `{}` with {text:?}:\n  generated:   {generated}\n  interpreted: {interpreted}",
                        app.label, template.name
                    ));
                }
            }
            built_templates += usize::from(built_ordinary);
            if !built_ordinary {
                unbuilt.push(format!(
                    "{} `{}`: {last_ordinary}",
                    app.label, template.name
                ));
            }
        }
    }
    eprintln!(
        "{} apps ({SKIPPED} corpus apps left out for config errors), {templates} templates, \
         {compared} requests compared, {sent} of them built without an error; \
         {built_templates} templates built with ordinary values",
        APPS.len()
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // The comparison is worth something only if requests are actually built: every template
    // with ordinary values (a host needs a host name, a path prefix a `/`: one of the two fits).
    assert!(
        unbuilt.is_empty(),
        "built with no ordinary value:\n{}",
        unbuilt.join("\n")
    );
    if CORPUS_FOUND {
        assert!(templates > 300, "only {templates} templates compared");
    }
}
