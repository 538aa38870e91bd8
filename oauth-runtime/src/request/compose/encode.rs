//! How each part of a request is encoded, and the checks on values.

use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};

/// A whole path segment: everything but unreserved characters is percent-encoded, `/` included.
pub(super) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// What a literal segment holds to be appended as it is: neither [`PATH_TEXT`] nor the URL
/// parser changes these characters (unreserved, sub-delimiters, `:` and `@`).
pub(super) const LITERAL_SEGMENT: &AsciiSet = &SEGMENT
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');
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

/// Whether `set` leaves `text` as it is: its first unencoded run is all of it.
pub(super) fn is_unencoded(text: &str, set: &'static AsciiSet) -> bool {
    utf8_percent_encode(text, set)
        .next()
        .is_some_and(|run| run.len() == text.len())
}

/// `.` and `..`, also percent-encoded: URL parsers resolve them, so they would change the path.
pub(super) fn is_dot_segment(segment: &str) -> bool {
    // Short-circuits on length: most segments are longer than six bytes.
    segment.len() <= 6
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
