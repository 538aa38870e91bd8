//! [`InvokeError`]: everything that can go wrong when a template is invoked.

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::store::StoreError;
use crate::tokens::{InstallationId, ReauthorizationReason, Subject, TokenError};

/// Why an invocation failed. Match on the variant; `Display` is a sentence for a person.
/// Nothing secret (tokens, secure iparams) is ever part of it, and `Debug` shows no response
/// header value but harmless ones, no body (its length), and no URL query (an authorize URL's
/// `state` and PKCE challenge).
#[non_exhaustive]
pub enum InvokeError {
    /// The server answered with a status that is not 2xx.
    Status {
        /// The template's name.
        template: &'static str,
        /// The status.
        status: StatusCode,
        /// The response headers.
        headers: HeaderMap,
        /// The response body (capped like any response).
        body: Bytes,
        /// How many attempts were made.
        attempts: u32,
    },
    /// No response within the timeout.
    Timeout {
        /// The template's name.
        template: &'static str,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The server could not be reached.
    Connect {
        /// The template's name.
        template: &'static str,
        /// How many attempts were made.
        attempts: u32,
        /// What the HTTP client said.
        source: reqwest::Error,
    },
    /// Another transport failure (the connection dropped mid-response, …).
    Transport {
        /// The template's name.
        template: &'static str,
        /// How many attempts were made.
        attempts: u32,
        /// What the HTTP client said.
        source: reqwest::Error,
    },
    /// A value given for a placeholder cannot be sent where it lands (a line break in a
    /// header, a host name with a `/`, a `..` path segment, …). Nothing was sent.
    InvalidValue {
        /// The template's name.
        template: &'static str,
        /// The placeholder, as written in the template (`context.ticket_id`).
        placeholder: &'static str,
        /// Why the value was refused.
        reason: &'static str,
    },
    /// The template's client certificate (`options.security`) cannot be used: not PEM, an
    /// encrypted key, a key of another certificate. Nothing was sent.
    ClientCertificate {
        /// The template's name.
        template: &'static str,
        /// Why (never the certificate's or the key's content).
        reason: &'static str,
    },
    /// An optional installation parameter has no value and the template has no default for it.
    MissingIparam {
        /// The template's name.
        template: &'static str,
        /// The placeholder (`iparam.domain`).
        placeholder: &'static str,
    },
    /// The request would go over plain `http` to a host that is not loopback.
    InsecureHttp {
        /// The template's name.
        template: &'static str,
        /// The host.
        host: String,
    },
    /// The response body is larger than the runtime's limit.
    ResponseTooLarge {
        /// The template's name.
        template: &'static str,
        /// The limit in bytes.
        limit: usize,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The body given with `.json(…)` could not be serialized.
    Body {
        /// The template's name.
        template: &'static str,
        /// What serde_json said.
        source: serde_json::Error,
    },
    /// The installation is over its request budget ([`crate::RuntimeBuilder::installation_budget`])
    /// and its next turn comes after the call's timeout. Nothing was sent.
    RateLimited {
        /// The template's name.
        template: &'static str,
        /// The installation.
        installation: InstallationId,
        /// The budget: this many requests…
        requests: u32,
        /// …per this long.
        per: std::time::Duration,
        /// When its next turn comes.
        retry_after: std::time::Duration,
    },
    /// The user (for an `account` integration, the admin) must authorize the app again: the
    /// refresh token is dead, the app was never authorized, or it now needs more scopes.
    /// Calls for this key fail fast, without asking the authorization server, until then.
    ReauthorizationRequired {
        /// The template's name.
        template: &'static str,
        /// The integration.
        integration: &'static str,
        /// Whose token.
        subject: Subject,
        /// The installation.
        installation: InstallationId,
        /// Why.
        reason: ReauthorizationReason,
        /// Where to send them to authorize, for an `agent` integration whose runtime knows its
        /// authorize URL (the REAUTHORIZE button of an FDK app).
        authorize_url: Option<url::Url>,
    },
    /// The token store failed. No token was lost: refreshed tokens that could not be saved
    /// are kept and saved by the next call.
    TokenStore {
        /// The template's name.
        template: &'static str,
        /// The integration.
        integration: &'static str,
        /// What the store said.
        source: StoreError,
    },
    /// The template needs an OAuth token and none could be had for another reason (the
    /// authorization server is down, the runtime has no token source…).
    Token {
        /// The template's name.
        template: &'static str,
        /// The integration.
        integration: &'static str,
        /// Why.
        source: crate::TokenError,
    },
}

impl fmt::Debug for InvokeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvokeError::Status {
                template,
                status,
                headers,
                body,
                attempts,
            } => f
                .debug_struct("Status")
                .field("template", template)
                .field("status", status)
                .field("headers", &SafeHeaders(headers))
                .field("body_bytes", &body.len())
                .field("attempts", attempts)
                .finish(),
            InvokeError::Timeout { template, attempts } => f
                .debug_struct("Timeout")
                .field("template", template)
                .field("attempts", attempts)
                .finish(),
            InvokeError::Connect {
                template,
                attempts,
                source,
            } => f
                .debug_struct("Connect")
                .field("template", template)
                .field("attempts", attempts)
                .field("source", source)
                .finish(),
            InvokeError::Transport {
                template,
                attempts,
                source,
            } => f
                .debug_struct("Transport")
                .field("template", template)
                .field("attempts", attempts)
                .field("source", source)
                .finish(),
            InvokeError::InvalidValue {
                template,
                placeholder,
                reason,
            } => f
                .debug_struct("InvalidValue")
                .field("template", template)
                .field("placeholder", placeholder)
                .field("reason", reason)
                .finish(),
            InvokeError::RateLimited {
                template,
                installation,
                requests,
                per,
                retry_after,
            } => f
                .debug_struct("RateLimited")
                .field("template", template)
                .field("installation", installation)
                .field("requests", requests)
                .field("per", per)
                .field("retry_after", retry_after)
                .finish(),
            InvokeError::ClientCertificate { template, reason } => f
                .debug_struct("ClientCertificate")
                .field("template", template)
                .field("reason", reason)
                .finish(),
            InvokeError::MissingIparam {
                template,
                placeholder,
            } => f
                .debug_struct("MissingIparam")
                .field("template", template)
                .field("placeholder", placeholder)
                .finish(),
            InvokeError::InsecureHttp { template, host } => f
                .debug_struct("InsecureHttp")
                .field("template", template)
                .field("host", host)
                .finish(),
            InvokeError::ResponseTooLarge {
                template,
                limit,
                attempts,
            } => f
                .debug_struct("ResponseTooLarge")
                .field("template", template)
                .field("limit", limit)
                .field("attempts", attempts)
                .finish(),
            InvokeError::Body { template, source } => f
                .debug_struct("Body")
                .field("template", template)
                .field("source", source)
                .finish(),
            InvokeError::ReauthorizationRequired {
                template,
                integration,
                subject,
                installation,
                reason,
                authorize_url,
            } => f
                .debug_struct("ReauthorizationRequired")
                .field("template", template)
                .field("integration", integration)
                .field("subject", subject)
                .field("installation", installation)
                .field("reason", reason)
                .field("authorize_url", &authorize_url.as_ref().map(without_query))
                .finish(),
            InvokeError::TokenStore {
                template,
                integration,
                source,
            } => f
                .debug_struct("TokenStore")
                .field("template", template)
                .field("integration", integration)
                .field("source", source)
                .finish(),
            InvokeError::Token {
                template,
                integration,
                source,
            } => f
                .debug_struct("Token")
                .field("template", template)
                .field("integration", integration)
                .field("source", source)
                .finish(),
        }
    }
}

