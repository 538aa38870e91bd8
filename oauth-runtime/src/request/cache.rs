//! The response cache of FDK's `invokeTemplate` (`cache: true, ttl`): a GET's 2xx answer kept
//! for a while, keyed by the final URL, the installation, whose token it was sent with (never
//! shared across installations or users), the client certificate it presented, and the
//! request's other headers. Bounded in entries and bytes;
//! the oldest entry goes first.

use std::borrow::Cow;
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
    token_text: Vec<(HeaderName, Cow<'static, str>, Cow<'static, str>)>,
}

impl CacheKey {
    /// The key of a request to `url` with the token of `token` and `headers` (those that
    /// carry the token left out: a refreshed token asks the same question).
    pub(crate) fn new(
        url: &url::Url,
        installation: &InstallationId,
        token: Option<TokenKey>,
        identity: Option<[u8; 32]>,
        headers: &HeaderMap,
        token_headers: Vec<(HeaderName, Cow<'static, str>, Cow<'static, str>)>,
    ) -> CacheKey {
        CacheKey {
            url: url.as_str().to_string(),
            installation: installation.clone(),
            token,
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
    /// When it was kept (a count of the cache's insertions): tells its place in `order`.
    kept: u64,
}

struct Entries {
    map: HashMap<CacheKey, Entry>,
    /// Keys from the oldest insertion, with when each was kept. A key removed, or kept again,
    /// leaves its old place behind, skipped when its turn comes: removing is one map lookup,
    /// not a walk of the order under the lock.
    order: VecDeque<(CacheKey, u64)>,
    bytes: usize,
    insertions: u64,
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
                insertions: 0,
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
            if !entries.remove_oldest() {
                break;
            }
        }
        entries.insert(key, response.clone(), Instant::now().checked_add(ttl));
    }
}

impl ResponseCache {
    /// Drops the answers given with `key`'s tokens (they were revoked, or replaced by an
    /// authorization, perhaps of another account).
    pub(crate) fn forget(&self, key: &TokenKey) {
        self.forget_where(|k| k.token.as_ref() == Some(key));
    }

    /// Drops the answers given to `installation` (uninstall).
    pub(crate) fn forget_installation(&self, installation: &InstallationId) {
        self.forget_where(|k| k.installation == *installation);
    }

    /// Drops the answers whose keys `gone` picks, and their places in the order at once too:
    /// they hold the requests' URLs and headers.
    fn forget_where(&self, gone: impl Fn(&CacheKey) -> bool) {
        let mut entries = self.entries();
        let Entries { map, bytes, .. } = &mut *entries;
        map.retain(|key, entry| {
            let keep = !gone(key);
            if !keep {
                *bytes -= entry.response.body_len();
            }
            keep
        });
        entries.drop_left_places_now();
    }
}

impl Entries {
    fn insert(&mut self, key: CacheKey, response: Response, until: Option<Instant>) {
        self.insertions += 1;
        let kept = self.insertions;
        self.bytes += response.body_len();
        self.order.push_back((key.clone(), kept));
        self.map.insert(
            key,
            Entry {
                response,
                until,
                kept,
            },
        );
        self.drop_left_places();
    }

    fn remove(&mut self, key: &CacheKey) {
        if let Some(entry) = self.map.remove(key) {
            self.bytes -= entry.response.body_len();
        }
    }

    /// Removes the entry kept longest ago; false when there is none.
    fn remove_oldest(&mut self) -> bool {
        while let Some((key, kept)) = self.order.pop_front() {
            if self.is_at(&key, kept) {
                self.remove(&key);
                return true;
            }
        }
        false
    }

    /// Whether `key`'s entry is the one kept at `kept`.
    fn is_at(&self, key: &CacheKey, kept: u64) -> bool {
        self.map.get(key).is_some_and(|entry| entry.kept == kept)
    }

    /// The places left behind are dropped once they outnumber the entries: the order stays
    /// within about twice the entries, and each left place is walked over once.
    fn drop_left_places(&mut self) {
        if self.order.len() > 2 * self.map.len() + 16 {
            self.drop_left_places_now();
        }
    }

    fn drop_left_places_now(&mut self) {
        let map = &self.map;
        self.order
            .retain(|(key, kept)| map.get(key).is_some_and(|entry| entry.kept == *kept));
    }
}

