//! The response cache of FDK's `invokeTemplate` (`cache: true, ttl`): a GET's 2xx answer kept
//! for a while, keyed by the final URL, the installation, whose token it was sent with (never
//! shared across installations or users), the client certificate it presented, and the
//! request's other headers. Bounded in entries and bytes;
//! the oldest entry goes first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::response::Response;
use crate::tokens::{InstallationId, TokenKey};

/// What a cached answer was asked with.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    url: String,
    installation: InstallationId,
    token: Option<TokenKey>,
    /// The digest of the client certificate presented, if any.
    identity: Option<[u8; 32]>,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The text around the token in its headers (it may hold values given at the call).
    token_text: Vec<(HeaderName, String, String)>,
}

impl CacheKey {
    /// The key of a request to `url` with the token of `token` and `headers` (those that
    /// carry the token left out: a refreshed token asks the same question).
    pub(crate) fn new(
        url: &url::Url,
        installation: &InstallationId,
        token: Option<&TokenKey>,
        identity: Option<[u8; 32]>,
        headers: &HeaderMap,
        token_headers: Vec<(HeaderName, String, String)>,
    ) -> CacheKey {
        CacheKey {
            url: url.as_str().to_string(),
            installation: installation.clone(),
            token: token.cloned(),
            identity,
            headers: headers
                .iter()
                .filter(|(name, _)| !token_headers.iter().any(|(n, _, _)| n == *name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            token_text: token_headers,
        }
    }
}

struct Entry {
    response: Response,
    /// `None`: a ttl too long to count.
    until: Option<Instant>,
}

struct Entries {
    map: HashMap<CacheKey, Entry>,
    /// Keys from the oldest insertion.
    order: VecDeque<CacheKey>,
    bytes: usize,
}

/// The runtime's response cache.
pub(crate) struct ResponseCache {
    entries: Mutex<Entries>,
    max_entries: usize,
    max_bytes: usize,
}

impl ResponseCache {
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Self {
        ResponseCache {
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
            }),
            max_entries,
            max_bytes,
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer kept for `key`, while it lasts.
    pub(crate) fn get(&self, key: &CacheKey) -> Option<Response> {
        let mut entries = self.entries();
        let entry = entries.map.get(key)?;
        if entry.until.is_none_or(|until| until > Instant::now()) {
            return Some(entry.response.clone());
        }
        entries.remove(key);
        None
    }

    /// Keeps `response` (a 2xx) for `ttl`, making room by dropping the oldest answers.
    pub(crate) fn put(&self, key: CacheKey, response: &Response, ttl: Duration) {
        let size = response.body_len();
        if !response.status().is_success() || size > self.max_bytes || self.max_entries == 0 {
            return;
        }
        let mut entries = self.entries();
        entries.remove(&key);
        while entries.map.len() >= self.max_entries || entries.bytes + size > self.max_bytes {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            entries.remove(&oldest);
        }
        entries.bytes += size;
        entries.order.push_back(key.clone());
        entries.map.insert(
            key,
            Entry {
                response: response.clone(),
                until: Instant::now().checked_add(ttl),
            },
        );
    }
}

impl ResponseCache {
    /// Drops the answers given with `key`'s tokens (they were revoked, or replaced by an
    /// authorization, perhaps of another account).
    pub(crate) fn forget(&self, key: &TokenKey) {
        let mut entries = self.entries();
        let gone: Vec<CacheKey> = entries
            .map
            .keys()
            .filter(|k| k.token.as_ref() == Some(key))
            .cloned()
            .collect();
        for k in &gone {
            entries.remove(k);
        }
    }

    /// Drops every answer (uninstall).
    pub(crate) fn clear(&self) {
        let mut entries = self.entries();
        entries.map.clear();
        entries.order.clear();
        entries.bytes = 0;
    }
}

impl Entries {
    fn remove(&mut self, key: &CacheKey) {
        if let Some(entry) = self.map.remove(key) {
            self.bytes -= entry.response.body_len();
            self.order.retain(|k| k != key);
        }
    }
}