/// A URL as `Debug` may show it: its query (an authorize URL's `state` and challenge) is not.
fn without_query(url: &url::Url) -> String {
    let mut shown = url.clone();
    if shown.query().is_some() {
        shown.set_query(Some("[REDACTED]"));
    }
    shown.set_fragment(None);
    shown.to_string()
}

/// Response headers as `Debug` may show them: every name, and the value of harmless ones
/// only (a `set-cookie`, an echoed credential or a `location` holding a token is not shown).
pub(crate) struct SafeHeaders<'a>(pub(crate) &'a HeaderMap);

impl fmt::Debug for SafeHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: [&str; 5] = [
            "content-type",
            "content-length",
            "date",
            "retry-after",
            "x-request-id",
        ];
        let mut map = f.debug_map();
        for (name, value) in self.0 {
            if SHOWN.contains(&name.as_str()) {
                map.entry(&name.as_str(), &value);
            } else {
                map.entry(&name.as_str(), &"[REDACTED]");
            }
        }
        map.finish()
    }
}

impl InvokeError {
    /// The template that failed.
    pub fn template(&self) -> &'static str {
        match self {
            InvokeError::Status { template, .. }
            | InvokeError::Timeout { template, .. }
            | InvokeError::Connect { template, .. }
            | InvokeError::Transport { template, .. }
            | InvokeError::InvalidValue { template, .. }
            | InvokeError::ClientCertificate { template, .. }
            | InvokeError::RateLimited { template, .. }
            | InvokeError::MissingIparam { template, .. }
            | InvokeError::InsecureHttp { template, .. }
            | InvokeError::ResponseTooLarge { template, .. }
            | InvokeError::Body { template, .. }
            | InvokeError::ReauthorizationRequired { template, .. }
            | InvokeError::TokenStore { template, .. }
            | InvokeError::Token { template, .. } => template,
        }
    }

    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            InvokeError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How many attempts were made (0 when the request was refused before sending).
    pub fn attempts(&self) -> u32 {
        match self {
            InvokeError::Status { attempts, .. }
            | InvokeError::Timeout { attempts, .. }
            | InvokeError::Connect { attempts, .. }
            | InvokeError::Transport { attempts, .. }
            | InvokeError::ResponseTooLarge { attempts, .. } => *attempts,
            _ => 0,
        }
    }
}

