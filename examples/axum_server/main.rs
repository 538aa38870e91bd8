//! See `examples/src/axum_server.rs` for the code and `examples/axum_server/config/` for the app's configuration.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    oauth_examples::axum_server::run(&mut std::io::stdout()).await
}
