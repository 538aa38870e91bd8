//! The path appended segment by segment to a parsed base: only the values are parsed per
//! call, not the text before them.

use super::encode::{LITERAL_SEGMENT, is_dot_segment, is_unencoded};

/// The path as whole segments appended to a parsed base, while the template allows it. The
/// result is the URL that parsing the whole composed text gives (a property test holds them
/// equal); it only skips parsing the fixed part again.
#[derive(Clone)]
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
