// Config warnings reach the user as warnings (here made errors, to show them).
#![deny(deprecated)]

#[oauth_runtime::templates(
    requests = "../../../../oauth-runtime/tests/ui/config/warning.requests.json"
)]
pub struct Client;

fn main() {}
