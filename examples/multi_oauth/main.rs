//! See `examples/src/multi_oauth.rs` for the code and `examples/multi_oauth/config/` for the app's configuration.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    oauth_examples::multi_oauth::run(&mut std::io::stdout()).await
}
