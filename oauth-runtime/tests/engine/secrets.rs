//! No secret (access or refresh token, client secret, custom header, encryption key) reaches
//! the logs, `Debug` or `Display` of any public type, through a whole flow with failures.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use oauth_runtime::store::EncryptionKey;
use oauth_runtime::{FileStore, Runtime, StaticTokens, TokenKey, TokenSet, TokenStore};

use crate::refresh::{Recording, expire, tempdir};
use crate::support::{CLIENT_SECRET, Fault, Provider};
use crate::{Engine, GetThingContext};

#[derive(Clone, Default)]
pub(crate) struct Capture(pub(crate) Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_logs_debug_or_display() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);

    let mut shown = Vec::<String>::new();
    let provider = Provider::start().await;
    provider.state.rotate.store(true, Ordering::SeqCst);
    let (store, fail) = Recording::on(&provider);
    let integration = provider
        .integration("crm")
        .token_header("X-Custom", "sekrit-custom-header")
        .unwrap();
    shown.push(format!("{integration:?}"));
    let builder = provider
        .builder(store.clone())
        .integration(integration)
        .refresh_backoff(std::time::Duration::ZERO);
    shown.push(format!("{builder:?}"));
    let runtime = builder.build().unwrap();
    shown.push(format!("{runtime:?}"));
    let crm = TokenKey::installation("crm");
    provider
        .seed(
            &runtime,
            &crm,
            "sekrit-expired",
            false,
            -60,
            Some("sekrit-refresh-0"),
        )
        .await;
    let engine = Engine::new(runtime.clone());
    let context = GetThingContext {
        port: provider.port(),
        id: "7".into(),
    };
    shown.push(format!("{engine:?}"));
    shown.push(format!("{:?}", engine.get_thing(&context)));

    // A refresh with rotation, then a success.
    let response = engine.get_thing(&context).send().await.unwrap();
    shown.push(format!("{response:?}"));
    let stored = store.load(&crm).await.unwrap().unwrap();
    shown.push(format!("{stored:?}"));
    shown.push(format!("{:?}", stored.record.tokens));
    shown.push(format!("{:?}", stored.record.tokens.access_token()));
    shown.push(format!("{store:?}", store = store.inner));

    // A 401 answered with a refresh, then a second 401.
    provider.state.reject_all.store(true, Ordering::SeqCst);
    let error = engine.get_thing(&context).send().await.unwrap_err();
    shown.push(format!("{error} {error:?}"));
    provider.state.reject_all.store(false, Ordering::SeqCst);

    // A store that fails while saving refreshed tokens.
    expire(&runtime, &crm).await;
    fail.store(true, Ordering::SeqCst);
    let error = engine.get_thing(&context).send().await.unwrap_err();
    shown.push(format!("{error} {error:?}"));
    fail.store(false, Ordering::SeqCst);

    // A token endpoint that is down, then a dead refresh token.
    expire(&runtime, &crm).await;
    for _ in 0..3 {
        provider.fault(Fault::Status(503));
    }
    let error = engine.get_thing(&context).send().await.unwrap_err();
    shown.push(format!("{error} {error:?}"));
    provider.fault(Fault::InvalidGrant);
    let error = engine.get_thing(&context).send().await.unwrap_err();
    shown.push(format!("{error} {error:?}"));
    if let Some(source) = std::error::Error::source(&error) {
        shown.push(format!("{source} {source:?}"));
    }

    // Stores, keys and other token sources.
    let dir = tempdir();
    let key_bytes = [0x5a; 32];
    let file = FileStore::encrypted(dir.join("t.json"), EncryptionKey::from_bytes(&key_bytes));
    shown.push(format!("{file:?}"));
    file.save(&crm, &stored.record, None).await.unwrap();
    let error = FileStore::encrypted(dir.join("t.json"), EncryptionKey::from_bytes(&[1; 32]))
        .load(&crm)
        .await
        .unwrap_err();
    shown.push(format!("{error} {error:?}"));
    shown.push(format!(
        "{:?}",
        StaticTokens::new().with(crm.clone(), "sekrit-static")
    ));
    let set = TokenSet::new("sekrit-a").with_refresh_token("sekrit-r");
    shown.push(format!("{set:?}"));
    let no_tokens = Runtime::builder().build().unwrap();
    let error = Engine::new(no_tokens)
        .get_thing(&context)
        .send()
        .await
        .unwrap_err();
    shown.push(format!("{error} {error:?}"));

    drop(_logging);
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("oauth_runtime.refresh"),
        "the refresh spans were captured: {logs}"
    );
    assert!(
        logs.contains("oauth_runtime.invoke"),
        "the invoke spans were captured"
    );
    assert!(
        logs.contains("refresh_token_rejected"),
        "outcomes are logged"
    );
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("crm-client:{CLIENT_SECRET}"));
    let key_text = base64::engine::general_purpose::STANDARD.encode(key_bytes);
    for text in shown.iter().chain([&logs]) {
        for secret in [
            "sekrit",
            basic.as_str(),
            key_text.as_str(),
            "5a5a5a",
            "90, 90, 90",
        ] {
            assert!(!text.contains(secret), "`{secret}` leaked in:\n{text}");
        }
    }
}
