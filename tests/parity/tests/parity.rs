//! The CLI sends what the generated code sends: for every template of every fixture app and
//! every corpus app that checks without errors, the request the generated method builds and
//! the one `oauth-templates invoke` builds from the same values (its plan interpreted) are
//! equal in method, URL and headers, or fail with the same error, for ordinary values and for
//! values that try to reshape the request.

use std::sync::OnceLock;

use oauth_cli::interpret::{Given, Interpreter};
use oauth_codegen::plan::{AppPlan, IparamKind};
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
    Runtime::builder()
        .tokens(tokens)
        .build()
        .expect("a runtime")
}

/// The value sets: each gives every context field and installation value the same text.
const VALUES: &[&str] = &[
    "acme-7x",
    "/org/project",
    "a b/c?d&e=f#g",
    "..",
    "%2e%2E",
    "ünïcødé.example",
    "x\r\nInjected: yes",
    "",
];

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
    let (mut templates, mut compared, mut sent) = (0, 0, 0);
    let mut differences = Vec::new();
    for (app, interpreter) in APPS.iter().zip(interpreters()) {
        let runtime = runtime(interpreter);
        for template in &interpreter.plan().templates {
            templates += 1;
            for text in VALUES {
                let given = given(interpreter, &template.name, text);
                let generated = (app.call)(runtime.clone(), &template.name, &given, &user)
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
                sent += usize::from(!generated.starts_with("error:"));
                if generated != interpreted {
                    differences.push(format!(
                        "{} `{}` with {text:?}:\n  generated:   {generated}\n  interpreted: {interpreted}",
                        app.label, template.name
                    ));
                }
            }
        }
    }
    eprintln!(
        "{} apps ({SKIPPED} corpus apps left out for config errors), {templates} templates, \
         {compared} requests compared, {sent} of them built without an error",
        APPS.len()
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // The comparison is worth something only if most requests are actually built.
    assert!(
        sent * 3 >= compared,
        "only {sent} of {compared} requests were built"
    );
    if CORPUS_FOUND {
        assert!(templates > 300, "only {templates} templates compared");
    }
}
