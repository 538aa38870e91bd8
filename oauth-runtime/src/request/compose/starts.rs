//! The fixed URL starts of a runtime's templates (literal text and installation parameters
//! only, never a call's values), composed and checked once per runtime for every client whose
//! start is the same text. A client keeps the start it uses (see `fixed`); these are for the
//! clients made after it: a server serving many installations makes a client per call, and
//! each finds its start composed, checked and parsed by an earlier client with the same
//! installation parameters, rather than parsing the host again (IDNA included), which costs
//! more than the rest of the request.

use std::sync::Arc;

use super::Marks;
use super::fixed::Kept;
use crate::keyed::{Sharded, let_oldest_go_by};
use crate::request::draft::TemplateInfo;

/// How many starts a runtime keeps at most: at about 500 bytes each, 2 MiB.
pub(crate) const SHARED_STARTS: usize = 4096;

/// How many shards.
const SHARDS: usize = 8;
// Each shard's share of the bound is worked out from it: a count `Sharded` keeps as it is.
const _: () = assert!(SHARDS.is_power_of_two());

/// The starts of a runtime's templates, by their composed text, in shards (see [`Sharded`]):
/// clients made per call on every thread read them. A text is hashed once, for its shard and
/// its place in the shard's table.
pub(crate) struct SharedStarts {
    shards: Sharded<Shard>,
    per_shard: usize,
}

struct Shard {
    /// Each text with its starts, placed by the text's hash.
    map: hashbrown::HashTable<(Box<str>, Starts)>,
    /// The starts of all its texts.
    starts: usize,
    /// Lookups so far: a text's `used` is the count at its last one.
    lookups: u64,
}

/// The starts composed as one text: usually one template's, at times a few (templates whose
/// starts are alike), each its own, as each keeps what follows its start (see `prefix`).
struct Starts {
    by_template: Vec<(&'static TemplateInfo, Arc<Kept>)>,
    used: u64,
}

impl SharedStarts {
    /// Keeping about `capacity` starts at most (its share, rounded up, in each shard; none:
    /// every client composes its own).
    pub(crate) fn new(capacity: usize) -> Self {
        SharedStarts {
            shards: Sharded::new(SHARDS, |_| Shard {
                map: hashbrown::HashTable::new(),
                starts: 0,
                lookups: 0,
            }),
            per_shard: capacity.div_ceil(SHARDS),
        }
    }

    /// The start `template` composed as `text`, with the same `marks`, if one was kept.
    pub(super) fn find(
        &self,
        template: &'static TemplateInfo,
        text: &str,
        marks: &Marks,
    ) -> Option<Arc<Kept>> {
        if self.per_shard == 0 {
            return None;
        }
        let hash = self.shards.hash(text);
        let mut shard = self.shards.shard(hash);
        shard.lookups += 1;
        let lookups = shard.lookups;
        let (_, starts) = shard.map.find_mut(hash, is_text(text))?;
        starts.used = lookups;
        starts
            .by_template
            .iter()
            .find(|(kept_for, kept)| {
                std::ptr::eq(*kept_for, template) && kept.composed.marks == *marks
            })
            .map(|(_, kept)| kept.clone())
    }

    /// Keeps `kept`, the start `template` composed as `text` (checked: a failure is never
    /// kept, so that it is checked, and fails, at every call).
    pub(super) fn keep(&self, template: &'static TemplateInfo, text: &str, kept: &Arc<Kept>) {
        if self.per_shard == 0 {
            return;
        }
        let hash = self.shards.hash(text);
        let mut shard = self.shards.shard(hash);
        let shard = &mut *shard;
        // Two clients composing the same start at once: the first kept stays.
        let kept_already = shard
            .map
            .find(hash, is_text(text))
            .is_some_and(|(_, starts)| {
                starts
                    .by_template
                    .iter()
                    .any(|(kept_for, _)| std::ptr::eq(*kept_for, template))
            });
        if kept_already {
            return;
        }
        // Counted by starts, as a text holds one per template composing it.
        let freed = let_oldest_go_by(
            &mut shard.map,
            shard.starts,
            self.per_shard,
            |map| {
                map.iter()
                    .map(|(text, starts)| (starts.used, text.clone()))
                    .collect()
            },
            |map, text| {
                let hash = self.shards.hash(&*text);
                match map.find_entry(hash, is_text(&text)) {
                    Ok(entry) => entry.remove().0.1.by_template.len(),
                    Err(_) => 0,
                }
            },
        );
        shard.starts = shard.starts.saturating_sub(freed);
        let used = shard.lookups;
        let hasher = |(t, _): &(Box<str>, Starts)| self.shards.hash(&**t);
        let (_, starts) = match shard.map.find_mut(hash, is_text(text)) {
            Some(entry) => entry,
            None => shard
                .map
                .insert_unique(
                    hash,
                    (
                        text.into(),
                        Starts {
                            by_template: Vec::new(),
                            used,
                        },
                    ),
                    hasher,
                )
                .into_mut(),
        };
        starts.by_template.push((template, kept.clone()));
        shard.starts += 1;
    }

