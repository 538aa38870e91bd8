//! The quickstart. Today it only says what it will do: the embedded provider, the handshake and
//! the typed client it needs are built in later issues (see README.md).

fn main() {
    println!("oauth-templates quickstart: not available yet.");
    println!("It will start an embedded OAuth provider, run the handshake, create a ticket with a");
    println!(
        "typed generated method, refresh an expired token and show reauthorization, all offline."
    );
    println!(
        "What works today: `cargo run -p oauth-cli -- check --dir DIR` validates an FDK app's config."
    );
}
