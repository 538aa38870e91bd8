//! See `examples/src/freshdesk_api_key.rs` for the code and `examples/freshdesk_api_key/config/` for the app's configuration.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    oauth_examples::freshdesk_api_key::run(&mut std::io::stdout()).await
}
