//! Parsing what is fixed once: the URL's base (the origin and the template's literal path up
//! to its first value) is parsed the first time a runtime sees it; each request clones it and
//! appends its values as whole path segments, so only the values are parsed per call.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use super::encode::{LITERAL_SEGMENT, is_dot_segment, is_unencoded};
use crate::error::InvokeError;

/// The parsed URL bases (`https://host:port`, `https://host/api/v2/tickets`) of one runtime,
/// by their text. Parsing a host name (IDNA included) costs more than the rest of a request,
/// and a client sends to few hosts and templates. Each thread keeps its own copies, so a
/// lookup takes no lock.
pub(crate) struct Bases {
    /// Tells this runtime's bases from another's: they are checked against its settings.
    runtime: u64,
}

impl Default for Bases {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Bases {
            runtime: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }
}

type ParsedBases = HashMap<Box<str>, url::Url, BuildHasherDefault<TextHasher>>;

thread_local! {
    /// This thread's parsed bases, by runtime; the runtime that last parsed one goes last.
    static PARSED: RefCell<Vec<(u64, ParsedBases)>> = const { RefCell::new(Vec::new()) };
}

impl Bases {
    /// Beyond this many bases per runtime and thread new ones are parsed each time, so memory
    /// stays bounded.
    const MAX: usize = 256;
    /// Runtimes whose bases a thread keeps; the one that parsed a base longest ago is
    /// forgotten first.
    const RUNTIMES: usize = 8;

    /// A copy of the parsed `text`; `parse` checks and parses it the first time.
    pub(super) fn get_or_parse(
        &self,
        text: &str,
        parse: impl FnOnce() -> Result<url::Url, InvokeError>,
    ) -> Result<url::Url, InvokeError> {
        let cached = PARSED.with_borrow(|runtimes| {
            let (_, parsed) = runtimes.iter().rev().find(|(id, _)| *id == self.runtime)?;
            parsed.get(text).cloned()
        });
        if let Some(url) = cached {
            return Ok(url);
        }
        let url = parse()?;
        PARSED.with_borrow_mut(|runtimes| {
            let at = match runtimes.iter().position(|(id, _)| *id == self.runtime) {
                Some(at) => at,
                None => {
                    if runtimes.len() == Self::RUNTIMES {
                        runtimes.remove(0);
                    }
                    runtimes.push((self.runtime, ParsedBases::default()));
                    runtimes.len() - 1
                }
            };
            // The runtime that parsed last goes last.
            let entry = runtimes.remove(at);
            runtimes.push(entry);
            if let Some((_, parsed)) = runtimes.last_mut()
                && parsed.len() < Self::MAX
            {
                parsed.insert(text.into(), url.clone());
            }
        });
        Ok(url)
    }
}

/// A fast hash of short texts, eight bytes at a time (the multiply-rotate of rustc's FxHash).
/// It does not resist chosen collisions, which is harmless here: a map never holds more than
/// [`Bases::MAX`] entries, and they come from the app's own templates and iparams.
#[derive(Default)]
struct TextHasher(u64);

impl Hasher for TextHasher {
    fn write(&mut self, bytes: &[u8]) {
        const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
        }
        let mut word = [0u8; 8];
        let rest = chunks.remainder();
        word[..rest.len()].copy_from_slice(rest);
        self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The path as whole segments appended to a parsed base, while the template allows it. The
/// result is the URL that parsing the whole composed text gives (a property test holds them
/// equal); it only skips parsing the fixed part again.
pub(super) enum Segments {
    /// No value yet: the text composed so far is the base.
    Pending,
    /// The parsed base and the segments after it; `open` when the text ended with `/`, so
    /// the next value starts a segment.
    Appending { url: url::Url, open: bool },
    /// The path is parsed as a whole at the end: a value shares its segment with other text,
    /// or text after the base needs encoding.
    Whole,
}

impl Segments {
    /// Literal path text after the base: its segments are appended as they are.
    pub(super) fn text(&mut self, text: &str) {
        let Segments::Appending { url, open } = self else {
            return;
        };
        let mut pieces = text.split('/');
        let mut appended = true;
        // The text before its first `/` continues the current segment.
        if let Some(first) = pieces.next().filter(|first| !first.is_empty()) {
            appended = *open && push_literal(url, first);
            *open = false;
        }
        for piece in pieces {
            if !appended || *open {
                // An empty segment (`//`) is left to the whole parse.
                appended = false;
                break;
            }
            *open = piece.is_empty();
            appended = piece.is_empty() || push_literal(url, piece);
        }
        if !appended {
            *self = Segments::Whole;
        }
    }

    /// A value that fills a whole segment once it is encoded: appended when it is `plain`
    /// (nothing in it to encode), else the path is parsed as a whole.
    pub(super) fn value(&mut self, value: &str, plain: bool) {
        match self {
            Segments::Appending {
                url,
                open: open @ true,
            } if plain => {
                push(url, value);
                *open = false;
            }
            _ => *self = Segments::Whole,
        }
    }

    /// The URL with its path complete; `None` when the path is to be parsed as a whole.
    pub(super) fn finish(self) -> Option<url::Url> {
        match self {
            Segments::Appending { mut url, open } => {
                if open {
                    // A trailing `/`.
                    push(&mut url, "");
                }
                Some(url)
            }
            Segments::Pending | Segments::Whole => None,
        }
    }
}

/// Appends a literal segment if neither our encoding nor the URL parser would change it.
fn push_literal(url: &mut url::Url, segment: &str) -> bool {
    let plain = is_unencoded(segment, LITERAL_SEGMENT) && !is_dot_segment(segment);
    if plain {
        push(url, segment);
    }
    plain
}

fn push(url: &mut url::Url, segment: &str) {
    // Bases are http(s) URLs, which always have path segments.
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.push(segment);
    }
}
