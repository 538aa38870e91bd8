#[oauth_runtime::templates(
    requests = "/etc/requests.json"
)]
pub struct Client;

fn main() {}
