//! [`FileStore`]: tokens in one file, written atomically, shared safely between processes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::crypt::EncryptionKey;
use super::format::{self, Records};
use super::{RefreshLock, StoreError, StoreFuture, TokenStore, Version, Versioned};
use crate::tokens::{TokenKey, TokenRecord};

/// How often a waiting refresh or write polls the other process's lock.
const LOCK_POLL: Duration = Duration::from_millis(10);
/// The longest wait for another process's write lock before a save fails (its tokens are then
/// kept in memory and saved by a later call, never lost).
const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);

/// Tokens in one file (JSON, or sealed with AES-256-GCM when given an [`EncryptionKey`]).
///
/// - Every write goes to a temporary file beside it (mode 0600), is flushed to disk, then
///   renamed over the old one: a crash leaves the old file or the new one, never half of each.
/// - Writes take an exclusive lock on `FILE.lock`, so processes sharing the file never
///   interleave; refreshes take `FILE.refresh-lock`, so they refresh once between them.
/// - A file that cannot be read (corrupt, or not decryptable with the key) is an error and is
///   never replaced.
/// - The token file and its locks are never followed through a symbolic link: one planted in
///   the folder is an error, not a second copy of the tokens.
/// - A write waits at most [`FileStore::lock_wait`] (10 s) for another process's lock.
#[derive(Debug, Clone)]
pub struct FileStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    key: Option<EncryptionKey>,
    /// In milliseconds; shared by the store's clones.
    lock_wait_ms: AtomicU64,
}

impl FileStore {
    /// The store in `path` (created, with its folder, on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore {
            inner: Arc::new(Inner {
                path: path.into(),
                key: None,
                lock_wait_ms: AtomicU64::new(DEFAULT_LOCK_WAIT.as_millis() as u64),
            }),
        }
    }

    /// The store in `path`, encrypted with `key`.
    pub fn encrypted(path: impl Into<PathBuf>, key: EncryptionKey) -> Self {
        FileStore {
            inner: Arc::new(Inner {
                path: path.into(),
                key: Some(key),
                lock_wait_ms: AtomicU64::new(DEFAULT_LOCK_WAIT.as_millis() as u64),
            }),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// How long a write waits for another process's lock before it fails (default 10 s): a
    /// lock held by a stuck process, or a planted one, never hangs a refresh. It applies to
    /// this store and its clones.
    pub fn lock_wait(self, wait: Duration) -> Self {
        let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        self.inner.lock_wait_ms.store(millis, Ordering::Relaxed);
        self
    }

    async fn blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || job(&inner))
            .await
            .map_err(|e| StoreError::Io {
                path: self.inner.path.clone(),
                action: "running the file task for",
                source: io::Error::other(e.to_string()),
            })?
    }
}

impl Inner {
    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(suffix);
        self.path.with_file_name(name)
    }

    fn io(&self, action: &'static str) -> impl FnOnce(io::Error) -> StoreError + '_ {
        move |source| StoreError::Io {
            path: self.path.clone(),
            action,
            source,
        }
    }

    fn read(&self) -> Result<Records, StoreError> {
        let mut bytes = Vec::new();
        let read = no_follow(OpenOptions::new().read(true), &self.path)
            .and_then(|mut file| io::Read::read_to_end(&mut file, &mut bytes));
        match read {
            Ok(_) => format::decode(&bytes, self.key.as_ref(), &self.path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Records::default()),
            Err(e) => Err(self.io("reading")(e)),
        }
    }

    /// The write lock, waited for at most `lock_wait`.
    fn lock_for_writing(&self) -> Result<File, StoreError> {
        let lock = open_lock(&self.sibling(".lock")).map_err(self.io("opening the lock of"))?;
        let wait = Duration::from_millis(self.lock_wait_ms.load(Ordering::Relaxed));
        // A wait too long for the clock is no deadline.
        let deadline = std::time::Instant::now().checked_add(wait);
        loop {
            match lock.try_lock() {
                Ok(()) => return Ok(lock),
                Err(fs::TryLockError::WouldBlock)
                    if deadline.is_none_or(|d| std::time::Instant::now() < d) =>
                {
                    std::thread::sleep(LOCK_POLL);
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(self.io("waiting for the write lock of")(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("another process has held it for {wait:?}"),
                    )));
                }
                Err(fs::TryLockError::Error(e)) => return Err(self.io("locking")(e)),
            }
        }
    }

    /// Runs `change` on the records under the write lock and writes the result atomically.
    fn update<T>(
        &self,
        change: impl FnOnce(&mut Records) -> Result<(T, bool), StoreError>,
    ) -> Result<T, StoreError> {
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(self.io("creating the folder of"))?;
        }
        let _lock = self.lock_for_writing()?;
        let mut records = self.read()?;
        let (result, changed) = change(&mut records)?;
        if changed {
            let bytes = format::encode(&records, self.key.as_ref(), &self.path)?;
            self.replace(&bytes)?;
        }
        Ok(result)
    }

    fn replace(&self, bytes: &[u8]) -> Result<(), StoreError> {
        self.sweep_temporaries();
        let temp = self.sibling(&format!(".tmp-{}", random_suffix()));
        let written = (|| {
            let mut file = private_file().create_new(true).open(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&temp, &self.path)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(self.io("writing")(e));
        }
        // The rename itself is durable once the folder is flushed.
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty())
            && let Ok(folder) = File::open(parent)
        {
            let _ = folder.sync_all();
        }
        Ok(())
    }
}

