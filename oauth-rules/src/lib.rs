//! The rules about `oauth_config.json` values that the checker (`oauth-codegen`, at compile
//! time and in `oauth-templates check`) and the runtime (`oauth-runtime`, when an integration
//! is configured) both apply, so the two can never disagree about what an app means.
//!
//! No dependencies: both sides call these plain functions.

/// The authorize URL's parameters the runtime sets itself on every authorization request.
pub const RUNTIME_PARAMS: [&str; 7] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// The shape of a value given for an authorize parameter (an `options` key, or a pair in the
/// authorize URL's own query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamValue<'a> {
    /// A string.
    Text(&'a str),
    /// An array.
    List,
    /// A number, a boolean, an object or `null`.
    Other,
}

/// What happens to an authorize parameter an app gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamRule {
    /// Sent on the authorize URL as written.
    Send,
    /// Not sent, and harmless (a warning): the runtime sets it, or it is client metadata.
    Ignored {
        /// Why, for a person.
        why: &'static str,
        /// What to do about it.
        help: &'static str,
    },
    /// A mistake (an error): the app cannot work as written.
    Refused {
        /// Why, for a person.
        why: &'static str,
        /// How to fix it.
        help: &'static str,
    },
}

/// The rule for the authorize parameter `key` given as `value` (the keys `scope` and
/// `customHeaders` of `options` have meanings of their own and are not asked about).
///
/// FDK sends the other `options` as query parameters of the authorize URL. Freshworks' own
/// sample apps carry arrays copied from a provider's client file (`redirect_uris`,
/// `javascript_origins`): FDK accepts them, so they are ignored with a warning.
pub fn authorize_param(key: &str, value: ParamValue<'_>) -> ParamRule {
    match (key, value) {
        ("response_type", ParamValue::Text("code")) => ParamRule::Ignored {
            why: "the runtime always asks for `response_type=code`",
            help: "remove it: the authorization-code grant is the only one the runtime does",
        },
        ("response_type", _) => ParamRule::Refused {
            why: "the runtime does the authorization-code grant only, so `response_type` can only be `code`",
            help: "remove it (the runtime sends `response_type=code`); implicit grants (`token`) give no refresh token and are not supported",
        },
        ("scope", _) => ParamRule::Refused {
            why: "the scopes belong in `options.scope`, which the runtime sends as `scope`",
            help: "move the scopes to `options.scope`",
        },
        ("redirect_uri" | "redirect_url", _) => ParamRule::Ignored {
            why: "the runtime sets the redirect URI",
            help: "the redirect URI is configured in the runtime (default `http://localhost:10001/auth/callback`): remove this key",
        },
        ("client_id" | "state" | "code_challenge" | "code_challenge_method", _) => {
            ParamRule::Ignored {
                why: "the runtime sets this parameter",
                help: "remove this key: the runtime sets it on every authorization request",
            }
        }
        (_, ParamValue::Text(_)) => ParamRule::Send,
        (_, ParamValue::List) => ParamRule::Ignored {
            why: "an array is not an authorize parameter, so it is not sent",
            help: "arrays in `options` are client metadata copied from a provider's console (as `redirect_uris`); remove it, or give a string to send it",
        },
        (_, ParamValue::Other) => ParamRule::Refused {
            why: "authorize parameters are strings",
            help: "keys of `options` other than `scope` and `customHeaders` are sent as query parameters of the authorize URL, so their values are strings",
        },
    }
}

/// The scopes in a `scope` text, as a set compares them: split on spaces and commas (Shopify
/// writes `read_orders,write_orders`, RFC 6749 §3.3 spaces), empty items dropped.
pub fn scope_items(text: &str) -> impl Iterator<Item = &str> {
    text.split([' ', ',', '\t', '\n', '\r'])
        .filter(|item| !item.is_empty())
}

/// The `scope` text a list of scopes is sent as when the app gave an array: joined with
/// spaces (RFC 6749 §3.3).
pub fn scope_text<S: AsRef<str>>(items: &[S]) -> String {
    let mut text = String::new();
    for item in items {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(item.as_ref());
    }
    text
}

/// The name the legacy `oauth_config.json` format's single integration (`isOAuth: true`) is
/// known by: its tokens are stored, and its errors reported, under it.
pub const LEGACY_INTEGRATION: &str = "oauth";

/// The environment variable holding an integration's client secret (or, with `_CLIENT_ID`,
/// its client id): `OAUTH_<NAME>_CLIENT_SECRET`, the name in upper case with `_` for anything
/// but letters and digits (`freshservice` → `OAUTH_FRESHSERVICE_CLIENT_SECRET`).
pub fn client_variable(integration: &str, what: ClientVariable) -> String {
    let name: String = integration
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    match what {
        ClientVariable::Id => format!("OAUTH_{name}_CLIENT_ID"),
        ClientVariable::Secret => format!("OAUTH_{name}_CLIENT_SECRET"),
    }
}

