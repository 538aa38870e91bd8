#[oauth_runtime::templates(
    requests = "config/nowhere.json"
)]
pub struct Client;

fn main() {}
