//! See `examples/src/asana_workspaces.rs` for the code and `examples/asana_workspaces/config/` for the app's configuration.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    oauth_examples::asana_workspaces::run(&mut std::io::stdout()).await
}
