//! URLs parsed from the start of a template's URL that holds only literal text and
//! installation parameters (its origin, or its origin and fixed path), shared by every client
//! of a runtime. A client keeps its own (see `fixed`); these are for the clients made after
//! it: a server serving many installations makes a client per call, and each finds its base
//! parsed by an earlier client with the same installation parameters, rather than parsing the
//! host again (IDNA included), which costs more than the rest of the request.

use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::InvokeError;
use crate::keyed::let_oldest_go;

type Hasher = foldhash::fast::RandomState;

/// How many bases a runtime keeps at most: at about 250 bytes each, 1 MiB.
pub(crate) const PARSED_BASES: usize = 4096;

/// Shards of the map, each with its lock: clients made per call on every thread read it.
const SHARDS: usize = 8;

/// The parsed bases of a runtime's templates, by their text.
pub(crate) struct ParsedBases {
    shards: Box<[Mutex<Shard>]>,
    hasher: Hasher,
    per_shard: usize,
}

#[derive(Default)]
struct Shard {
    map: HashMap<Box<str>, Base, Hasher>,
    /// Lookups so far: a base's `used` is the count at its last one.
    lookups: u64,
}

struct Base {
    url: url::Url,
    /// Where the host ended in the text: the same text is the same base only with the same.
    host_end: usize,
    used: u64,
}

impl ParsedBases {
    /// Keeping about `capacity` bases at most (its share, rounded up, in each shard; none:
    /// every base is parsed).
    pub(crate) fn new(capacity: usize) -> Self {
        ParsedBases {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: Hasher::default(),
            per_shard: capacity.div_ceil(SHARDS),
        }
    }

    /// The URL parsed from `text`, whose host ends at `host_end`: kept from an earlier call,
    /// or made by `parse` (which checks it) and kept. A failure is not kept: the text fails
    /// at every call, as it is checked anew.
    pub(crate) fn get_or_parse(
        &self,
        text: &str,
        host_end: usize,
        parse: impl FnOnce() -> Result<url::Url, Box<InvokeError>>,
    ) -> Result<url::Url, Box<InvokeError>> {
        if self.per_shard == 0 {
            return parse();
        }
        let shard = &self.shards[self.hasher.hash_one(text) as usize % SHARDS];
        {
            let mut shard = lock(shard);
            shard.lookups += 1;
            let lookups = shard.lookups;
            if let Some(base) = shard.map.get_mut(text)
                && base.host_end == host_end
            {
                base.used = lookups;
                return Ok(base.url.clone());
            }
        }
        // Parsed outside the lock: two clients parsing the same text at once keep one.
        let url = parse()?;
        let mut shard = lock(shard);
        if !shard.map.contains_key(text) {
            let_oldest_go(&mut shard.map, self.per_shard, |base| base.used);
        }
        let used = shard.lookups;
        shard.map.insert(
            text.into(),
            Base {
                url: url.clone(),
                host_end,
                used,
            },
        );
        Ok(url)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).map.len()).sum()
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // Every change is one insertion or removal: a panic elsewhere leaves it whole.
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::ParsedBases;
    use crate::error::InvokeError;
    use std::cell::Cell;

    fn parse(text: &str, parses: &Cell<u32>) -> Result<url::Url, Box<InvokeError>> {
        parses.set(parses.get() + 1);
        Ok(url::Url::parse(text).unwrap())
    }

    #[test]
    fn a_text_is_parsed_once_and_its_url_given_to_every_later_lookup() {
        let bases = ParsedBases::new(16);
        let parses = Cell::new(0);
        for _ in 0..3 {
            let url = bases
                .get_or_parse("https://a.example.com/api", 21, || {
                    parse("https://a.example.com/api", &parses)
                })
                .unwrap();
            assert_eq!(url.as_str(), "https://a.example.com/api");
        }
        let other = bases
            .get_or_parse("https://b.example.com/api", 21, || {
                parse("https://b.example.com/api", &parses)
            })
            .unwrap();
        assert_eq!(
            other.host_str(),
            Some("b.example.com"),
            "its own text's URL"
        );
        assert_eq!(parses.get(), 2);
        // The same text with its host ending elsewhere is another base.
        bases
            .get_or_parse("https://a.example.com/api", 25, || {
                parse("https://a.example.com/api", &parses)
            })
            .unwrap();
        assert_eq!(parses.get(), 3);
    }

    #[test]
    fn a_failure_is_not_kept_and_the_text_is_checked_again() {
        let bases = ParsedBases::new(16);
        let attempts = Cell::new(0);
        for _ in 0..2 {
            let failed = bases.get_or_parse("http://evil.example", 19, || {
                attempts.set(attempts.get() + 1);
                Err(Box::new(InvokeError::InvalidValue {
                    template: "t",
                    placeholder: "host",
                    reason: "refused",
                }))
            });
            assert!(failed.is_err());
        }
        assert_eq!(attempts.get(), 2);
        assert_eq!(bases.len(), 0);
    }

    #[test]
    fn the_bound_holds_and_the_bases_in_use_stay() {
        let bases = ParsedBases::new(64);
        let parses = Cell::new(0);
        let text = |n: u32| format!("https://tenant-{n}.example.com");
        for n in 0..1000 {
            let t = text(n);
            bases
                .get_or_parse(&t, t.len(), || parse(&t, &parses))
                .unwrap();
            // One base used at every step.
            let hot = text(0);
            bases
                .get_or_parse(&hot, hot.len(), || parse(&hot, &parses))
                .unwrap();
            assert!(bases.len() <= 64, "{}", bases.len());
        }
        assert_eq!(parses.get(), 1000, "the base in use was never parsed again");
        let none = ParsedBases::new(0);
        let t = text(1);
        none.get_or_parse(&t, t.len(), || parse(&t, &parses))
            .unwrap();
        assert_eq!(none.len(), 0, "none kept");
    }
}
