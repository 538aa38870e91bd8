//! Every example runs offline against the embedded provider and prints what it did.

/// Runs an example, asserts it succeeded, and returns what it printed.
macro_rules! printed {
    ($run:path $(, $arg:expr)*) => {{
        let mut out = Vec::new();
        let result = $run(&mut out $(, $arg)*).await;
        let text = String::from_utf8(out).unwrap();
        assert!(result.is_ok(), "{result:?}\n{text}");
        text
    }};
}

fn assert_lines(text: &str, lines: &[&str]) {
    let mut at = 0;
    for line in lines {
        let found = text[at..]
            .find(line)
            .unwrap_or_else(|| panic!("missing, or out of order: {line}\n{text}"));
        at += found + line.len();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freshservice_tickets_keeps_its_tokens_in_a_file() {
    let folder = std::env::temp_dir().join(format!("examples-tickets-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let text = printed!(oauth_examples::freshservice_tickets::run, &folder);
    assert_lines(
        &text,
        &[
            "authorized; the tokens are in",
            "created ticket #1: Laptop will not start",
            "created ticket #2: New hire: accounts",
            "token requests so far: 1 (the second runtime used the stored token)",
        ],
    );
    let file = std::fs::read_to_string(folder.join("tokens.json")).unwrap();
    assert!(file.contains("\"integration\": \"freshservice\""), "{file}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asana_workspaces_go_through_options_oauth() {
    let text = printed!(oauth_examples::asana_workspaces::run);
    assert_lines(
        &text,
        &[
            "authorized `asana` for the installation",
            "workspace 1201: acme.myfreshworks.com",
            "workspace 1202: Personal projects",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freshdesk_sends_its_api_key_encoded_and_never_shows_it() {
    let text = printed!(oauth_examples::freshdesk_api_key::run);
    assert_lines(
        &text,
        &[
            "installation values: FreshdeskIparams { .. }",
            "api_key: SecretBox<str>([REDACTED])",
            "201 Created: ticket #1",
            "the account has 1 ticket(s)",
        ],
    );
    assert!(!text.contains("fd-api-key-0123"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_oauth_keeps_three_integrations_apart() {
    let text = printed!(oauth_examples::multi_oauth::run);
    assert_lines(
        &text,
        &[
            "authorized `freshservice` for the installation",
            "authorized `asana` for the installation",
            "authorized `agent_freshservice` for user `ana`",
            "freshservice (account): create_ticket 201 Created",
            "asana (account): 2 workspaces",
            "agent_freshservice (ana's token): 1 tickets",
            "bob must authorize first, at https://acme.myfreshworks.com/org/oauth/v2/authorize",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axum_server_installs_at_account_level() {
    let text = printed!(oauth_examples::axum_server::run);
    assert_lines(
        &text,
        &[
            "server listening at http://127.0.0.1:",
            "the authorize route without an admin session: 401 Unauthorized",
            "the admin installed the app: freshservice is authorized",
            "POST /tickets answered: 201 Created",
            "after the provider revoked the app, POST /tickets answered: error:",
            "the admin's notices: freshservice needs a new authorization:",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_tenant_serves_three_installations_from_two_replicas() {
    let database = std::env::var("OAUTH_TEST_POSTGRES").expect(
        "OAUTH_TEST_POSTGRES is not set: run `scripts/start-postgres` and export the URL it \
         prints (scripts/test does both)",
    );
    let text = printed!(oauth_examples::multi_tenant::run, &database);
    assert_lines(
        &text,
        &[
            "1. The embedded provider answers for 3 organisations over https.",
            "2. Two replicas share one PostgreSQL store",
            "acme: authorized (started on A, completed on B)",
            "globex: authorized (started on A, completed on B)",
            "initech: authorized (started on A, completed on B)",
            "acme on replica A: 201 Created acme's ticket",
            "acme on replica B: 201 Created acme's ticket",
            "globex on replica A: 201 Created globex's ticket",
            "globex on replica B: 201 Created globex's ticket",
            "initech on replica A: 201 Created initech's ticket",
            "initech on replica B: 201 Created initech's ticket",
            "acme sees 2 tickets, all its own: true",
            "globex sees 2 tickets, all its own: true",
            "initech sees 2 tickets, all its own: true",
            "token requests at the provider: 3 (one code exchange per installation)",
        ],
    );
}
