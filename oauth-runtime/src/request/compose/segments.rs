//! The path appended segment by segment to a parsed base: once the base is parsed, only the
//! values and the text after it are appended, as a request built by hand appends them.

use super::encode::{encodes_alike, is_literal_segment};

/// The path as whole segments appended to a parsed base, while the template allows it. The
/// result is the URL that parsing the whole composed text gives (a property test holds them
/// equal); it only skips parsing the fixed part again. While appending, the URL is the path
/// (the composed text is not kept up to date); if the path must go back to being parsed as a
/// whole, its text is made from the URL.
#[derive(Clone)]
pub(super) enum Segments {
    /// No value yet: the text composed so far is the base.
    Pending,
    /// The parsed base and the segments after it; `open` when the path ends with `/`, so the
    /// next value starts a segment.
    Appending { url: url::Url, open: bool },
    /// The path is parsed as a whole at the end: a value shares its segment with other text,
    /// or text after the base needs encoding.
    Whole,
}

impl Segments {
    /// Appends literal path text; false, and nothing appended, when it cannot be.
    pub(super) fn push_text(&mut self, text: &str) -> bool {
        self.push_pieces(text, is_literal_segment)
    }

    /// Appends the segments of a path prefix value (`/org/project`, checked for dot
    /// segments); false, and nothing appended, when it cannot be.
    pub(super) fn push_prefix(&mut self, value: &str) -> bool {
        self.push_pieces(value, encodes_alike)
    }

    /// Appends a value that fills a whole segment (checked for dot segments); false, and
    /// nothing appended, when it does not fill one or the URL parser would encode it otherwise.
    pub(super) fn push_value(&mut self, value: &str) -> bool {
        match self {
            Segments::Appending {
                url,
                open: open @ true,
            } if !value.is_empty() && encodes_alike(value) => {
                push(url, &[value]);
                *open = false;
                true
            }
            _ => false,
        }
    }

    /// Appends `piece` split on `/` when every part fits: text before the first `/` continues
    /// the last segment only if that is open, and no segment is empty (`//` is left to the
    /// whole parse). One pass over the text; a piece of more parts than eight is left to the
    /// whole parse too.
    fn push_pieces(&mut self, piece: &str, fits: impl Fn(&str) -> bool) -> bool {
        let Segments::Appending { url, open } = self else {
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
        push(url, parts.get(..count).unwrap_or_default());
        *open = open_after;
        true
    }

    /// The URL with its path complete; `None` when the path is to be parsed as a whole.
    pub(super) fn finish(self) -> Option<url::Url> {
        match self {
            Segments::Appending { mut url, open } => {
                if open {
                    // A trailing `/`.
                    push(&mut url, &[""]);
                }
                Some(url)
            }
            Segments::Pending | Segments::Whole => None,
        }
    }
}

/// Appends `segments`, encoded by the URL parser (as [`SEGMENT`](super::encode::SEGMENT)
/// would encode them, which the callers check), in one pass of its path setter.
fn push(url: &mut url::Url, segments: &[&str]) {
    if segments.is_empty() {
        return;
    }
    // Bases are http(s) URLs, which always have path segments.
    if let Ok(mut path) = url.path_segments_mut() {
        path.extend(segments);
    }
}
