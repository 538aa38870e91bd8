//! Composing a request from a compiled template: literal text and encoded values are written
//! straight into the URL and headers, each encoded for where it lands, so a value can never
//! change the request's shape.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::InvokeError;
use crate::request::RequestBuilder;
use crate::runtime::Runtime;
use crate::tokens::{Subject, UserId};

/// An HTTP method a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

impl MethodKind {
    /// The method's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            MethodKind::Get => "GET",
            MethodKind::Post => "POST",
            MethodKind::Put => "PUT",
            MethodKind::Patch => "PATCH",
            MethodKind::Delete => "DELETE",
        }
    }

    pub(crate) fn to_reqwest(self) -> reqwest::Method {
        match self {
            MethodKind::Get => reqwest::Method::GET,
            MethodKind::Post => reqwest::Method::POST,
            MethodKind::Put => reqwest::Method::PUT,
            MethodKind::Patch => reqwest::Method::PATCH,
            MethodKind::Delete => reqwest::Method::DELETE,
        }
    }
}

/// What the generated code knows about a template at compile time.
#[derive(Debug)]
pub struct TemplateInfo {
    /// The template's name in `requests.json`.
    pub name: &'static str,
    /// Its method.
    pub method: MethodKind,
    /// `https` (true) or `http`.
    pub https: bool,
    /// The integration whose token it sends, if any.
    pub integration: Option<&'static str>,
    /// `options.maxAttempts` (1 when absent).
    pub max_attempts: u8,
    /// `options.retryDelay` in milliseconds.
    pub retry_delay_ms: u16,
    /// The keys of the template's `query`: they win over keys given at invoke time.
    pub query_keys: &'static [&'static str],
}

/// A whole path segment: everything but unreserved characters is percent-encoded, `/` included.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// A path prefix: like a segment, but `/` separates segments.
const PATH_PREFIX: &AsciiSet = &SEGMENT.remove(b'/');
/// Literal path text from the template: only what a URL path cannot hold.
const PATH_TEXT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');
/// Literal query text from the template.
const QUERY_TEXT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\'');

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Host,
    Path,
    /// After a `?`.
    Query,
}

/// A request being composed by a generated method. Errors are kept and returned by `send`.
pub struct Compose {
    runtime: Runtime,
    template: &'static TemplateInfo,
    url: String,
    host_start: usize,
    host_end: usize,
    part: Part,
    headers: HeaderMap,
    token_headers: Vec<(HeaderName, String, String)>,
    subject: Subject,
    error: Option<InvokeError>,
}

impl Compose {
    /// Starts a request for `template`.
    pub fn new(runtime: &Runtime, template: &'static TemplateInfo) -> Self {
        let mut url = String::with_capacity(96);
        url.push_str(if template.https {
            "https://"
        } else {
            "http://"
        });
        let host_start = url.len();
        Compose {
            runtime: runtime.clone(),
            template,
            url,
            host_start,
            host_end: host_start,
            part: Part::Host,
            headers: HeaderMap::new(),
            token_headers: Vec::new(),
            subject: Subject::Installation,
            error: None,
        }
    }

    /// The end user whose token an `agent` integration's template sends.
    pub fn user(&mut self, user: &UserId) {
        self.subject = Subject::User(user.clone());
    }

    fn fail(&mut self, placeholder: &'static str, reason: &'static str) {
        if self.error.is_none() {
            self.error = Some(InvokeError::InvalidValue {
                template: self.template.name,
                placeholder,
                reason,
            });
        }
    }

    /// The value of an optional installation parameter, or an error if it has none.
    pub fn require<'v>(&mut self, placeholder: &'static str, value: Option<&'v str>) -> &'v str {
        value.unwrap_or_else(|| {
            if self.error.is_none() {
                self.error = Some(InvokeError::MissingIparam {
                    template: self.template.name,
                    placeholder,
                });
            }
            ""
        })
    }

    /// Literal host text (checked when the crate was compiled).
    pub fn host_text(&mut self, text: &str) {
        self.url.push_str(text);
        self.host_end = self.url.len();
    }

