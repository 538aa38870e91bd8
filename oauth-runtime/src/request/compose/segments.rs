//! The path appended segment by segment to a parsed base: once the base is parsed, only the
//! values and the text after it are appended, as a request built by hand appends them.

use super::encode::{encodes_alike, is_literal_segment};

/// The path as whole segments appended to a parsed base, while the template allows it. The
/// result is the URL that parsing the whole composed text gives (a property test holds them
/// equal); it only skips parsing the fixed part again.
///
/// While appending, the URL is the path: the composed text keeps only the origin, followed by
/// the segments queued to be appended in one go at the end (each call of the URL's path
/// setter costs a setup of its parser). If the path must go back to being parsed as a whole,
/// the text is made from the URL.
#[derive(Clone)]
pub(super) enum Segments {
    /// No value yet: the text composed so far is the base.
    Pending,
    /// The parsed base and the segments after it; `open` when the path ends with `/`, so the
    /// next value starts a segment.
    Appending {
        url: url::Url,
        open: bool,
        queued: Queued,
    },
    /// The path is parsed as a whole at the end: a value shares its segment with other text,
    /// or text after the base needs encoding.
    Whole,
}

/// Segments queued in the composed text after the origin: where each ends.
#[derive(Clone, Copy, Default)]
pub(super) struct Queued {
    ends: [usize; 8],
    count: usize,
}

/// The composed text and where the queued segments start in it (the origin's end).
pub(super) struct Text<'t> {
    pub(super) text: &'t mut String,
    pub(super) start: usize,
}

impl Segments {
    /// Appending to `url`, parsed from the text's start; the text after the origin is dropped.
    pub(super) fn appending(url: url::Url, open: bool, text: &mut Text<'_>) -> Segments {
        text.text.truncate(text.start);
        Segments::Appending {
            url,
            open,
            queued: Queued::default(),
        }
    }

    /// Appends literal path text; false, and nothing appended, when it cannot be.
    pub(super) fn push_text(&mut self, piece: &str, text: &mut Text<'_>) -> bool {
        self.push_pieces(piece, text, is_literal_segment)
    }

    /// Appends the segments of a path prefix value (`/org/project`, checked for dot
    /// segments); false, and nothing appended, when it cannot be.
    pub(super) fn push_prefix(&mut self, value: &str, text: &mut Text<'_>) -> bool {
        self.push_pieces(value, text, encodes_alike)
    }

    /// Appends a value that fills a whole segment (checked for dot segments); false, and
    /// nothing appended, when it does not fill one or the URL parser would encode it otherwise.
    pub(super) fn push_value(&mut self, value: &str, text: &mut Text<'_>) -> bool {
        match self {
            Segments::Appending {
                url,
                open: open @ true,
                queued,
            } if !value.is_empty() && encodes_alike(value) => {
                queued.push(url, value, text);
                *open = false;
                true
            }
            _ => false,
        }
    }

    /// Appends `piece` split on `/` when every part fits: text before the first `/` continues
    /// the last segment only if that is open, and no segment is empty (`//` is left to the
    /// whole parse). One pass over the text; a piece of more parts than the queue holds is
    /// left to the whole parse too.
    fn push_pieces(
        &mut self,
        piece: &str,
        text: &mut Text<'_>,
        fits: impl Fn(&str) -> bool,
    ) -> bool {
        let Segments::Appending { url, open, queued } = self else {
            return false;
        };
        let mut parts = [""; 8];
        let mut count = 0;
        let mut open_after = *open;
        for (index, part) in piece.split('/').enumerate() {
            let continues = index == 0;
            if part.is_empty() {
                // Empty before the first `/`: nothing to add. Empty after one: a trailing
                // `/`, which opens the path, or else an empty segment.
                if !continues {
                    if open_after {
                        return false;
                    }
                    open_after = true;
                }
                continue;
            }
            if open_after != continues || !fits(part) {
                return false;
            }
            let Some(slot) = parts.get_mut(count) else {
                return false;
            };
            *slot = part;
            count += 1;
            open_after = false;
        }
        for part in parts.iter().take(count) {
            queued.push(url, part, text);
        }
        *open = open_after;
        true
    }

    /// Appends the queued segments to the URL; the text keeps the origin only.
    pub(super) fn flush(&mut self, text: &mut Text<'_>) {
        if let Segments::Appending { url, queued, .. } = self {
            queued.flush(url, text);
        }
    }

    /// The URL with its path complete; `None` when the path is to be parsed as a whole.
    pub(super) fn finish(self, text: &mut Text<'_>) -> Option<url::Url> {
        match self {
            Segments::Appending {
                mut url,
                open,
                mut queued,
            } => {
                if open {
                    // A trailing `/`.
                    queued.push(&mut url, "", text);
                }
                queued.flush(&mut url, text);
                Some(url)
            }
            Segments::Pending | Segments::Whole => None,
        }
    }
}

impl Queued {
    /// Queues `segment` (encoded by the URL parser as [`SEGMENT`](super::encode::SEGMENT)
    /// would encode it, which the callers check).
    fn push(&mut self, url: &mut url::Url, segment: &str, text: &mut Text<'_>) {
        if self.count == self.ends.len() {
            self.flush(url, text);
        }
        text.text.push_str(segment);
        if let Some(end) = self.ends.get_mut(self.count) {
            *end = text.text.len();
            self.count += 1;
        }
    }

    fn flush(&mut self, url: &mut url::Url, text: &mut Text<'_>) {
        if self.count == 0 {
            return;
        }
        let queued = text.text.get(text.start..).unwrap_or("");
        let mut start = 0;
        let segments = self.ends.iter().take(self.count).map(|&end| {
            let end = end - text.start;
            let segment = queued.get(start..end).unwrap_or("");
            start = end;
            segment
        });
        // Bases are http(s) URLs, which always have path segments.
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(segments);
        }
        text.text.truncate(text.start);
        self.count = 0;
    }
}
