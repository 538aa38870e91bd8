//! The checks a composed URL passes before it is parsed: its host (a host name or a loopback
//! address, a valid port, https unless allowed otherwise) and its path (no `.` or `..`
//! segment that the parser would resolve).

use super::Compose;
use super::encode::{is_dot_segment, split_port, split_slashes};
use crate::error::InvokeError;

impl Compose<'_> {
    /// A `.` or `..` segment in the composed `path` (a value beside text can make one) is
    /// refused: the URL parser would resolve it and change the path.
    pub(super) fn check_dot_segments(&self, path: &str) -> Result<(), Box<InvokeError>> {
        // A dot segment needs a `.` (or `%2e`): most paths have neither and skip the split.
        if path.bytes().any(|b| b == b'.' || b == b'%') && split_slashes(path).any(is_dot_segment) {
            return Err(Box::new(InvokeError::InvalidValue {
                template: self.draft.template.name,
                placeholder: "path",
                reason: "makes a `.` or `..` path segment",
            }));
        }
        Ok(())
    }

    /// The host, after substitution: a host name (or a loopback address) and a valid port,
    /// reached over https unless it is loopback or the runtime allows plain http.
    pub(super) fn check_host(&self) -> Result<(), Box<InvokeError>> {
        let template = self.draft.template.name;
        let invalid = |reason| invalid_host(template, reason);
        let host = self
            .url
            .get(self.marks.host_start..self.marks.host_end)
            .unwrap_or("");
        let (name, port) = split_port(host);
        if let Some(port) = port
            && port.parse::<u16>().map_or(true, |p| p == 0)
        {
            return Err(invalid("has an invalid port"));
        }
        let Ok(ip) = ip_address(name) else {
            return Err(invalid("is not a valid host name"));
        };
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
        let draft = &self.draft;
        if !draft.template.https && !loopback && !draft.shared.allow_insecure_http {
            return Err(Box::new(InvokeError::InsecureHttp {
                template,
                host: host.to_string(),
            }));
        }
        Ok(())
    }
}

/// The address `name` stands for if the URL parser reads it as one: not only `10.0.0.1` and
/// `[::1]`, but every spelling WHATWG's host parser turns into an IPv4 address (`3232235777`,
/// `0xc0.0xa8.1.1`, `10.1`, `0251.0376.0251.0376`, a trailing dot), which is what is sent.
/// `Err` when it looks like an address but is none (`1.2.3.4.5`, `999.1.1.1`).
fn ip_address(name: &str) -> Result<Option<std::net::IpAddr>, ()> {
    // Only a name ending in a number can be an address: host names skip the parser.
    if !oauth_rules::ends_in_a_number(name) && !name.starts_with('[') {
        return Ok(None);
    }
    match url::Host::parse(name) {
        Ok(url::Host::Ipv4(ip)) => Ok(Some(ip.into())),
        Ok(url::Host::Ipv6(ip)) => Ok(Some(ip.into())),
        Ok(url::Host::Domain(_)) => Ok(None),
        Err(_) => Err(()),
    }
}

pub(super) fn invalid_host(template: &'static str, reason: &'static str) -> Box<InvokeError> {
    Box::new(InvokeError::InvalidValue {
        template,
        placeholder: "host",
        reason,
    })
}
