#[oauth_runtime::templates(
    request = "../../../../oauth-runtime/tests/ui/config/collision.requests.json"
)]
pub struct Client;

fn main() {}
