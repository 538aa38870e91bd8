#[oauth_runtime::templates(
    requests = "../../../../oauth-runtime/tests/ui/config/unknown_key.requests.json"
)]
pub struct Client;

fn main() {}
