//! Composing a request from a compiled template: literal text and encoded values are written
//! straight into the URL and headers, each encoded for where it lands, so a value can never
//! change the request's shape.

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue};
use percent_encoding::utf8_percent_encode;

use super::Shared;
use super::builder::RequestBuilder;
use super::draft::{Draft, NOT_HEADER_TEXT, TemplateInfo, TokenHeader, set_header};
use crate::error::InvokeError;
use crate::http_clients::Identity;
use crate::tokens::{InstallationId, Subject, UserId};

mod checks;
mod encode;
mod fixed;
mod literal;
mod path;
mod prefix;
mod segments;
mod starts;

use checks::invalid_host;
use encode::{HOST, PATH_PREFIX, is_dot_segment, split_slashes};
pub use fixed::{FixedPart, Installation};
pub use literal::{PathPart, PathText};
use prefix::PrefixMemo;
use segments::Segments;
pub(crate) use starts::{SHARED_STARTS, SharedStarts};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Host,
    Path,
    /// After a `?`.
    Query,
}

/// Where the parts of the composed text are, and which part is being written.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Marks {
    host_start: usize,
    host_end: usize,
    /// Where the query starts (at its `?`), once it has.
    query_start: Option<usize>,
    part: Part,
}

thread_local! {
    /// The text buffer of the last request composed on this thread, reused by the next one.
    static URL_BUFFER: Cell<String> = const { Cell::new(String::new()) };
}

/// A request being composed by a generated method. Errors are kept and returned by `send`.
pub struct Compose<'c> {
    /// The request, filled in place.
    draft: Box<Draft>,
    /// The URL's text: the origin, then the path and query, already encoded.
    url: String,
    marks: Marks,
    /// The path appended segment by segment to a parsed base, while it can be.
    segments: Segments,
    /// The client's fixed part of this template's requests.
    fixed: FixedStart<'c>,
    /// Where this call is with the path prefix its client keeps parsed.
    prefix: PrefixMemo<'c>,
}

