//! `--ca-cert` and `--resolve`: an app's config with a fixed https host, run unchanged against
//! the embedded provider on https.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::process::Command;

fn app(name: &str, port: u16) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oauth-cli-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::write(
        dir.join("config/requests.json"),
        format!(
            r#"{{ "me": {{ "schema": {{ "method": "GET", "host": "api.example.test:{port}",
                "path": "/api/v2/agents/me" }} }} }}"#
        ),
    )
    .unwrap();
    dir
}

async fn invoke(dir: &PathBuf, flags: &[String]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_oauth-templates"))
        .current_dir(dir)
        .args(["invoke", "me"])
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn invoke_reaches_a_fixed_https_host_through_resolve_and_a_ca_certificate() {
    let provider = oauth_mock::Provider::builder()
        .https(["api.example.test"])
        .start()
        .await
        .unwrap();
    let address = provider.https_address().unwrap();
    let dir = app("invoke", address.port());
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, provider.ca_certificate().unwrap()).unwrap();
    let resolve = format!("api.example.test:{}", address.ip());

    // The name alone goes nowhere; resolved, its certificate is not trusted yet.
    let (code, _, stderr) = invoke(&dir, &["--resolve".into(), resolve.clone()]).await;
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("the server's certificate was refused"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: pass the authority's certificate with --ca-cert FILE"),
        "{stderr}"
    );

    // Resolved and trusted: the provider answers (401: the request carries no credential).
    let (code, stdout, stderr) = invoke(
        &dir,
        &[
            "--resolve".into(),
            resolve,
            "--ca-cert".into(),
            ca.display().to_string(),
        ],
    )
    .await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.starts_with("401 Unauthorized"), "{stdout}{stderr}");

    // Malformed flags are explained.
    let (code, _, stderr) = invoke(&dir, &["--resolve".into(), "nohost".into()]).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("--resolve takes HOST:ADDR"), "{stderr}");
    let (code, _, stderr) = invoke(&dir, &["--ca-cert".into(), "missing.pem".into()]).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("--ca-cert missing.pem"), "{stderr}");
}
