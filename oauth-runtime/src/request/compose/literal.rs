//! Literal path text split on `/` and checked where the generated code is compiled (a
//! `const`), so that a call appends its segments without reading the text again: each
//! reading of it (for a `?`, for the slashes, for characters a segment cannot hold as they
//! are) costs about as much as appending it.

use super::encode::LITERAL;

/// How many parts (empty ones included: `/a/` is three) text split on `/` holds at most.
pub(super) const MAX_PARTS: usize = 10;

/// A template's literal path text, split on `/` when the crate compiles (see
/// [`Compose::path_literal`](super::Compose::path_literal)): its segments, ready to be
/// appended. Text that cannot be appended as whole segments as it is (empty, a `?`, a
/// character a segment encodes, a dot segment, an empty segment, many parts) is not split,
/// and is composed as [`Compose::path_text`](super::Compose::path_text) composes it: the same
/// request either way.
#[derive(Debug)]
pub struct PathText<'t> {
    text: &'t str,
    /// The text's segments (its parts between slashes, but the empty first and last).
    segments: [&'t str; MAX_PARTS],
    count: u8,
    /// Whether it was split: every part but the first and the last is a literal segment, and
    /// those are too or empty.
    split: bool,
}

impl<'t> PathText<'t> {
    /// `text` split on `/`, each part checked.
    pub const fn new(text: &'t str) -> Self {
        let mut segments = [""; MAX_PARTS];
        let (mut count, mut parts) = (0, 0);
        let bytes = text.as_bytes();
        let mut split = !bytes.is_empty();
        let (mut start, mut at, mut only_dots) = (0, 0, true);
        while split && at <= bytes.len() {
            let byte = if at < bytes.len() {
                Some(bytes[at])
            } else {
                None
            };
            match byte {
                None | Some(b'/') => {
                    let len = at - start;
                    // `.` and `..` would change the path; `%` (for `%2e`) is not literal.
                    let dot_segment = only_dots && (len == 1 || len == 2);
                    // Only the first part (before the first `/`) and the last (after the
                    // last) may be empty.
                    let empty_inside = len == 0 && parts > 0 && byte.is_some();
                    if parts == MAX_PARTS || dot_segment || empty_inside {
                        split = false;
                    } else if len > 0 {
                        match part(text, start, at) {
                            Some(segment) => {
                                segments[count] = segment;
                                count += 1;
                            }
                            None => split = false,
                        }
                    }
                    parts += 1;
                    (start, only_dots) = (at + 1, true);
                }
                // `?` (a query in the path) is not literal either.
                Some(byte) if LITERAL.contains(byte) => only_dots = only_dots && byte == b'.',
                Some(_) => split = false,
            }
            at += 1;
        }
        PathText {
            text,
            segments,
            count: count as u8,
            split,
        }
    }

    /// The text as the template has it.
    pub(super) fn text(&self) -> &'t str {
        self.text
    }

    /// Whether the text was split.
    pub(super) fn is_split(&self) -> bool {
        self.split
    }

    /// Its segments, in their order.
    pub(super) fn segments(&self) -> &[&'t str] {
        self.segments
            .get(..usize::from(self.count))
            .unwrap_or_default()
    }

    /// Whether the text starts with `/`: it begins a segment after the path, which must not
    /// end with `/` then (`//` is an empty segment). Otherwise its first segment continues
    /// the path's last one, which must end with `/`.
    pub(super) fn starts_segment(&self) -> bool {
        self.text.starts_with('/')
    }

    /// Whether the path ends with `/` after it.
    pub(super) fn ends_open(&self) -> bool {
        self.text.ends_with('/')
    }
}

/// One part of a template's path after the URL's fixed start, for
/// [`Compose::path`](super::Compose::path).
#[derive(Debug, Clone, Copy)]
pub enum PathPart<'a> {
    /// Literal text, split when the crate compiled.
    Literal(&'a PathText<'a>),
    /// A value filling a segment: its placeholder (named in errors), and its text.
    Value(&'static str, &'a str),
}

impl<'a> PathPart<'a> {
    /// The segments it appends, when it can be appended as it is.
    pub(super) fn segments(&self) -> &[&'a str] {
        match self {
            PathPart::Literal(text) => text.segments(),
            PathPart::Value(_, value) => std::slice::from_ref(value),
        }
    }
}

/// `text[start..end]`, in a `const`.
const fn part(text: &str, start: usize, end: usize) -> Option<&str> {
    match text.split_at_checked(end) {
        Some((before, _)) => match before.split_at_checked(start) {
            Some((_, part)) => Some(part),
            None => None,
        },
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::PathText;

    fn segments(text: &str) -> Option<Vec<&str>> {
        let split = PathText::new(text);
        split.is_split().then(|| split.segments().to_vec())
    }

    #[test]
    fn literal_text_is_split_into_its_segments() {
        for text in [
            "/conversations/",
            "/a/b",
            "/",
            "a",
            "a/",
            "/a~b!$&'()*+,;=:@-._/",
            "/a/b/c/d/e/f/g/h/i",
        ] {
            let parts: Vec<_> = text.split('/').filter(|p| !p.is_empty()).collect();
            assert_eq!(segments(text), Some(parts), "{text:?}");
        }
        // Made in a `const`, as the generated code makes it.
        const SPLIT: &PathText<'static> = &PathText::new("/tickets/");
        assert_eq!(SPLIT.segments(), ["tickets"]);
        assert!(SPLIT.starts_segment() && SPLIT.ends_open());
        let continues = PathText::new(".json");
        assert!(!continues.starts_segment() && !continues.ends_open());
        let (begins, opens) = (PathText::new("/a"), PathText::new("a/"));
        assert!(begins.starts_segment() && !begins.ends_open());
        assert!(!opens.starts_segment() && opens.ends_open());
    }

    #[test]
    fn text_a_segment_cannot_hold_as_it_is_is_not_split() {
        for text in [
            "",
            "//",
            "/a//b",
            "/a?b=c",
            "/a b",
            "/./a",
            "/a/..",
            "/a/../b",
            "/%2e/",
            "/a#b",
            "/é",
            "/a%20b",
            "/1/2/3/4/5/6/7/8/9/10",
        ] {
            assert_eq!(segments(text), None, "{text:?}");
        }
        // Dots within a segment are literal.
        assert_eq!(segments("/.../a.b"), Some(vec!["...", "a.b"]));
    }
}
