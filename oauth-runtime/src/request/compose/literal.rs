//! Literal path text split on `/` and checked where the generated code is compiled (a
//! `const`), so that a call appends its segments without reading the text again: each
//! reading of it (for a `?`, for the slashes, for characters a segment cannot hold as they
//! are) costs about as much as appending it.

use super::encode::LITERAL;

/// How many parts (empty ones included: `/a/` is three) a split text holds at most.
pub(super) const MAX_PARTS: usize = 10;

/// A template's literal path text, split on `/` when the crate compiles (see
/// [`Compose::path_literal`](super::Compose::path_literal)). Text that cannot be appended as
/// whole segments as it is (a `?`, a character a segment encodes, a dot segment, many parts)
/// is not split, and is composed as [`Compose::path_text`](super::Compose::path_text) composes
/// it: the same request either way.
#[derive(Debug)]
pub struct PathText<'t> {
    text: &'t str,
    /// Where each part ends (the next starts one byte later, after its `/`).
    ends: [u16; MAX_PARTS],
    parts: u8,
    /// Whether every part is a literal segment (or empty), so that the split can be used.
    split: bool,
}

impl<'t> PathText<'t> {
    /// `text` split on `/`, each part checked.
    pub const fn new(text: &'t str) -> Self {
        let mut ends = [0u16; MAX_PARTS];
        let mut parts = 0;
        let mut split = text.len() < u16::MAX as usize;
        let mut rest = text.as_bytes();
        let (mut at, mut len, mut only_dots) = (0, 0, true);
        while split {
            let (byte, next) = match rest {
                [byte, next @ ..] => (Some(*byte), next),
                [] => (None, rest),
            };
            match byte {
                None | Some(b'/') => {
                    // `.` and `..` would change the path; `%` (for `%2e`) is not literal.
                    let dot_segment = only_dots && (len == 1 || len == 2);
                    if parts == MAX_PARTS || dot_segment {
                        split = false;
                        break;
                    }
                    ends[parts] = at as u16;
                    parts += 1;
                    if byte.is_none() {
                        break;
                    }
                    (len, only_dots) = (0, true);
                }
                // `?` (a query in the path) is not literal either.
                Some(byte) if LITERAL.contains(byte) => {
                    len += 1;
                    only_dots = only_dots && byte == b'.';
                }
                Some(_) => split = false,
            }
            rest = next;
            at += 1;
        }
        PathText {
            text,
            ends,
            parts: parts as u8,
            split,
        }
    }

    /// The text as the template has it.
    pub(super) fn text(&self) -> &'t str {
        self.text
    }

    /// Its parts between slashes, as `split('/')` gives them, when it was split.
    pub(super) fn parts(&self) -> Option<impl Iterator<Item = &'t str> + '_> {
        if !self.split {
            return None;
        }
        let text = self.text;
        let mut start = 0;
        let ends = self.ends.get(..usize::from(self.parts)).unwrap_or_default();
        Some(ends.iter().map(move |&end| {
            let part = text.get(start..usize::from(end)).unwrap_or_default();
            start = usize::from(end) + 1;
            part
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::PathText;

    fn parts(text: &str) -> Option<Vec<&str>> {
        PathText::new(text).parts().map(Iterator::collect)
    }

    #[test]
    fn literal_text_is_split_as_split_gives_it() {
        for text in [
            "/conversations/",
            "/a/b",
            "",
            "/",
            "//",
            "a",
            "/a~b!$&'()*+,;=:@-._/",
        ] {
            assert_eq!(parts(text), Some(text.split('/').collect()), "{text:?}");
        }
        // Made in a `const`, as the generated code makes it.
        const SPLIT: PathText<'static> = PathText::new("/tickets/");
        assert_eq!(
            SPLIT.parts().map(Iterator::collect),
            Some(vec!["", "tickets", ""])
        );
    }

    #[test]
    fn text_a_segment_cannot_hold_as_it_is_is_not_split() {
        for text in [
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
            assert_eq!(parts(text), None, "{text:?}");
        }
        // Dots within a segment are literal.
        assert_eq!(parts("/.../a.b"), Some(vec!["", "...", "a.b"]));
    }
}
