#[oauth_runtime::templates(
    requests = "../../../../oauth-runtime/tests/ui/config/unknown_integration.requests.json",
    oauth = "../../../../oauth-runtime/tests/ui/config/unknown_integration.oauth_config.json",
)]
pub struct Client;

fn main() {}
