#[oauth_runtime::templates(
    requests = "../../../../oauth-runtime/tests/ui/config/collision.requests.json"
)]
pub struct Client;

fn main() {}
