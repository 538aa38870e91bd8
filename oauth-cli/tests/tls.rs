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

/// `options.security` through the CLI: the certificate and key given with `--iparam-file`,
/// the provider's mutual-TLS side answering; without them, the CLI says what is missing.
#[tokio::test]
async fn invoke_presents_a_client_certificate_from_iparam_files() {
    let provider = oauth_mock::Provider::builder()
        .api_key("sekrit-api-key", "acme.example.com")
        .https(Vec::<String>::new())
        .start()
        .await
        .unwrap();
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../oauth-codegen/tests/fixtures/mutual_tls");
    let dir = std::env::temp_dir().join(format!("oauth-cli-mtls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let identity = provider.client_identity("acme").unwrap().unwrap();
    for (file, text) in [
        ("cert.pem", identity.certificate.as_str()),
        ("key.pem", identity.key.as_str()),
        ("ca.pem", provider.ca_certificate().unwrap()),
    ] {
        std::fs::write(dir.join(file), text).unwrap();
    }
    let port = provider.mutual_tls_address().unwrap().port();
    let run = |files: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_oauth-templates"));
        command
            .current_dir(&dir)
            .args(["invoke", "listTickets", "--dir"])
            .arg(&fixture)
            .args(["--iparam", &format!("domain=localhost:{port}")])
            .args(["--iparam", "api_key=sekrit-api-key"])
            .args(["--iparam-file", "server_ca=ca.pem"]);
        if files {
            command.args([
                "--iparam-file",
                "client_cert=cert.pem",
                "--iparam-file",
                "client_key=key.pem",
            ]);
        }
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
    };
    let output = run(true).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("200"), "{stdout}");
    assert_eq!(provider.mutual_tls_handshakes(), 1);

    let output = run(false).await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("iparam.client_cert"), "{stderr}");
    assert_eq!(provider.mutual_tls_handshakes(), 1);
}
