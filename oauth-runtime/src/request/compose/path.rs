//! The path after the host: literal text and values, each appended as whole segments to the
//! parsed base while it can be (as a hand-built request pushes them), else composed as text,
//! each part encoded for where it lands, to be parsed whole.

use percent_encoding::utf8_percent_encode;

use super::encode::{
    PATH_TEXT, QUERY_TEXT, SEGMENT, encodes_alike, is_dot_segment, split_at_question_mark,
};
use super::literal::{PathPart, PathText};
use super::prefix::PrefixMemo;
use super::segments::Segments;
use super::{Compose, Part};

impl Compose<'_> {
    /// Literal path text from the template; a `?` in it starts the query string.
    pub fn path_text(&mut self, text: &str) {
        if !self.enter_path() || self.prefix_text(text) {
            return;
        }
        let mut rest = text;
        while !rest.is_empty() {
            if self.marks.part == Part::Query {
                self.url.extend(utf8_percent_encode(rest, QUERY_TEXT));
                return;
            }
            let (path, query) = match split_at_question_mark(rest) {
                Some((path, query)) => (path, Some(query)),
                None => (rest, None),
            };
            if !self.segments.push_text(path) {
                self.leave_appending();
                self.url.extend(utf8_percent_encode(path, PATH_TEXT));
            }
            let Some(query) = query else {
                return;
            };
            // A query in the path: its text is parsed with the path.
            self.leave_appending();
            self.start_query();
            rest = query;
        }
    }

    /// [`path_text`](Self::path_text), the text split on `/` and checked when the crate
    /// compiled (`const`): its segments appended without reading it again. Text that was not
    /// split (see [`PathText`]: a `?`, a character to encode, a dot or empty segment) is
    /// composed as `path_text` composes it.
    pub fn path_literal(&mut self, text: &PathText<'_>) {
        if !text.is_split() {
            return self.path_text(text.text());
        }
        if !self.enter_path() || self.prefix_text(text.text()) {
            return;
        }
        if self.marks.part == Part::Query {
            self.url
                .extend(utf8_percent_encode(text.text(), QUERY_TEXT));
        } else if !self.segments.push_literal(text) {
            // Split text has nothing `PATH_TEXT` encodes.
            self.leave_appending();
            self.url.push_str(text.text());
        }
    }

    /// Several parts of the path in a row (the template's text and values after the URL's
    /// fixed start): appended to the parsed URL in one pass when each can be, as a request
    /// built by hand pushes its segments. Parts that cannot be (the path not parsed yet, a
    /// path prefix's text to meet, a value to encode otherwise) are composed one by one as
    /// [`path_literal`](Self::path_literal) and [`path_value`](Self::path_value) compose
    /// them, until the rest can be. The same request either way.
    pub fn path(&mut self, parts: &[PathPart<'_>]) {
        let mut rest = parts;
        if let PrefixMemo::Replaying { .. } = self.prefix {
            rest = self.meet_kept_text(rest);
        }
        loop {
            // While a prefix is gathered, its text is met one part at a time (see `prefix`).
            let appended = match self.prefix {
                PrefixMemo::None => self.segments.push_path(rest),
                _ => 0,
            };
            let Some((part, more)) = rest.get(appended..).and_then(<[_]>::split_first) else {
                return;
            };
            match *part {
                PathPart::Literal(text) => self.path_literal(text),
                PathPart::Value(placeholder, value) => self.path_value(placeholder, value),
            }
            rest = more;
        }
    }

    fn start_query(&mut self) {
        self.marks.query_start = Some(self.url.len());
        self.url.push('?');
        self.marks.part = Part::Query;
    }

    /// A value inside the path: one segment (its `/` are encoded), or a query value after `?`.
    pub fn path_value(&mut self, placeholder: &'static str, value: &str) {
        if !self.enter_path() {
            return;
        }
        self.end_prefix();
        if self.marks.part == Part::Query {
            self.url
                .extend(form_urlencoded::byte_serialize(value.as_bytes()));
            return;
        }
        // A dot segment is never appended: it is refused below.
        if self.segments.push_value(value) {
            return;
        }
        if is_dot_segment(value) {
            return self.fail(placeholder, "is `.` or `..`, which would change the path");
        }
        self.leave_appending();
        let start = self.url.len();
        self.url.extend(utf8_percent_encode(value, SEGMENT));
        if matches!(self.segments, Segments::Pending) {
            self.start_appending(start, value);
        }
    }

    /// The first path value (its text starts at `start`): the text before it is parsed as the
    /// base, and the value appended, when the value fills a whole segment.
    fn start_appending(&mut self, start: usize, value: &str) {
        let base = self
            .url
            .get(..start)
            .and_then(|text| text.strip_suffix('/'))
            // A base ending in `/` (the text had `//`) would lose its empty segment when the
            // path is just `/`: the whole parse keeps it.
            .filter(|base| base.len() >= self.marks.host_end && !base.ends_with('/'))
            .filter(|base| self.path_follows_host(base.len()));
        let fills_segment = !value.is_empty() && encodes_alike(value);
        let (Some(base), true, None) = (base, fills_segment, &self.draft.error) else {
            self.segments = Segments::Whole;
            return;
        };
        match self.parse_base(base) {
            Ok(url) => {
                let mut segments = Segments::appending(url, true);
                // A value that cannot be appended (a dot segment, refused before it comes
                // here) leaves the whole text, already composed, to be parsed and checked.
                self.segments = if segments.push_value(value) {
                    segments
                } else {
                    Segments::Whole
                };
            }
            Err(error) => {
                self.draft.fail(error);
                self.segments = Segments::Whole;
            }
        }
    }

    /// Whether the composed text up to `end` is the origin, then a path that starts with `/`:
    /// parsed as it is, nothing after the host can join the host (an empty path prefix
    /// followed by `.evil.com/x` would make `api.example.com.evil.com`).
    pub(super) fn path_follows_host(&self, end: usize) -> bool {
        let path = self.url.get(self.marks.host_end..end).unwrap_or("");
        path.is_empty() || path.starts_with('/')
    }

    /// Goes back to composing the path as text, to be parsed whole: the text is made from the
    /// path appended so far.
    pub(super) fn leave_appending(&mut self) {
        if let Segments::Appending { url, open, .. } = &self.segments {
            self.url.truncate(self.marks.host_end);
            self.url.push_str(url.path());
            // An open path ends with `/` in the text; the URL has it only when it is just `/`.
            if *open && !self.url.ends_with('/') {
                self.url.push('/');
            }
            self.segments = Segments::Whole;
        }
    }
}
