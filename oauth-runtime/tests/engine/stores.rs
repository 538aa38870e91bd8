//! FileStore and MemoryStore: compare-and-swap, atomic writes, permissions, encryption, corrupt
//! files, and a writer killed mid-write.

use std::time::Duration;

use oauth_runtime::store::{EncryptionKey, StoreError, Version};
use oauth_runtime::{FileStore, MemoryStore, TokenKey, TokenRecord, TokenSet, TokenStore, UserId};

use crate::refresh::tempdir;

fn record(access: &str) -> TokenRecord {
    TokenRecord::active(
        TokenSet::new(access)
            .with_refresh_token(format!("{access}-refresh"))
            .expires_in(Duration::from_secs(1800))
            .with_granted_scopes(["a", "b"])
            .with_requested_scopes(["a", "b", "c"]),
    )
}

pub(crate) async fn compare_and_swap(store: &dyn TokenStore) {
    let key = TokenKey::installation("crm");
    let user = TokenKey::user("chat", UserId::new("ana"));
    assert!(store.load(&key).await.unwrap().is_none());
    let v1 = store.save(&key, &record("one"), None).await.unwrap();
    // Creating what exists is a conflict.
    assert!(matches!(
        store.save(&key, &record("x"), None).await,
        Err(StoreError::Conflict { .. })
    ));
    let v2 = store.save(&key, &record("two"), Some(v1)).await.unwrap();
    assert_ne!(v1, v2);
    // The stale version's write is refused and changes nothing.
    assert!(matches!(
        store.save(&key, &record("stale"), Some(v1)).await,
        Err(StoreError::Conflict { .. })
    ));
    let loaded = store.load(&key).await.unwrap().unwrap();
    assert_eq!(loaded.version, v2);
    assert_eq!(loaded.record.tokens.access_token().secret(), "two");
    assert_eq!(loaded.record.tokens.refresh_token(), Some("two-refresh"));
    assert_eq!(loaded.record.tokens.granted_scopes().unwrap(), ["a", "b"]);
    assert_eq!(
        loaded.record.tokens.requested_scopes().unwrap(),
        ["a", "b", "c"]
    );
    assert!(loaded.record.tokens.expires_at().is_some());

    store.save(&user, &record("ana"), None).await.unwrap();
    let mut keys = store.keys().await.unwrap();
    keys.sort();
    let mut expected = [key.clone(), user.clone()];
    expected.sort();
    assert_eq!(keys, expected);
    assert!(store.delete(&key).await.unwrap());
    assert!(!store.delete(&key).await.unwrap());
    assert!(store.load(&key).await.unwrap().is_none());
    assert!(
        store.load(&user).await.unwrap().is_some(),
        "other keys are untouched"
    );
    assert!(matches!(
        store
            .save(&key, &record("three"), Some(Version::new(99)))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    // Created again after the delete: a version never given before, so a late writer holding
    // the old one is still refused.
    let v3 = store.save(&key, &record("again"), None).await.unwrap();
    assert!(v3 > v2, "{v3:?} after {v2:?}");
    for stale in [v1, v2] {
        assert!(matches!(
            store.save(&key, &record("late"), Some(stale)).await,
            Err(StoreError::Conflict { .. })
        ));
    }
}

#[tokio::test]
async fn memory_store_compares_and_swaps() {
    compare_and_swap(&MemoryStore::new()).await;
}

#[tokio::test]
async fn file_store_compares_and_swaps() {
    let dir = tempdir();
    compare_and_swap(&FileStore::new(dir.join("nested/tokens.json"))).await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_token_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let path = dir.join("tokens.json");
    let store = FileStore::new(&path);
    store
        .save(&TokenKey::installation("crm"), &record("one"), None)
        .await
        .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn an_encrypted_file_holds_no_token_in_clear_and_needs_its_key() {
    let dir = tempdir();
    let path = dir.join("tokens.json");
    let key = || EncryptionKey::from_bytes(&[42; 32]);
    let store = FileStore::encrypted(&path, key());
    let crm = TokenKey::installation("crm");
    store
        .save(&crm, &record("sekrit-at-rest"), None)
        .await
        .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        !bytes.windows(6).any(|w| w == b"sekrit"),
        "no token in clear"
    );
    assert!(!bytes.windows(3).any(|w| w == b"crm"), "not even the keys");
    let again = FileStore::encrypted(&path, key());
    let loaded = again.load(&crm).await.unwrap().unwrap();
    assert_eq!(
        loaded.record.tokens.access_token().secret(),
        "sekrit-at-rest"
    );

    let wrong = FileStore::encrypted(&path, EncryptionKey::from_bytes(&[7; 32]));
    let error = wrong.load(&crm).await.unwrap_err();
    assert!(matches!(error, StoreError::Decrypt { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("cannot be decrypted with the key given"),
        "{error}"
    );
    // A write with the wrong key is refused too, and the file is untouched.
    assert!(wrong.save(&crm, &record("x"), None).await.is_err());
    let plain = FileStore::new(&path);
    let error = plain.load(&crm).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("is encrypted: give the store its key"),
        "{error}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    // A plain file is not read as if it were encrypted.
    let plain_path = dir.join("plain.json");
    FileStore::new(&plain_path)
        .save(&crm, &record("p"), None)
        .await
        .unwrap();
    let error = FileStore::encrypted(&plain_path, key())
        .load(&crm)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("is not encrypted"), "{error}");
}

#[tokio::test]
async fn a_corrupt_file_is_an_error_and_is_never_replaced() {
    let dir = tempdir();
    let path = dir.join("tokens.json");
    for content in [
        &b"{ not json"[..],
        br#"{"format": 9, "records": []}"#,
        br#"{"format": 1, "records": [{"integration": "crm"}]}"#,
        br#"{"format": 1, "records": [], "extra": true}"#,
    ] {
        std::fs::write(&path, content).unwrap();
        let store = FileStore::new(&path);
        let crm = TokenKey::installation("crm");
        let error = store.load(&crm).await.unwrap_err();
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
        assert!(error.to_string().contains("left untouched"), "{error}");
        assert!(store.save(&crm, &record("x"), None).await.is_err());
        assert!(store.delete(&crm).await.is_err());
        assert_eq!(
            std::fs::read(&path).unwrap(),
            content,
            "the file was not replaced"
        );
    }
}

const CHILD_ENV: &str = "OAUTH_RUNTIME_CRASH_CHILD_FILE";

/// Run by `a_writer_killed_mid_write_leaves_a_whole_file` as a child process: writes large
/// records to the file as fast as it can until it is killed. Without the variable, nothing.
#[tokio::test]
async fn crash_child_writer() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let store = FileStore::new(path);
    let key = TokenKey::installation("crm");
    loop {
        let current = store.load(&key).await.unwrap().unwrap();
        let n = current.version.get() + 1;
        // 512 KiB of one character: a torn write would show as a shorter or mixed token.
        let token = format!("{n}:{}", "x".repeat(512 * 1024));
        store
            .save(&key, &record(&token), Some(current.version))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_writer_killed_mid_write_leaves_a_whole_file() {
    let dir = tempdir();
    let path = dir.join("tokens.json");
    let store = FileStore::new(&path);
    let key = TokenKey::installation("crm");
    store.save(&key, &record("1:start"), None).await.unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut last_version = 1;
    for round in 0..12u64 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "stores::crash_child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill it at different points of its write cycle.
        tokio::time::sleep(Duration::from_millis(150 + 37 * round)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        let loaded = FileStore::new(&path).load(&key).await.unwrap().unwrap();
        let token = loaded.record.tokens.access_token().secret().to_string();
        let (n, body) = token.split_once(':').unwrap();
        assert_eq!(
            n.parse::<u64>().unwrap(),
            loaded.version.get(),
            "token and version agree"
        );
        assert!(
            body == "start" || body == "x".repeat(512 * 1024),
            "whole token"
        );
        assert!(loaded.version.get() >= last_version);
        last_version = loaded.version.get();
    }
    assert!(last_version > 1, "the child did write");
    // What killed writers left behind is swept by the next write.
    let current = store.load(&key).await.unwrap().unwrap();
    let next = format!("{}:end", current.version.get() + 1);
    store
        .save(&key, &record(&next), Some(current.version))
        .await
        .unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_token_file_written_before_requested_scopes_were_kept_opens_and_needs_no_reauthorization()
{
    // The exact format of the previous version: `scopes` held what the server echoed (or the
    // scopes asked for), and there was no `requested_scopes` nor `extra`.
    let dir = tempdir();
    let path = dir.join("tokens.json");
    std::fs::write(
        &path,
        r#"{
  "format": 1,
  "highest_version": 3,
  "records": [
    { "integration": "crm", "user": null, "version": 3, "access_token": "sekrit-old",
      "refresh_token": "sekrit-old-refresh", "expires_at": 4102444800,
      "scopes": ["things.read"], "needs_reauthorization": null }
  ]
}"#,
    )
    .unwrap();
    let store = FileStore::new(&path);
    let key = TokenKey::installation("crm");
    let loaded = store.load(&key).await.unwrap().unwrap();
    assert_eq!(
        loaded.record.tokens.granted_scopes().unwrap(),
        ["things.read"]
    );
    assert_eq!(loaded.record.tokens.requested_scopes(), None);
    assert!(loaded.record.tokens.extra().is_empty());
    assert!(
        loaded
            .record
            .tokens
            .missing_scopes(&["things.read".to_string(), "things.write".to_string()])
            .is_empty(),
        "an old record never needs reauthorization for scopes"
    );
    // Saved again, it keeps its fields and gains none it does not have.
    store
        .save(&key, &loaded.record, Some(loaded.version))
        .await
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("requested_scopes") && !text.contains("extra"),
        "{text}"
    );
    assert!(text.contains("things.read"), "{text}");
}

#[tokio::test]
async fn out_of_range_numbers_in_a_token_file_are_corrupt_not_a_panic() {
    let record = |version: &str, expires_at: &str| {
        format!(
            r#"{{ "format": 1, "highest_version": {version}, "records": [
  {{ "integration": "crm", "user": null, "version": {version}, "access_token": "a",
    "refresh_token": null, "expires_at": {expires_at}, "scopes": null,
    "needs_reauthorization": null }} ] }}"#
        )
    };
    let key = TokenKey::installation("crm");
    for (text, what) in [
        (
            record("3", "18446744073709551615"),
            "past what the clock can hold",
        ),
        (record("18446744073709551615", "1"), "at the limit"),
    ] {
        let dir = tempdir();
        let path = dir.join("tokens.json");
        std::fs::write(&path, &text).unwrap();
        let store = FileStore::new(&path);
        match store.load(&key).await {
            Err(StoreError::Corrupt { reason, .. }) => assert!(reason.contains(what), "{reason}"),
            other => panic!("expected a corrupt file, got {other:?}"),
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "never replaced"
        );
    }
    // Versions exhausted: the next save is refused, nothing repeats.
    let dir = tempdir();
    let path = dir.join("tokens.json");
    std::fs::write(
        &path,
        r#"{ "format": 1, "highest_version": 18446744073709551615, "records": [] }"#,
    )
    .unwrap();
    let store = FileStore::new(&path);
    match store
        .save(&key, &TokenRecord::active(TokenSet::new("a")), None)
        .await
    {
        Err(StoreError::Corrupt { reason, .. }) => {
            assert!(reason.contains("exhausted"), "{reason}")
        }
        other => panic!("expected exhausted versions, got {other:?}"),
    }
}