/// Which client credential [`client_variable`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientVariable {
    /// `OAUTH_<NAME>_CLIENT_ID`.
    Id,
    /// `OAUTH_<NAME>_CLIENT_SECRET`.
    Secret,
}

/// Whether `host` (a name, or an IP address, bracketed or not, without a port) is this
/// machine: `localhost` or a loopback address.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a URL parser reads `host` as an IPv4 address (WHATWG's "ends in a number"): its
/// last label, a trailing dot aside, is decimal digits or `0x` hex, as in `3232235777`,
/// `0xc0.0xa8.1.1`, `10.1`.
pub fn ends_in_a_number(host: &str) -> bool {
    let last = host.trim_end_matches('.').rsplit('.').next().unwrap_or("");
    !last.is_empty()
        && (last.bytes().all(|b| b.is_ascii_digit())
            || last.starts_with("0x")
            || last.starts_with("0X"))
}

/// Whether a header named `name` carries a credential (`Authorization`, `X-Api-Key`,
/// `X-Auth-Token`, a cookie…): an installation value sent in it is a secret, and a response
/// header so named is shown redacted.
pub fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "auth",
        "token",
        "secret",
        "key",
        "session",
        "cookie",
        "password",
        "signature",
        "credential",
    ]
    .iter()
    .any(|word| name.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_type_code_is_ignored_and_any_other_is_refused() {
        assert!(matches!(
            authorize_param("response_type", ParamValue::Text("code")),
            ParamRule::Ignored { .. }
        ));
        for other in [
            ParamValue::Text("token"),
            ParamValue::Text("code id_token"),
            ParamValue::List,
        ] {
            assert!(matches!(
                authorize_param("response_type", other),
                ParamRule::Refused { .. }
            ));
        }
    }

    #[test]
    fn arrays_are_ignored_strings_sent_other_values_refused() {
        assert!(matches!(
            authorize_param("redirect_uris", ParamValue::List),
            ParamRule::Ignored { .. }
        ));
        assert!(matches!(
            authorize_param("javascript_origins", ParamValue::List),
            ParamRule::Ignored { .. }
        ));
        assert_eq!(
            authorize_param("access_type", ParamValue::Text("offline")),
            ParamRule::Send
        );
        assert!(matches!(
            authorize_param("prompt", ParamValue::Other),
            ParamRule::Refused { .. }
        ));
        for key in RUNTIME_PARAMS
            .iter()
            .filter(|k| **k != "response_type" && **k != "scope")
        {
            assert!(
                matches!(
                    authorize_param(key, ParamValue::Text("x")),
                    ParamRule::Ignored { .. }
                ),
                "{key}"
            );
        }
        assert!(matches!(
            authorize_param("scope", ParamValue::Text("x")),
            ParamRule::Refused { .. }
        ));
    }

    #[test]
    fn client_variables_are_named_from_the_integration() {
        assert_eq!(
            client_variable("freshservice", ClientVariable::Secret),
            "OAUTH_FRESHSERVICE_CLIENT_SECRET"
        );
        assert_eq!(
            client_variable("agent-fs.2", ClientVariable::Id),
            "OAUTH_AGENT_FS_2_CLIENT_ID"
        );
    }

    #[test]
    fn hosts_are_told_apart_as_parsers_read_them() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.0.0.2",
            "[::1]",
            "::1",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["example.com", "10.0.0.1", "[fe80::1]", "localhost.evil"] {
            assert!(!is_loopback_host(host), "{host}");
        }
        for host in ["3232235777", "0xc0.0xa8.1.1", "10.1", "169.254.169.254."] {
            assert!(ends_in_a_number(host), "{host}");
        }
        for host in ["example.com", "api.v2", "", "x.0y"] {
            assert!(!ends_in_a_number(host), "{host}");
        }
    }

    #[test]
    fn credential_headers_are_told_by_name() {
        for name in [
            "Authorization",
            "X-API-Key",
            "x-auth-token",
            "Cookie",
            "X-Signature",
        ] {
            assert!(is_credential_header(name), "{name}");
        }
        for name in ["Content-Type", "X-Region", "Accept"] {
            assert!(!is_credential_header(name), "{name}");
        }
    }

    #[test]
    fn scopes_split_on_spaces_and_commas() {
        assert_eq!(
            scope_items("write_orders,read_customers, read_products  x").collect::<Vec<_>>(),
            ["write_orders", "read_customers", "read_products", "x"]
        );
        assert_eq!(scope_items("").count(), 0);
        assert_eq!(scope_items(" , ").count(), 0);
        assert_eq!(scope_text(&["a", "b"]), "a b");
    }
}