    /// The starts kept.
    #[cfg(test)]
    pub(crate) fn starts(&self) -> usize {
        self.shards.each().map(|shard| shard.starts).sum()
    }

    /// The texts kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards.each().map(|shard| shard.map.len()).sum()
    }
}

/// Whether an entry of a shard's table is `text`'s.
fn is_text(text: &str) -> impl Fn(&(Box<str>, Starts)) -> bool + '_ {
    move |(kept, _)| **kept == *text
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::SharedStarts;
    use crate::request::compose::fixed::{Composed, Kept};
    use crate::request::compose::segments::Segments;
    use crate::request::compose::{Marks, Part};
    use crate::request::draft::TemplateInfo;

    static GET: TemplateInfo = TemplateInfo::get("get");
    static OTHER: TemplateInfo = TemplateInfo::get("other");

    fn marks(host_end: usize) -> Marks {
        Marks {
            host_start: 8,
            host_end,
            query_start: None,
            part: Part::Path,
        }
    }

    fn kept(text: &str, host_end: usize) -> Arc<Kept> {
        Arc::new(Kept::new(Composed {
            text: text.into(),
            marks: marks(host_end),
            segments: Segments::Pending,
        }))
    }

    #[test]
    fn a_start_is_found_by_its_template_text_and_marks_only() {
        let starts = SharedStarts::new(16);
        let text = "https://a.example.com/api/";
        let start = kept(text, 21);
        starts.keep(&GET, text, &start);
        let found = starts.find(&GET, text, &marks(21)).expect("kept");
        assert!(Arc::ptr_eq(&found, &start), "the one kept, shared");
        assert!(
            starts.find(&OTHER, text, &marks(21)).is_none(),
            "another template's"
        );
        assert!(
            starts.find(&GET, text, &marks(25)).is_none(),
            "its host ending elsewhere"
        );
        assert!(
            starts
                .find(&GET, "https://b.example.com/api/", &marks(21))
                .is_none()
        );
        // Another template with the same text has its own start, beside the first.
        let other = kept(text, 21);
        starts.keep(&OTHER, text, &other);
        let found = starts.find(&OTHER, text, &marks(21)).expect("kept");
        assert!(Arc::ptr_eq(&found, &other));
        // The same start composed again by a concurrent client: the first kept stays.
        starts.keep(&GET, text, &kept(text, 21));
        let found = starts.find(&GET, text, &marks(21)).expect("kept");
        assert!(Arc::ptr_eq(&found, &start));
        assert_eq!(starts.len(), 1, "one text");
    }

    #[test]
    fn the_bound_holds_and_the_starts_in_use_stay() {
        let starts = SharedStarts::new(64);
        let text = |n: u32| format!("https://tenant-{n}.example.com/");
        let hot = text(0);
        let hot_start = kept(&hot, hot.len() - 1);
        starts.keep(&GET, &hot, &hot_start);
        for n in 1..1000 {
            let t = text(n);
            // Two templates' starts for each text: the bound counts starts, not texts.
            starts.keep(&GET, &t, &kept(&t, t.len() - 1));
            starts.keep(&OTHER, &t, &kept(&t, t.len() - 1));
            // One start used at every step.
            let found = starts.find(&GET, &hot, &marks(hot.len() - 1));
            assert!(
                found.is_some_and(|found| Arc::ptr_eq(&found, &hot_start)),
                "{n}"
            );
            assert!(starts.starts() <= 64, "{}", starts.starts());
        }
        assert!(starts.len() < 64, "{} texts", starts.len());
        let none = SharedStarts::new(0);
        none.keep(&GET, &hot, &hot_start);
        assert_eq!(none.len(), 0, "none kept");
        assert!(none.find(&GET, &hot, &marks(hot.len() - 1)).is_none());
    }
}