/// Where a request is with its fixed part (the URL's fixed start and fixed headers).
enum FixedStart<'c> {
    /// It has none, or it failed.
    None,
    /// Being composed.
    Composing(&'c FixedPart),
    /// Kept by the client, its text this long.
    Kept(&'c FixedPart, usize),
    /// The client's first composition, not kept: the runtime's start for the same text (its
    /// parsed URLs), its text this long.
    Shared(Arc<fixed::Kept>, usize),
}

impl<'c> Compose<'c> {
    /// Starts a request for `template` on a runtime's `shared` parts, sending `installation`'s
    /// tokens (see `Compose::new`, where the runtime's handle gives them).
    // Inline, the composer is made where it lies: returned from a call, its few hundred bytes
    // were copied into the caller's.
    #[inline(always)]
    pub(crate) fn on(
        shared: &Arc<Shared>,
        installation: &InstallationId,
        template: &'static TemplateInfo,
    ) -> Self {
        let mut url = URL_BUFFER.take();
        url.clear();
        url.push_str(if template.https {
            "https://"
        } else {
            "http://"
        });
        let host_start = url.len();
        Compose {
            draft: Draft::new(shared.clone(), installation.clone(), template),
            url,
            marks: Marks {
                host_start,
                host_end: host_start,
                query_start: None,
                part: Part::Host,
            },
            segments: Segments::Pending,
            fixed: FixedStart::None,
            prefix: PrefixMemo::None,
        }
    }

    /// The part of the request that the client always sends the same (the URL's start and
    /// the headers, of literal text and installation parameters alone): copied from `fixed`
    /// when an earlier call kept it, and then false. True when the caller is to compose it
    /// now, then call [`keep_fixed`](Self::keep_fixed): every header set in between is part of
    /// it. It comes first.
    pub fn fixed(&mut self, fixed: &'c FixedPart) -> bool {
        match fixed.start() {
            Some(start) => {
                self.adopt(fixed, start.composed());
                for (name, value) in &start.headers {
                    set_header(&mut self.draft.headers, name.clone(), value.clone());
                }
                false
            }
            None => {
                debug_assert!(
                    self.draft.headers.is_empty(),
                    "the fixed part comes before any header"
                );
                self.fixed = FixedStart::Composing(fixed);
                true
            }
        }
    }

    /// Ends the fixed part composed after [`fixed`](Self::fixed) returned true: the client
    /// keeps it from its second composition (see `fixed`), unless it failed (a missing iparam,
    /// a refused header value, a refused path), when it is composed, and fails, at each call. A
    /// host is checked when the URL is parsed, whose failure is never kept: a start refused
    /// there fails at each call too. The same URL start kept by an earlier client of the
    /// runtime is shared, checked and parsed already; the headers are the client's own.
    pub fn keep_fixed(&mut self) {
        let FixedStart::Composing(fixed) = self.fixed else {
            return;
        };
        self.fixed = FixedStart::None;
        if self.draft.error.is_some() {
            return;
        }
        // Until a value comes, the text is the whole start (its segments are appended to a
        // parsed URL only when it began with a path prefix value: not shared then).
        let shareable = matches!(self.segments, Segments::Pending);
        let template = self.draft.template;
        let starts = &self.draft.shared.starts;
        if shareable && let Some(kept) = starts.find(template, &self.url, &self.marks) {
            // Found by this text and these marks: only its parsed path is taken up.
            self.segments = kept.composed.segments.clone();
            return self.hold_fixed(fixed, kept);
        }
        self.append_to_fixed_path();
        if self.draft.error.is_some() {
            return;
        }
        if !shareable && fixed.first_composition() {
            // Neither this client nor the runtime keeps it: nothing to make.
            return;
        }
        let kept = Arc::new(fixed::Kept::new(fixed::Composed {
            text: self.url.as_str().into(),
            marks: self.marks,
            segments: self.segments.clone(),
        }));
        // Parsing the fixed path left its text as it was: the shared start is found by it.
        if shareable {
            let starts = &self.draft.shared.starts;
            starts.keep(template, &kept.composed.text, &kept);
        }
        self.hold_fixed(fixed, kept);
    }

    /// The request's fixed part composed, as `kept`: kept by the client (with the headers set
    /// so far, the fixed ones) from its second composition, held by this request alone at its
    /// first.
    fn hold_fixed(&mut self, fixed: &'c FixedPart, kept: Arc<fixed::Kept>) {
        let len = self.url.len();
        if fixed.first_composition() {
            self.fixed = FixedStart::Shared(kept, len);
            return;
        }
        let headers: Box<[_]> = if self.draft.headers.is_empty() {
            Box::default()
        } else {
            (self.draft.headers.iter())
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect()
        };
        fixed.keep(kept, headers);
        self.fixed = FixedStart::Kept(fixed, len);
    }

    /// Takes up the start this client kept: its text, where its parts are, and its parsed path.
    #[inline]
    fn adopt(&mut self, fixed: &'c FixedPart, composed: &fixed::Composed) {
        self.url.clear();
        self.url.push_str(&composed.text);
        self.marks = composed.marks;
        self.segments = composed.segments.clone();
        self.fixed = FixedStart::Kept(fixed, self.url.len());
    }

    /// A fixed path that ends with `/` (`/api/v2/tickets/`, before the first value) is
    /// parsed now, once per client, so that each call appends its values to a copy of it.
    fn append_to_fixed_path(&mut self) {
        let Some(base) = self.url.strip_suffix('/') else {
            return;
        };
        let appendable = matches!(self.segments, Segments::Pending)
            && self.marks.part == Part::Path
            && base.len() >= self.marks.host_end
            && !base.ends_with('/')
            && self.path_follows_host(base.len());
        if !appendable {
            return;
        }
        match self.parse_base(base) {
            Ok(url) => {
                self.segments = Segments::appending(url, true);
            }
            Err(error) => self.draft.fail(error),
        }
    }

    /// The end user whose token an `agent` integration's template sends.
    pub fn user(&mut self, user: &UserId) {
        self.draft.subject = Subject::User(user.clone());
    }

    // Out of line, as every failure path below: the paths a request takes when all is well
    // stay short, and fit the processor's instruction cache.
    #[cold]
    #[inline(never)]
    fn fail(&mut self, placeholder: &'static str, reason: &'static str) {
        let template = self.draft.template.name;
        self.draft.fail(InvokeError::InvalidValue {
            template,
            placeholder,
            reason,
        });
    }

    /// The value of an optional installation parameter, or an error if it has none.
    pub fn require<'v>(&mut self, placeholder: &'static str, value: Option<&'v str>) -> &'v str {
        value.unwrap_or_else(|| {
            let template = self.draft.template.name;
            self.draft.fail(InvokeError::MissingIparam {
                template,
                placeholder,
            });
            ""
        })
    }

    /// Literal host text (checked when the crate was compiled).
    pub fn host_text(&mut self, text: &str) {
        if self.after_query("host") {
            return;
        }
        self.url.push_str(text);
        self.marks.host_end = self.url.len();
    }

    /// A value in the host: host-name characters only.
    pub fn host_value(&mut self, placeholder: &'static str, value: &str) {
        if self.after_query("host") {
            return;
        }
        if value.is_empty() {
            return self.fail(placeholder, "is empty, but it is part of the host name");
        }
        if !HOST.has_all(value) {
            return self.fail(
                placeholder,
                "is not a host name (letters, digits, `-`, `.` and an optional `:port`)",
            );
        }
        self.url.push_str(value);
        self.marks.host_end = self.url.len();
    }

    /// Whether the query's pairs have begun, when the host and path are complete (the URL was
    /// parsed at the first pair, and each pair is written into it): then `part` fails the
    /// request.
    fn after_query(&mut self, part: &'static str) -> bool {
        if self.draft.url.is_none() {
            return false;
        }
        self.fail(part, "is composed after the query's pairs");
        true
    }

    /// The path begins (if it has not); false, and the request failed, once the query's
    /// pairs have begun: nothing more is composed.
    fn enter_path(&mut self) -> bool {
        if self.after_query("path") {
            return false;
        }
        if self.marks.part == Part::Host {
            self.marks.part = Part::Path;
        }
        true
    }

    /// `text` (the start of the composed text: the origin and maybe some of the path) parsed,
    /// its host checked. Text within the URL's kept fixed start (literal text and
    /// installation parameters only, never a call's values) is parsed once for every client
    /// whose start is the same text (see `starts`).
    fn parse_base(&self, text: &str) -> Result<url::Url, Box<InvokeError>> {
        let parse = || {
            self.check_host()?;
            self.check_dot_segments(text.get(self.marks.host_end..).unwrap_or(""))?;
            url::Url::parse(text)
                .map_err(|_| invalid_host(self.draft.template.name, "does not make a valid URL"))
        };
        let kept = match &self.fixed {
            FixedStart::Kept(fixed, len) if text.len() <= *len => fixed.kept(),
            FixedStart::Shared(kept, len) if text.len() <= *len => Some(&**kept),
            _ => None,
        };
        match kept {
            Some(kept) => {
                debug_assert!(
                    kept.composed.text.starts_with(text),
                    "a text within the fixed start"
                );
                kept.parsed(text.len(), parse)
            }
            None => parse(),
        }
    }

    /// A value at the very start of the path: a path prefix such as `/org/project`. Its
    /// segments are appended to the parsed origin, as a hand-built request appends them.
    pub fn path_prefix_value(&mut self, placeholder: &'static str, value: &str) {
        if !self.enter_path() {
            return;
        }
        self.end_prefix();
        // The prefix the client keeps passed the checks below when it was kept.
        if self.at_origin(value) && self.replay_prefix(value) {
            return;
        }
        if !value.is_empty() && !value.starts_with('/') {
            return self.fail(placeholder, "must start with `/`, as it begins the path");
        }
        if split_slashes(value).any(is_dot_segment) {
            return self.fail(
                placeholder,
                "has a `.` or `..` segment, which would change the path",
            );
        }
        self.compose_prefix(value);
        self.prefix_appended();
    }

    /// Whether a prefix `value` begins the path, which is still to be parsed: its segments
    /// can then be appended to the parsed origin.
    fn at_origin(&self, value: &str) -> bool {
        self.url.len() == self.marks.host_end
            && !value.is_empty()
            && matches!(self.segments, Segments::Pending)
            && self.draft.error.is_none()
    }

    /// A path prefix value (checked) appended to the path.
    fn compose_prefix(&mut self, value: &str) {
        if self.at_origin(value) {
            let origin = self.url.as_str();
            match self.parse_base(origin) {
                Ok(url) => {
                    let mut segments = Segments::appending(url, false);
                    if segments.push_prefix(value) {
                        self.segments = segments;
                        return;
                    }
                }
                Err(error) => return self.draft.fail(error),
            }
        }
        if !self.segments.push_prefix(value) {
            self.leave_appending();
            self.url.extend(utf8_percent_encode(value, PATH_PREFIX));
        }
    }

    /// One `key=value` pair of the template's `query`, form-encoded. The path is complete
    /// from here on: the pair is written into the parsed URL.
    pub fn query(&mut self, key: &str, value: &str) {
        self.query_pairs(&[(key, value)]);
    }

    /// Several pairs of the template's `query` in a row, written in one pass of the URL's
    /// query serializer, as a request built by hand appends them.
    pub fn query_pairs(&mut self, pairs: &[(&str, &str)]) {
        if let Some(url) = self.parsed_url() {
            let mut query = url.query_pairs_mut();
            for (key, value) in pairs {
                query.append_pair(key, value);
            }
        }
    }

    /// A header (its name a constant of the generated code); the value must be one line. A
    /// header of the same name set before is replaced (a template's are distinct).
    pub fn header(&mut self, placeholder: &'static str, name: HeaderName, value: &str) {
        self.put_header(placeholder, name, value, false);
    }

    /// A header whose value reads a secure installation value: marked sensitive (HTTP/2 never
    /// indexes it; `Debug` of the built `reqwest::Request` shows `Sensitive`, not the value).
    pub fn secret_header(&mut self, placeholder: &'static str, name: HeaderName, value: &str) {
        self.put_header(placeholder, name, value, true);
    }

    fn put_header(
        &mut self,
        placeholder: &'static str,
        name: HeaderName,
        value: &str,
        secret: bool,
    ) {
        match HeaderValue::from_str(value) {
            Ok(mut value) => {
                value.set_sensitive(secret);
                set_header(&mut self.draft.headers, name, value);
            }
            Err(_) => self.fail(placeholder, NOT_HEADER_TEXT),
        }
    }

    /// A header carrying the access token between `prefix` and `suffix` (`Bearer `, ``);
    /// the header is checked with the token in it.
    pub fn token_header(
        &mut self,
        placeholder: &'static str,
        name: HeaderName,
        prefix: impl Into<Cow<'static, str>>,
        suffix: impl Into<Cow<'static, str>>,
    ) {
        self.draft.token_headers.push(TokenHeader {
            placeholder,
            name,
            prefix: prefix.into(),
            suffix: suffix.into(),
        });
    }

    /// The usual `Authorization: Bearer <access token>`.
    pub fn bearer(&mut self) {
        self.draft.token_headers.push_bearer();
    }

    /// Presents `certificate` and `key` (PEM) to the server, also trusting the authority
    /// `ca` (PEM) when given: the template's `options.security`. The client for that identity
    /// is built at its first send (an identity that cannot be used fails it, nothing sent)
    /// and reused after.
    pub fn client_identity(&mut self, certificate: &str, key: &str, ca: Option<&str>) {
        let kept = match self.fixed {
            FixedStart::Kept(fixed, _) => Some(fixed),
            FixedStart::None | FixedStart::Composing(_) | FixedStart::Shared(..) => None,
        };
        // The client's earlier calls made it from the same values: not copied nor digested
        // again (a digest of the PEM texts costs more than the rest of the request).
        let identity = match kept.and_then(FixedPart::identity) {
            Some(identity) if identity.is_made_of(certificate, key, ca) => identity.clone(),
            _ => {
                let identity = Arc::new(Identity::new(certificate, key, ca));
                if let Some(fixed) = kept {
                    fixed.keep_identity(&identity);
                }
                identity
            }
        };
        self.draft.extras_mut().identity = Some(identity);
    }

    /// Hands the composed request to the user as a builder.
    // Inline, the composer is ended where it lies: passed by value to a function, its few
    // hundred bytes would be copied at every call.
    #[inline(always)]
    pub fn finish(mut self) -> RequestBuilder {
        self.end();
        RequestBuilder::new(self.draft)
    }

    /// Completes the URL, and gives its text buffer back to the thread.
    fn end(&mut self) {
        self.parsed_url();
        // Not zeroed: a URL holds no secret (secure installation values may only go in
        // headers, which the checker enforces), and zeroing the buffer byte by byte cost
        // 10-20 ns a request. A buffer grown by an unusually long URL is let go rather than kept
        // by the thread.
        if self.url.capacity() <= 2048 {
            URL_BUFFER.set(std::mem::take(&mut self.url));
        }
    }

    /// The draft's URL, parsed from the text composed so far the first time it is asked for
    /// (at the first query pair, or at the end); `None` once the request has an error.
    #[inline]
    fn parsed_url(&mut self) -> Option<&mut url::Url> {
        if self.draft.url.is_none() {
            self.parse_composed();
        }
        self.draft.url.as_mut()
    }

    /// The path is over: its URL is made (the prefix ended first), unless the request has
    /// an error.
    fn parse_composed(&mut self) {
        self.end_prefix();
        if self.draft.error.is_none() {
            match self.parse_url() {
                Ok(url) => self.draft.url = Some(url),
                Err(error) => self.draft.fail(error),
            }
        }
    }

    fn parse_url(&mut self) -> Result<url::Url, Box<InvokeError>> {
        let segments = std::mem::replace(&mut self.segments, Segments::Whole);
        let no_values = matches!(segments, Segments::Pending);
        // Appended segments are never dot segments, and the base was checked when parsed.
        if let Some(url) = segments.finish() {
            return Ok(url);
        }
        let path_end = self.marks.query_start.unwrap_or(self.url.len());
        // A path without values is parsed (and checked) as a base, kept with the client's
        // fixed start. Any other is checked, then set on a copy of the parsed origin.
        let mut url = if no_values && self.path_follows_host(path_end) {
            self.parse_base(self.url.get(..path_end).unwrap_or(""))?
        } else {
            let path = self.url.get(self.marks.host_end..path_end).unwrap_or("");
            self.check_dot_segments(path)?;
            let mut url = self.parse_base(self.url.get(..self.marks.host_end).unwrap_or(""))?;
            url.set_path(path);
            url
        };
        if let Some(query) = self.url.get(path_end + 1..) {
            url.set_query(Some(query));
        }
        Ok(url)
    }
}

#[cfg(test)]
mod header_tests;
#[cfg(test)]
mod tests;
