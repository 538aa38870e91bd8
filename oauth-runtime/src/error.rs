//! [`InvokeError`]: everything that can go wrong when a template is invoked.

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::store::StoreError;
use crate::tokens::{ReauthorizationReason, Subject, TokenError};

/// Why an invocation failed. Match on the variant; `Display` is a sentence for a person.
/// Nothing secret (tokens, secure iparams) is ever part of it.
#[derive(Debug)]
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

impl InvokeError {
    /// The template that failed.
    pub fn template(&self) -> &'static str {
        match self {
            InvokeError::Status { template, .. }
            | InvokeError::Timeout { template, .. }
            | InvokeError::Connect { template, .. }
            | InvokeError::Transport { template, .. }
            | InvokeError::InvalidValue { template, .. }
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
                template, attempts, ..
            } => write!(
                f,
                "template `{template}`: could not connect to the server ({attempts} attempt{})",
                plural(*attempts)
            ),
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
                reason,
                ..
            } => write!(
                f,
                "template `{template}`: {subject} must authorize `{integration}`{} ({reason})",
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
                subject, reason, ..
            } => InvokeError::ReauthorizationRequired {
                template,
                integration,
                subject,
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
