//! How each part of a request is encoded, and the checks on values.

use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC};

/// A whole path segment: everything but unreserved characters is percent-encoded, `/` included.
pub(super) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// A path prefix: like a segment, but `/` separates segments.
pub(super) const PATH_PREFIX: &AsciiSet = &SEGMENT.remove(b'/');
/// Literal path text from the template: only what a URL path cannot hold.
pub(super) const PATH_TEXT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');
/// Literal query text from the template.
pub(super) const QUERY_TEXT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\'');

/// Bytes as a table: the checks on every value are a lookup per byte (a slice's `contains`
/// would be a search per byte).
pub(super) struct ByteSet([bool; 256]);

impl ByteSet {
    const fn of(bytes: &[u8]) -> ByteSet {
        let mut table = [false; 256];
        let mut i = 0;
        while i < bytes.len() {
            table[bytes[i] as usize] = true;
            i += 1;
        }
        ByteSet(table)
    }

    fn has_any(&self, text: &str) -> bool {
        text.bytes().any(|b| self.0[usize::from(b)])
    }

    pub(super) fn has_all(&self, text: &str) -> bool {
        text.bytes().all(|b| self.0[usize::from(b)])
    }

    pub(super) const fn contains(&self, byte: u8) -> bool {
        self.0[byte as usize]
    }
}

/// What [`SEGMENT`] encodes but the URL parser keeps as it is in a path segment, or drops: a
/// tab, a line feed and a carriage return vanish from its input (so `..\t` would become `..`
/// after the dot-segment checks), and every other control character is held out with them.
/// A value without these is encoded alike by both, so it can be appended with
/// `PathSegmentsMut::push` (which encodes with the parser's set) instead of being parsed.
const KEPT_BY_PARSER: ByteSet = ByteSet::of(
    b"!$&'()*+,;=:@[]^|\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f",
);

/// Whether `PathSegmentsMut::push` encodes `value` as [`SEGMENT`] does.
pub(super) fn encodes_alike(value: &str) -> bool {
    !KEPT_BY_PARSER.has_any(value)
}

/// The bytes a host value may hold: letters, digits, `-`, `.`, `_`, and `:`, `[`, `]` for a
/// port or an IPv6 address.
pub(super) const HOST: ByteSet =
    ByteSet::of(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._:[]");

/// What literal path text holds to be appended as a segment as it is: unreserved characters,
/// sub-delimiters, `:` and `@`, which neither [`PATH_TEXT`] nor the URL parser changes.
pub(super) const LITERAL: ByteSet =
    ByteSet::of(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@");

/// `.` and `..`, also percent-encoded: URL parsers resolve them, so they would change the path.
pub(super) fn is_dot_segment(segment: &str) -> bool {
    // Short-circuits: most segments neither start with `.` or `%` nor are short.
    segment.starts_with(['.', '%'])
        && segment.len() <= 6
        && [".", "..", "%2e", "%2e%2e", ".%2e", "%2e."]
            .iter()
            .any(|dot| segment.eq_ignore_ascii_case(dot))
}

pub(super) fn split_port(host: &str) -> (&str, Option<&str>) {
    if host.starts_with('[') {
        return match host.find("]:") {
            Some(i) => (host.get(..=i).unwrap_or(host), host.get(i + 2..)),
            None => (host, None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => (name, Some(port)),
        _ => (host, None),
    }
}

/// `text` split on `/`, as `str::split('/')` splits it. The pieces of a path are short: a
/// scan byte by byte beats the searcher behind `str::split`, whose setup costs more than the
/// scan.
pub(super) fn split_slashes(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.bytes().position(|b| b == b'/') {
            Some(at) => {
                rest = text.get(at + 1..);
                text.get(..at)
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

/// `text` before and after its first `?`, if it has one (see [`split_slashes`]).
pub(super) fn split_at_question_mark(text: &str) -> Option<(&str, &str)> {
    let at = text.bytes().position(|b| b == b'?')?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}
