#[oauth_runtime::templates(
    requests = "../../../../oauth-runtime/tests/ui/config/bad_placeholder.requests.json"
)]
pub struct Client;

fn main() {}
