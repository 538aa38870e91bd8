#[oauth_runtime::templates(
    
)]
pub struct Client;

fn main() {}
