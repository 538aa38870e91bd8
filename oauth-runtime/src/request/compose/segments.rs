//! The path appended segment by segment to a parsed base: once the base is parsed, only the
//! values and the text after it are appended, as a request built by hand appends them.

use super::encode::{encodes_alike, is_dot_segment, split_slashes};
use super::literal::{MAX_PARTS, PathPart, PathText};

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
    /// Appending to `url`, parsed from the composed text: `open` when that ended with `/`.
    pub(super) fn appending(url: url::Url, open: bool) -> Self {
        Segments::Appending { url, open }
    }

    /// Appends literal path text (split now, as it is split when compiled); false, and nothing
    /// appended, when it cannot be.
    pub(super) fn push_text(&mut self, text: &str) -> bool {
        self.push_literal(&PathText::new(text))
    }

    /// Appends the segments of a path prefix value (`/org/project`, checked for dot
    /// segments); false, and nothing appended, when it cannot be.
    pub(super) fn push_prefix(&mut self, value: &str) -> bool {
        let parts = split_slashes(value).map(|part| (part, encodes_alike(part)));
        self.push_parts(parts)
    }

    /// Appends a value that fills a whole segment (checked for dot segments); false, and
    /// nothing appended, when it does not fill one or the URL parser would encode it otherwise.
    pub(super) fn push_value(&mut self, value: &str) -> bool {
        self.push_path(&[PathPart::Value("", value)]) == 1
    }

    /// Appends literal path text split when the crate compiled; false, and nothing appended,
    /// when its first segment would continue the path's last one, or follow an empty one.
    pub(super) fn push_literal(&mut self, text: &PathText<'_>) -> bool {
        self.push_path(&[PathPart::Literal(text)]) == 1
    }

    /// Appends the parts of `parts` that fit, from the first until one does not, in one pass of
    /// the URL's path setter; how many. Literal text fits when it was split and its first
    /// segment neither continues the path's last one (unless that ends with `/`) nor follows an
    /// empty one; a value, when it fills a whole segment as the URL parser leaves it (not a dot
    /// segment).
    pub(super) fn push_path(&mut self, parts: &[PathPart<'_>]) -> usize {
        let Segments::Appending { url, open } = self else {
            return 0;
        };
        let mut open_after = *open;
        let mut fitting = 0;
        for part in parts {
            match *part {
                PathPart::Literal(text) => {
                    if !text.is_split() || text.starts_segment() == open_after {
                        break;
                    }
                    open_after = text.ends_open();
                }
                PathPart::Value(_, value) => {
                    let fills = !value.is_empty() && encodes_alike(value) && !is_dot_segment(value);
                    if !open_after || !fills {
                        break;
                    }
                    open_after = false;
                }
            }
            fitting += 1;
        }
        match parts.get(..fitting).unwrap_or_default() {
            [] => return 0,
            [part] => append(url, part.segments()),
            taken => append(url, taken.iter().flat_map(PathPart::segments)),
        }
        *open = open_after;
        fitting
    }

    /// Appends a path prefix split on `/` (its `parts`, each with whether it fits in a segment
    /// as it is) when every part fits: text before the first `/` continues the last segment only
    /// if that is open, and no segment is empty (`//` is left to the whole parse), as
    /// [`PathText`] splits literal text. A prefix of more parts than `MAX_PARTS` is left to the
    /// whole parse too.
    fn push_parts<'p>(&mut self, pieces: impl Iterator<Item = (&'p str, bool)>) -> bool {
        let Segments::Appending { url, open } = self else {
            return false;
        };
        let mut parts = [""; MAX_PARTS];
        let mut count = 0;
        let mut open_after = *open;
        for (index, (part, fits)) in pieces.enumerate() {
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
            if open_after != continues || !fits {
                return false;
            }
            let Some(slot) = parts.get_mut(count) else {
                return false;
            };
            *slot = part;
            count += 1;
            open_after = false;
        }
        append(url, parts.get(..count).unwrap_or_default());
        *open = open_after;
        true
    }

    /// The URL with its path complete; `None` when the path is to be parsed as a whole.
    pub(super) fn finish(self) -> Option<url::Url> {
        match self {
            Segments::Appending { mut url, open } => {
                if open {
                    // A trailing `/`.
                    append(&mut url, &[""]);
                }
                Some(url)
            }
            Segments::Pending | Segments::Whole => None,
        }
    }
}

/// Appends `segments`, encoded by the URL parser (as [`SEGMENT`](super::encode::SEGMENT)
/// would encode them, which the callers check), in one pass of its path setter.
/// Nothing is done when there are none (text that only ends the path with `/`).
fn append<'s>(url: &mut url::Url, segments: impl IntoIterator<Item = &'s &'s str> + Clone) {
    if segments.clone().into_iter().next().is_none() {
        return;
    }
    // Bases are http(s) URLs, which always have path segments.
    if let Ok(mut path) = url.path_segments_mut() {
        path.extend(segments);
    }
}
