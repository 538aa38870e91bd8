//! The quickstart runs, offline, and says what it did at each step.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_runs_the_whole_lifecycle() {
    let mut out = Vec::new();
    let result = oauth_examples::quickstart::run(&mut out).await;
    let text = String::from_utf8(out).unwrap();
    assert!(result.is_ok(), "{result:?}\n{text}");
    let steps = [
        "1. Starting the embedded FreshID-like provider",
        "https://acme.myfreshworks.com and https://acme.freshservice.com are answered at 127.0.0.1:",
        "2. Authorizing the app for the account",
        "the admin is sent to https://acme.myfreshworks.com/org/oauth/v2/authorize?",
        "it was exchanged for tokens (PKCE checked) and they are stored",
        "the token request authenticated with FreshID's custom header `Authorization: Basic …`",
        "3. Creating a ticket with the typed method `create_ticket`.",
        "the API answered 201 Created: ticket #1, \"Printer on fire\"",
        "4. Waiting for the access token to expire",
        "get_ticket answered 200 OK at once: the runtime refreshed the token first (1 token request)",
        "5. The refresh token is revoked",
        "the call failed: template `getTicket`: the installation must authorize `freshservice` again (the authorization server rejected the refresh token)",
        "the app shows the admin where to authorize again: https://acme.myfreshworks.com/org/oauth/v2/authorize?",
        "further calls fail at once: 0 more token requests",
        "Done: authorize, call, refresh, reauthorize — all offline.",
    ];
    let mut at = 0;
    for step in steps {
        let found = text[at..]
            .find(step)
            .unwrap_or_else(|| panic!("missing, or out of order: {step}\n{text}"));
        at += found + step.len();
    }
    assert!(
        !text.contains("quickstart-secret") && !text.contains("fs_at_") && !text.contains("fs_rt_"),
        "{text}"
    );
}