#[tokio::test]
async fn a_held_write_lock_fails_the_save_in_time_instead_of_hanging() {
    let dir = tempdir();
    let path = dir.join("tokens.json");
    // Another process (or a planted file) holds the write lock and never lets go.
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("tokens.json.lock"))
        .unwrap();
    held.lock().unwrap();
    let store = FileStore::new(&path).lock_wait(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let error = store
        .save(
            &TokenKey::installation("crm"),
            &TokenRecord::active(TokenSet::new("a")),
            None,
        )
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        error.to_string().contains("waiting for the write lock"),
        "{error}"
    );
    drop(held);
    store
        .save(
            &TokenKey::installation("crm"),
            &TokenRecord::active(TokenSet::new("a")),
            None,
        )
        .await
        .unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn symbolic_links_in_the_store_folder_are_never_followed() {
    let dir = tempdir();
    let elsewhere = tempdir();
    let key = TokenKey::installation("crm");
    // A token file that is a link to another file: refused, neither read nor forked.
    let real = elsewhere.join("real.json");
    FileStore::new(&real)
        .save(&key, &record("linked"), None)
        .await
        .unwrap();
    let path = dir.join("tokens.json");
    std::os::unix::fs::symlink(&real, &path).unwrap();
    let store = FileStore::new(&path);
    let error = store.load(&key).await.unwrap_err();
    assert!(error.to_string().contains("symbolic link"), "{error}");
    assert!(store.save(&key, &record("x"), None).await.is_err());
    assert!(
        std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was not replaced by a second copy"
    );
    // A lock file that is a link to a file that does not exist: the target is not created.
    let dir = tempdir();
    let target = elsewhere.join("created-by-a-link");
    std::os::unix::fs::symlink(&target, dir.join("tokens.json.lock")).unwrap();
    let store = FileStore::new(dir.join("tokens.json"));
    assert!(store.save(&key, &record("y"), None).await.is_err());
    assert!(!target.exists(), "the link's target was created");
}