    /// A value in the host: host-name characters only.
    pub fn host_value(&mut self, placeholder: &'static str, value: &str) {
        if value.is_empty() {
            return self.fail(placeholder, "is empty, but it is part of the host name");
        }
        if !value.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':' | b'[' | b']')
        }) {
            return self.fail(
                placeholder,
                "is not a host name (letters, digits, `-`, `.` and an optional `:port`)",
            );
        }
        self.url.push_str(value);
        self.host_end = self.url.len();
    }

    fn enter_path(&mut self) {
        if self.part == Part::Host {
            self.part = Part::Path;
        }
    }

    /// Literal path text from the template; a `?` in it starts the query string.
    pub fn path_text(&mut self, text: &str) {
        self.enter_path();
        let mut rest = text;
        while !rest.is_empty() {
            match self.part {
                Part::Query => {
                    self.url.extend(utf8_percent_encode(rest, QUERY_TEXT));
                    return;
                }
                _ => match rest.split_once('?') {
                    Some((path, query)) => {
                        self.url.extend(utf8_percent_encode(path, PATH_TEXT));
                        self.url.push('?');
                        self.part = Part::Query;
                        rest = query;
                    }
                    None => {
                        self.url.extend(utf8_percent_encode(rest, PATH_TEXT));
                        return;
                    }
                },
            }
        }
    }

    /// A value inside the path: one segment (its `/` are encoded), or a query value after `?`.
    pub fn path_value(&mut self, placeholder: &'static str, value: &str) {
        self.enter_path();
        match self.part {
            Part::Query => self
                .url
                .extend(form_urlencoded::byte_serialize(value.as_bytes())),
            _ => {
                if is_dot_segment(value) {
                    return self.fail(placeholder, "is `.` or `..`, which would change the path");
                }
                self.url.extend(utf8_percent_encode(value, SEGMENT));
            }
        }
    }

    /// A value at the very start of the path: a path prefix such as `/org/project`.
    pub fn path_prefix_value(&mut self, placeholder: &'static str, value: &str) {
        self.enter_path();
        if !value.is_empty() && !value.starts_with('/') {
            return self.fail(placeholder, "must start with `/`, as it begins the path");
        }
        if value.split('/').any(is_dot_segment) {
            return self.fail(
                placeholder,
                "has a `.` or `..` segment, which would change the path",
            );
        }
        self.url.extend(utf8_percent_encode(value, PATH_PREFIX));
    }

    /// One `key=value` pair of the template's `query`, form-encoded.
    pub fn query(&mut self, key: &str, value: &str) {
        self.enter_path();
        match self.part {
            Part::Query => {
                if !self.url.ends_with('?') && !self.url.ends_with('&') {
                    self.url.push('&');
                }
            }
            _ => {
                self.url.push('?');
                self.part = Part::Query;
            }
        }
        self.url
            .extend(form_urlencoded::byte_serialize(key.as_bytes()));
        self.url.push('=');
        self.url
            .extend(form_urlencoded::byte_serialize(value.as_bytes()));
    }

    /// A header (its lower-case name was checked when the crate was compiled); the value must
    /// be one line.
    pub fn header(&mut self, placeholder: &'static str, name: &'static str, value: &str) {
        let Some(name) = self.header_name(placeholder, name) else {
            return;
        };
        match HeaderValue::from_str(value) {
            Ok(value) => {
                self.headers.append(name, value);
            }
            Err(_) => self.fail(
                placeholder,
                "contains a line break or another control character",
            ),
        }
    }

    /// A header carrying the access token between `prefix` and `suffix` (`Bearer `, ``).
    pub fn token_header(
        &mut self,
        placeholder: &'static str,
        name: &'static str,
        prefix: &str,
        suffix: &str,
    ) {
        let Some(name) = self.header_name(placeholder, name) else {
            return;
        };
        if HeaderValue::from_str(prefix).is_err() || HeaderValue::from_str(suffix).is_err() {
            return self.fail(
                placeholder,
                "contains a line break or another control character",
            );
        }
        self.token_headers
            .push((name, prefix.to_string(), suffix.to_string()));
    }

    fn header_name(&mut self, placeholder: &'static str, name: &'static str) -> Option<HeaderName> {
        let parsed = HeaderName::from_bytes(name.as_bytes()).ok();
        if parsed.is_none() {
            self.fail(placeholder, "has a header name that is not valid");
        }
        parsed
    }

    /// Hands the composed request to the user as a builder.
    pub fn finish(mut self) -> RequestBuilder {
        if self.url.len() == self.host_end {
            self.url.push('/');
        }
        let parts = match self.error.take() {
            Some(error) => Err(error),
            None => self.check_url().map(|url| crate::request::Composed {
                url,
                headers: self.headers,
                token_headers: self.token_headers,
                subject: self.subject,
            }),
        };
        RequestBuilder::new(self.runtime, self.template, parts)
    }

    fn check_url(&self) -> Result<url::Url, InvokeError> {
        let template = self.template.name;
        let path_end = self.url.find('?').unwrap_or(self.url.len());
        let path = self.url.get(self.host_end..path_end).unwrap_or("");
        if path.split('/').any(is_dot_segment) {
            return Err(InvokeError::InvalidValue {
                template,
                placeholder: "path",
                reason: "makes a `.` or `..` path segment",
            });
        }
        // The origin is parsed once per runtime (a host from iparams is fixed per
        // installation); the path and query are set on a copy of it.
        let origin = self.url.get(..self.host_end).unwrap_or("");
        let mut url = self.runtime.inner.origins.get_or_parse(origin, || {
            self.check_host()?;
            let mut root = String::with_capacity(origin.len() + 1);
            root.push_str(origin);
            root.push('/');
            url::Url::parse(&root).map_err(|_| invalid_host(template, "does not make a valid URL"))
        })?;
        url.set_path(path);
        url.set_query(self.url.get(path_end + 1..));
        Ok(url)
    }

    /// The host, after substitution: a host name (or a loopback address) and a valid port,
    /// reached over https unless it is loopback or the runtime allows plain http.
    fn check_host(&self) -> Result<(), InvokeError> {
        let template = self.template.name;
        let invalid = |reason| invalid_host(template, reason);
        let host = self.url.get(self.host_start..self.host_end).unwrap_or("");
        let (name, port) = split_port(host);
        if let Some(port) = port
            && port.parse::<u16>().map_or(true, |p| p == 0)
        {
            return Err(invalid("has an invalid port"));
        }
        let ip = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(name)
            .parse::<std::net::IpAddr>()
            .ok();
        let loopback =
            ip.is_some_and(|ip| ip.is_loopback()) || name.eq_ignore_ascii_case("localhost");
        if ip.is_some() && !loopback {
            return Err(invalid(
                "is an IP address; only loopback addresses are allowed",
            ));
        }
        if name.is_empty() || name.starts_with('.') || name.contains("..") {
            return Err(invalid("is not a valid host name"));
        }
        if !self.template.https && !loopback && !self.runtime.inner.allow_insecure_http {
            return Err(InvokeError::InsecureHttp {
                template,
                host: host.to_string(),
            });
        }
        Ok(())
    }
}