#[cfg(test)]
mod tests {
    use super::{CacheKey, ResponseCache};
    use crate::response::Response;
    use crate::tokens::InstallationId;
    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};
    use std::time::Duration;

    const TTL: Duration = Duration::from_secs(60);

    fn key(path: &str) -> CacheKey {
        let url = url::Url::parse(&format!("https://api.example.com/{path}")).unwrap();
        CacheKey::new(
            &url,
            &InstallationId::default(),
            None,
            None,
            &HeaderMap::new(),
            Vec::new(),
        )
    }

    fn answer(body: &'static str) -> Response {
        Response::new(StatusCode::OK, HeaderMap::new(), Bytes::from(body), 1)
    }

    fn kept(cache: &ResponseCache, path: &str) -> Option<String> {
        cache
            .get(&key(path))
            .map(|r| String::from_utf8(r.into_bytes().to_vec()).unwrap())
    }

    #[test]
    fn the_oldest_answer_goes_first_and_an_answer_kept_again_is_young_again() {
        let cache = ResponseCache::new(3, 1 << 20);
        for path in ["a", "b", "c"] {
            cache.put(key(path), &answer(path), TTL);
        }
        cache.put(key("a"), &answer("a2"), TTL);
        cache.put(key("d"), &answer("d"), TTL);
        assert_eq!(kept(&cache, "b"), None, "the oldest");
        assert_eq!(kept(&cache, "a").as_deref(), Some("a2"));
        assert_eq!(kept(&cache, "c").as_deref(), Some("c"));
        assert_eq!(kept(&cache, "d").as_deref(), Some("d"));
        cache.put(key("e"), &answer("e"), TTL);
        assert_eq!(
            kept(&cache, "c"),
            None,
            "then the next oldest, not `a` kept again"
        );
        assert_eq!(kept(&cache, "a").as_deref(), Some("a2"));
    }

    #[test]
    fn the_bound_in_bytes_drops_as_many_old_answers_as_it_takes() {
        let cache = ResponseCache::new(100, 10);
        cache.put(key("a"), &answer("1234"), TTL);
        cache.put(key("b"), &answer("1234"), TTL);
        cache.put(key("c"), &answer("123456789"), TTL);
        assert_eq!(kept(&cache, "a"), None);
        assert_eq!(kept(&cache, "b"), None);
        assert_eq!(kept(&cache, "c").as_deref(), Some("123456789"));
        assert_eq!(cache.entries().bytes, 9);
        cache.put(key("d"), &answer("12345678901"), TTL);
        assert_eq!(kept(&cache, "d"), None, "larger than the whole cache");
        assert_eq!(kept(&cache, "c").as_deref(), Some("123456789"));
    }

    #[test]
    fn forgetting_a_keys_answers_drops_them_and_their_places_at_once() {
        let cache = ResponseCache::new(100, 1 << 20);
        let token = crate::tokens::TokenKey::installation("crm");
        let url = url::Url::parse("https://api.example.com/t").unwrap();
        let with_token = CacheKey::new(
            &url,
            &InstallationId::default(),
            Some(token.clone()),
            None,
            &HeaderMap::new(),
            Vec::new(),
        );
        cache.put(with_token.clone(), &answer("t"), TTL);
        cache.put(key("other"), &answer("o"), TTL);
        cache.forget(&token);
        assert!(cache.get(&with_token).is_none());
        assert_eq!(kept(&cache, "other").as_deref(), Some("o"));
        let entries = cache.entries();
        assert_eq!(entries.order.len(), 1, "no place left behind");
        assert_eq!(entries.bytes, 1);
    }

    #[test]
    fn an_uninstalled_installations_answers_go_and_the_others_stay() {
        let cache = ResponseCache::new(100, 1 << 20);
        let url = url::Url::parse("https://api.example.com/t").unwrap();
        let of = |installation: &str| {
            CacheKey::new(
                &url,
                &InstallationId::new(installation),
                None,
                None,
                &HeaderMap::new(),
                Vec::new(),
            )
        };
        for installation in ["acme", "globex"] {
            cache.put(of(installation), &answer("x"), TTL);
        }
        cache.forget_installation(&InstallationId::new("acme"));
        assert!(cache.get(&of("acme")).is_none());
        assert!(cache.get(&of("globex")).is_some());
        assert_eq!(cache.entries().order.len(), 1);
        assert_eq!(cache.entries().bytes, 1, "the answer's bytes go with it");
    }

    #[test]
    fn places_left_by_removed_and_renewed_answers_do_not_pile_up() {
        let cache = ResponseCache::new(4, 1 << 20);
        for round in 0..10_000 {
            let path = ["a", "b", "c", "d", "e"][round % 5];
            cache.put(key(path), &answer("x"), TTL);
            if round % 7 == 0 {
                cache.entries().remove(&key(path));
            }
        }
        let entries = cache.entries();
        assert!(entries.map.len() <= 4);
        assert!(
            entries.order.len() <= 2 * entries.map.len() + 16,
            "{}",
            entries.order.len()
        );
        assert_eq!(entries.bytes, entries.map.len(), "one byte an answer");
    }
}