/// What TLS said when it refused the server's certificate, if that is why a connection
/// failed (an unknown authority, a certificate for another name, an expired one).
fn certificate_refused(error: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        let text = current.to_string();
        if text.contains("certificate") {
            return Some(text);
        }
        source = current.source();
    }
    None
}

/// The TLS alerts a server ends a connection with when it wants a client certificate, or
/// refuses the one shown (RFC 8446 §6.2).
const CLIENT_CERTIFICATE_ALERTS: &[&str] = &[
    "CertificateRequired",
    "BadCertificate",
    "UnknownCA",
    "CertificateUnknown",
    "UnsupportedCertificate",
    "CertificateRevoked",
    "CertificateExpired",
    "AccessDenied",
];

/// The alert, if the server ended the connection over the client's certificate.
fn client_certificate_refused(error: &reqwest::Error) -> Option<&'static str> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        let text = current.to_string();
        if let Some((_, alert)) = text.split_once("received fatal alert: ") {
            let alert = alert.split(|c: char| !c.is_ascii_alphanumeric()).next()?;
            return CLIENT_CERTIFICATE_ALERTS
                .iter()
                .copied()
                .find(|a| *a == alert);
        }
        source = current.source();
    }
    None
}

/// Says that the server refused the client certificate (or its absence), if it did.
fn write_client_certificate_refused(
    f: &mut fmt::Formatter<'_>,
    template: &str,
    source: &reqwest::Error,
) -> Option<fmt::Result> {
    let alert = client_certificate_refused(source)?;
    Some(write!(
        f,
        "template `{template}`: the server refused the TLS connection ({alert}): it wants a \
         client certificate it trusts, which a template presents with `options.security`"
    ))
}

