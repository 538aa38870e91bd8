//! See `examples/src/freshservice_tickets.rs` for the code and `examples/freshservice_tickets/config/`
//! for the app's configuration. The token file goes to a temporary folder.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let folder = std::env::temp_dir().join(format!("freshservice-tickets-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    oauth_examples::freshservice_tickets::run(&mut std::io::stdout(), &folder).await
}
