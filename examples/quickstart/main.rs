//! The quickstart: an FDK-style Freshservice app's whole lifecycle, offline, on the embedded
//! provider. The code is in `examples/src/quickstart.rs`; its configuration in
//! `examples/quickstart/config/`.
//!
//! Run: `cargo run --example quickstart`.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    oauth_examples::quickstart::run(&mut std::io::stdout()).await
}