impl fmt::Display for InvokeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvokeError::Status {
                template, status, ..
            } => {
                write!(f, "template `{template}`: the server answered {status}")
            }
            InvokeError::Timeout { template, attempts } => {
                write!(
                    f,
                    "template `{template}`: no response in time ({attempts} attempt{})",
                    plural(*attempts)
                )
            }
            InvokeError::Connect {
                template, source, ..
            }
            | InvokeError::Transport {
                template, source, ..
            } if client_certificate_refused(source).is_some() => {
                write_client_certificate_refused(f, template, source).unwrap_or(Ok(()))
            }
            InvokeError::Connect {
                template,
                attempts,
                source,
            } => match certificate_refused(source) {
                Some(reason) => write!(
                    f,
                    "template `{template}`: the server's certificate was refused ({reason}); if \
                     its authority is a private one, trust it with \
                     RuntimeBuilder::add_root_certificate"
                ),
                None => write!(
                    f,
                    "template `{template}`: could not connect to the server ({attempts} attempt{})",
                    plural(*attempts)
                ),
            },
            InvokeError::Transport { template, .. } => {
                write!(
                    f,
                    "template `{template}`: the connection failed during the request"
                )
            }
            InvokeError::InvalidValue {
                template,
                placeholder,
                reason,
            } => {
                write!(
                    f,
                    "template `{template}`: the value of `{placeholder}` {reason}; nothing was sent"
                )
            }
            InvokeError::RateLimited {
                template,
                installation,
                requests,
                per,
                retry_after,
            } => write!(
                f,
                "template `{template}`: {installation} is over its budget of {requests} requests \
                 per {} s; its next turn is in {} ms, after the call's timeout; nothing was sent",
                per.as_secs_f64(),
                retry_after.as_millis()
            ),
            InvokeError::ClientCertificate { template, reason } => write!(
                f,
                "template `{template}`: its client certificate (`options.security`) cannot be used: {reason}; nothing was sent"
            ),
            InvokeError::MissingIparam {
                template,
                placeholder,
            } => write!(
                f,
                "template `{template}`: `{placeholder}` has no value in this installation and the template gives no default"
            ),
            InvokeError::InsecureHttp { template, host } => write!(
                f,
                "template `{template}`: refusing plain http to `{host}` (allowed only to loopback unless the runtime allows insecure http)"
            ),
            InvokeError::ResponseTooLarge {
                template, limit, ..
            } => {
                write!(
                    f,
                    "template `{template}`: the response is larger than the limit of {limit} bytes"
                )
            }
            InvokeError::Body { template, .. } => {
                write!(
                    f,
                    "template `{template}`: the JSON body could not be serialized"
                )
            }
            InvokeError::ReauthorizationRequired {
                template,
                integration,
                subject,
                installation,
                reason,
                ..
            } => write!(
                f,
                "template `{template}`: {} must authorize `{integration}`{} ({reason})",
                crate::tokens::owner(subject, installation),
                reason.again()
            ),
            InvokeError::TokenStore {
                template,
                integration,
                source,
            } => write!(
                f,
                "template `{template}`: the `{integration}` token could not be read or saved: {source}"
            ),
            InvokeError::Token {
                template,
                integration,
                source,
            } => {
                write!(
                    f,
                    "template `{template}`: no `{integration}` token: {source}"
                )
            }
        }
    }
}

impl InvokeError {
    /// The error of a template whose token could not be had.
    pub(crate) fn from_token(
        template: &'static str,
        integration: &'static str,
        error: TokenError,
    ) -> Self {
        match error {
            TokenError::ReauthorizationRequired {
                subject,
                installation,
                reason,
                ..
            } => InvokeError::ReauthorizationRequired {
                template,
                integration,
                subject,
                installation,
                reason,
                authorize_url: None,
            },
            TokenError::Store(source) => InvokeError::TokenStore {
                template,
                integration,
                source,
            },
            source => InvokeError::Token {
                template,
                integration,
                source,
            },
        }
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

impl std::error::Error for InvokeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InvokeError::Connect { source, .. } | InvokeError::Transport { source, .. } => {
                Some(source)
            }
            InvokeError::Body { source, .. } => Some(source),
            InvokeError::Token { source, .. } => Some(source),
            InvokeError::TokenStore { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_shows_no_header_value_body_or_url_query_that_may_hold_a_secret() {
        let mut headers = HeaderMap::new();
        headers.insert("set-cookie", "session=sekrit-cookie".parse().unwrap());
        headers.insert("x-echo-credential", "Bearer sekrit-token".parse().unwrap());
        headers.insert(
            "location",
            "https://app.example/cb#access_token=sekrit-fragment"
                .parse()
                .unwrap(),
        );
        headers.insert("content-type", "application/json".parse().unwrap());
        let status = InvokeError::Status {
            template: "t",
            status: StatusCode::UNAUTHORIZED,
            headers,
            body: Bytes::from_static(br#"{"echo":"sekrit-body"}"#),
            attempts: 1,
        };
        let reauthorize = InvokeError::ReauthorizationRequired {
            template: "t",
            integration: "crm",
            subject: Subject::Installation,
            installation: InstallationId::default(),
            reason: ReauthorizationReason::NotAuthorized,
            authorize_url: Some(
                url::Url::parse("https://auth.example/authorize?state=sekrit-state&code_challenge=sekrit-challenge")
                    .unwrap(),
            ),
        };
        for shown in [format!("{status:?}"), format!("{reauthorize:?}")] {
            assert!(!shown.contains("sekrit"), "{shown}");
        }
        let shown = format!("{status:?}");
        assert!(
            shown.contains("set-cookie") && shown.contains("application/json"),
            "{shown}"
        );
        assert!(shown.contains("body_bytes: 22"), "{shown}");
        assert!(format!("{reauthorize:?}").contains("https://auth.example/authorize?[REDACTED]"));
    }
}
