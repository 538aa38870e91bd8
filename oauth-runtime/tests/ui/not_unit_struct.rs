#[oauth_runtime::templates(
    requests = "../../../../oauth-runtime/tests/ui/config/warning.requests.json"
)]
pub struct Client {
    id: u32,
}

fn main() {}