fn invalid_host(template: &'static str, reason: &'static str) -> InvokeError {
    InvokeError::InvalidValue {
        template,
        placeholder: "host",
        reason,
    }
}

/// Parsed origins (`https://host:port/`) by their text: parsing a host name (IDNA included)
/// costs more than the rest of a request, and a client sends to few hosts.
#[derive(Default)]
pub(crate) struct Origins {
    parsed: std::sync::RwLock<std::collections::HashMap<Box<str>, url::Url>>,
}

impl Origins {
    /// Beyond this many origins new ones are parsed each time, so memory stays bounded.
    const MAX: usize = 256;

    fn get_or_parse(
        &self,
        origin: &str,
        parse: impl FnOnce() -> Result<url::Url, InvokeError>,
    ) -> Result<url::Url, InvokeError> {
        let read = self
            .parsed
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(url) = read.get(origin) {
            return Ok(url.clone());
        }
        drop(read);
        let url = parse()?;
        let mut write = self
            .parsed
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if write.len() < Self::MAX {
            write.insert(origin.into(), url.clone());
        }
        Ok(url)
    }
}

/// `.` and `..`, also percent-encoded: URL parsers resolve them, so they would change the path.
fn is_dot_segment(segment: &str) -> bool {
    // Short-circuits on length: most segments are longer than six bytes.
    segment.len() <= 6
        && [".", "..", "%2e", "%2e%2e", ".%2e", "%2e."]
            .iter()
            .any(|dot| segment.eq_ignore_ascii_case(dot))
}

fn split_port(host: &str) -> (&str, Option<&str>) {
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