impl Inner {
    /// Removes what writers killed mid-write left behind (plain tokens, if not encrypted).
    /// Called under the write lock: no other writer is between create and rename.
    fn sweep_temporaries(&self) {
        let Some(name) = self.path.file_name().and_then(|n| n.to_str()) else {
            return;
        };
        let prefix = format!("{name}.tmp-");
        let folder = match self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => parent.to_path_buf(),
            None => PathBuf::from("."),
        };
        let Ok(entries) = fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&prefix))
            {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// 16 random hex digits: temporary names never collide, even across containers (where every
/// process may be PID 1).
fn random_suffix() -> String {
    use aws_lc_rs::rand::SecureRandom as _;
    let mut bytes = [0u8; 8];
    let _ = aws_lc_rs::rand::SystemRandom::new().fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

fn open_lock(path: &Path) -> io::Result<File> {
    no_follow(private_file().create(true).truncate(false), path)
}

/// Opens `path` with `options`, refusing a symbolic link (`O_NOFOLLOW` where the platform has
/// it, and a check before opening everywhere).
fn no_follow(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is a symbolic link, which is never followed: point the store at the real file",
        ));
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options.open(path)
}

impl TokenStore for FileStore {
    fn load<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Versioned>> {
        let key = key.clone();
        Box::pin(self.blocking(move |inner| Ok(inner.read()?.by_key.remove(&key))))
    }

    fn save<'a>(
        &'a self,
        key: &'a TokenKey,
        record: &'a TokenRecord,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Version> {
        let key = key.clone();
        let record = record.clone();
        Box::pin(self.blocking(move |inner| {
            inner.update(|records| {
                let current = records.by_key.get(&key).map(|v| v.version);
                if current != expected {
                    return Err(StoreError::Conflict {
                        integration: key.integration.to_string(),
                    });
                }
                let version =
                    Version::after(records.highest_version).ok_or_else(|| StoreError::Corrupt {
                        path: inner.path.clone(),
                        reason: "its record versions are exhausted".to_string(),
                    })?;
                records.highest_version = version.get();
                records.by_key.insert(key, Versioned { record, version });
                Ok((version, true))
            })
        }))
    }

    fn delete<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, bool> {
        let key = key.clone();
        Box::pin(self.blocking(move |inner| {
            inner.update(|records| {
                let removed = records.by_key.remove(&key).is_some();
                Ok((removed, removed))
            })
        }))
    }

    fn keys(&self) -> StoreFuture<'_, Vec<TokenKey>> {
        Box::pin(self.blocking(|inner| Ok(inner.read()?.by_key.into_keys().collect())))
    }

    fn lock_refresh<'a>(
        &'a self,
        _key: &'a TokenKey,
        wait: Duration,
    ) -> StoreFuture<'a, RefreshLock> {
        // One lock for the whole file: refreshes are rare and short.
        Box::pin(async move {
            let inner = &self.inner;
            if let Some(parent) = inner.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(inner.io("creating the folder of"))?;
            }
            let path = inner.sibling(".refresh-lock");
            let file = open_lock(&path).map_err(inner.io("opening the refresh lock of"))?;
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                match file.try_lock() {
                    Ok(()) => return Ok(RefreshLock::held(file)),
                    Err(fs::TryLockError::WouldBlock) => {}
                    Err(fs::TryLockError::Error(e)) => {
                        return Err(inner.io("locking the refresh lock of")(e));
                    }
                }
                if tokio::time::Instant::now() >= deadline {
                    // The holder stalled: go on; the version check fences a late write.
                    tracing::warn!(
                        path = %path.display(),
                        "the refresh lock is still held after the wait; refreshing without it"
                    );
                    return Ok(RefreshLock::none());
                }
                tokio::time::sleep(LOCK_POLL).await;
            }
        })
    }
}
