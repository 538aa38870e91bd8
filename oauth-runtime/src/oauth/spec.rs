//! An integration as `oauth_config.json` describes it ([`IntegrationSpec`], emitted by the
//! macro as constant data, or built by the CLI from the file), turned into an
//! [`IntegrationConfig`] once per installation: `oauth_iparams` substituted and checked, the
//! client secret taken from the installation or the environment, never from the binary.

use base64::Engine as _;

use super::{IntegrationConfig, InvalidIntegration, TokenType};

/// Lists are borrowed from constants in generated code (`Borrowed(&[…])`), owned when the CLI
/// builds a spec from the app's plan.
pub use std::borrow::Cow::{self, Borrowed};

/// A string of `oauth_config.json`: pieces concatenated.
#[derive(Debug, Clone)]
pub struct SpecValue(pub Cow<'static, [SpecPiece]>);

/// Literal text, or a `<%= … %>` expression.
#[derive(Debug, Clone)]
pub enum SpecPiece {
    /// Text as written.
    Text(&'static str),
    /// Terms concatenated, with the `|| 'default'` used when the value is absent or empty.
    Expr(Cow<'static, [SpecTerm]>, Option<&'static str>),
}

/// One operand of an expression.
#[derive(Debug, Clone)]
pub enum SpecTerm {
    /// A literal.
    Literal(&'static str),
    /// `oauth_iparams.NAME`.
    Iparam(&'static str),
    /// `encode(…)`: Base64 of the UTF-8 text.
    Encode(Cow<'static, [SpecTerm]>),
}

/// One integration of `oauth_config.json`.
#[derive(Debug, Clone)]
pub struct IntegrationSpec {
    /// Its name (`oauth` for the legacy format).
    pub name: &'static str,
    /// `authorize_url`.
    pub authorize_url: SpecValue,
    /// `token_url`.
    pub token_url: SpecValue,
    /// `client_id`.
    pub client_id: SpecValue,
    /// `client_secret` when it comes from `oauth_iparams`; `None` when the file holds it as
    /// text, which is never compiled in: it is read from the environment instead.
    pub client_secret: Option<SpecValue>,
    /// `options.scope` as the authorize URL sends it (an array's items joined with spaces).
    pub scope: Option<&'static str>,
    /// `options.customHeaders`, sent verbatim on token requests.
    pub token_headers: Cow<'static, [(&'static str, SpecValue)]>,
    /// The other `options`: extra parameters of the authorize URL.
    pub authorize_params: Cow<'static, [(&'static str, SpecValue)]>,
    /// `token_type: agent`.
    pub agent: bool,
}

/// An [`IntegrationSpec`] kept in a `static`, as generated code keeps it (for generated code
/// only: made anywhere else, its owned lists would never be freed); it reads as the spec. A
/// static is never dropped, and this wrapper has no drop glue: a static of the spec itself (its
/// `Cow`s have some) makes rustc look for that glue among every upstream crate's generic
/// instances at each build of the app's crate, about 15 ms even when nothing changed.
#[doc(hidden)]
#[derive(Debug)]
pub struct StaticSpec(std::mem::ManuallyDrop<IntegrationSpec>);

// What it is for: no drop glue.
const _: () = assert!(!std::mem::needs_drop::<StaticSpec>());

impl StaticSpec {
    /// `spec`, to be kept in a static.
    pub const fn new(spec: IntegrationSpec) -> Self {
        StaticSpec(std::mem::ManuallyDrop::new(spec))
    }
}

impl std::ops::Deref for StaticSpec {
    type Target = IntegrationSpec;

    fn deref(&self) -> &IntegrationSpec {
        &self.0
    }
}

impl IntegrationSpec {
    /// The integration's settings for one installation. `oauth_iparams` gives the values the
    /// admin entered (`None` when absent); a client secret that is not an `oauth_iparam` comes
    /// from `OAUTH_<NAME>_CLIENT_SECRET` (read with `env`), as for
    /// [`IntegrationConfig::from_env`].
    pub fn configure(
        &self,
        oauth_iparams: &dyn Fn(&str) -> Option<String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<IntegrationConfig, InvalidIntegration> {
        let invalid = |reason: String| InvalidIntegration {
            integration: self.name.to_string(),
            reason,
        };
        let text = |value: &SpecValue, what: &str| {
            evaluate(value, oauth_iparams).map_err(|name| {
                invalid(format!(
                    "the {what} needs `oauth_iparams.{name}`, which has no value"
                ))
            })
        };
        let url = |value: &SpecValue, what: &str| {
            let url = text(value, what)?;
            // A substituted value must not reshape the URL: host-name characters and a port
            // only (no `/ ? # @ & = % ;`, no `..`, not `.` alone, which would remove a path
            // segment), wherever it lands.
            for name in iparams_of(value) {
                if let Some(v) = oauth_iparams(name)
                    && (v.contains("..")
                        || v == "."
                        || !v.chars().all(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | ':')
                        }))
                {
                    return Err(invalid(format!(
                        "`oauth_iparams.{name}` is not a valid part of the {what}"
                    )));
                }
            }
            Ok(url)
        };
        let token_url = url(&self.token_url, "token URL")?;
        let authorize_url = url(&self.authorize_url, "authorize URL")?;
        let client_id = text(&self.client_id, "client id")?;
        let mut config = match &self.client_secret {
            Some(secret) => {
                let secret = text(secret, "client secret")?;
                IntegrationConfig::new(self.name, &token_url, client_id, secret)?
            }
            None => {
                let from_env = IntegrationConfig::from_vars(self.name, &token_url, |var| {
                    if var.ends_with("_CLIENT_ID") && !client_id.is_empty() {
                        Some(client_id.clone())
                    } else {
                        env(var)
                    }
                });
                from_env.map_err(|e| {
                    invalid(format!(
                        "{} (oauth_config.json's client_secret is never compiled in)",
                        e.reason
                    ))
                })?
            }
        };
        config = config
            .authorize_url(&authorize_url)?
            .scope(self.scope.unwrap_or_default())
            .token_type(if self.agent {
                TokenType::Agent
            } else {
                TokenType::Account
            });
        for (name, value) in self.token_headers.iter() {
            config = config.token_header(name, &text(value, "custom header")?)?;
        }
        for (key, value) in self.authorize_params.iter() {
            config = config.authorize_param(key, &text(value, "authorize option")?)?;
        }
        Ok(config)
    }
}

/// The text of `value`, or the name of the first `oauth_iparam` it needs that has no value.
fn evaluate(
    value: &SpecValue,
    iparams: &dyn Fn(&str) -> Option<String>,
) -> Result<String, &'static str> {
    let mut out = String::new();
    for piece in value.0.iter() {
        match piece {
            SpecPiece::Text(text) => out.push_str(text),
            SpecPiece::Expr(terms, default) => match (concat(terms, iparams), default) {
                (Ok(text), Some(default)) if text.is_empty() => out.push_str(default),
                (Ok(text), _) => out.push_str(&text),
                (Err(_), Some(default)) => out.push_str(default),
                (Err(missing), None) => return Err(missing),
            },
        }
    }
    Ok(out)
}

fn concat(
    terms: &[SpecTerm],
    iparams: &dyn Fn(&str) -> Option<String>,
) -> Result<String, &'static str> {
    let mut out = String::new();
    for term in terms {
        match term {
            SpecTerm::Literal(text) => out.push_str(text),
            SpecTerm::Iparam(name) => out.push_str(&iparams(name).ok_or(*name)?),
            SpecTerm::Encode(inner) => out.push_str(
                &base64::engine::general_purpose::STANDARD.encode(concat(inner, iparams)?),
            ),
        }
    }
    Ok(out)
}

fn iparams_of(value: &SpecValue) -> Vec<&'static str> {
    fn walk(terms: &[SpecTerm], out: &mut Vec<&'static str>) {
        for term in terms {
            match term {
                SpecTerm::Iparam(name) => out.push(name),
                SpecTerm::Encode(inner) => walk(inner, out),
                SpecTerm::Literal(_) => {}
            }
        }
    }
    let mut out = Vec::new();
    for piece in value.0.iter() {
        if let SpecPiece::Expr(terms, _) = piece {
            walk(terms, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: &[SpecPiece] = &[
        SpecPiece::Text("https://"),
        SpecPiece::Expr(Cow::Borrowed(&[SpecTerm::Iparam("org")]), None),
        SpecPiece::Text("/org/oauth/v2/token"),
    ];
    const AUTHORIZE: &[SpecPiece] = &[
        SpecPiece::Text("https://"),
        SpecPiece::Expr(Cow::Borrowed(&[SpecTerm::Iparam("org")]), None),
        SpecPiece::Text("/org/oauth/v2/authorize"),
    ];
    const BASIC: &[SpecPiece] = &[
        SpecPiece::Text("Basic "),
        SpecPiece::Expr(
            Cow::Borrowed(&[SpecTerm::Encode(Cow::Borrowed(&[
                SpecTerm::Iparam("id"),
                SpecTerm::Literal(":"),
                SpecTerm::Iparam("secret"),
            ]))]),
            None,
        ),
    ];
    const SPEC: IntegrationSpec = IntegrationSpec {
        name: "freshservice",
        authorize_url: SpecValue(Cow::Borrowed(AUTHORIZE)),
        token_url: SpecValue(Cow::Borrowed(DOMAIN)),
        client_id: SpecValue(Cow::Borrowed(&[SpecPiece::Expr(
            Cow::Borrowed(&[SpecTerm::Iparam("id")]),
            None,
        )])),
        client_secret: None,
        scope: Some("freshservice.tickets.create"),
        token_headers: Cow::Borrowed(&[("Authorization", SpecValue(Cow::Borrowed(BASIC)))]),
        authorize_params: Cow::Borrowed(&[(
            "prompt",
            SpecValue(Cow::Borrowed(&[SpecPiece::Expr(
                Cow::Borrowed(&[SpecTerm::Iparam("prompt")]),
                Some("consent"),
            )])),
        )]),
        agent: false,
    };

    fn iparams(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn oauth_iparams_are_substituted_and_the_secret_comes_from_the_environment() {
        let env = |var: &str| (var == "OAUTH_FRESHSERVICE_CLIENT_SECRET").then(|| "s".to_string());
        let config = SPEC
            .configure(
                &iparams(&[
                    ("org", "acme.myfreshworks.com"),
                    ("id", "i"),
                    ("secret", "s"),
                ]),
                &env,
            )
            .unwrap();
        assert_eq!(
            config.token_url.as_str(),
            "https://acme.myfreshworks.com/org/oauth/v2/token"
        );
        assert_eq!(
            config.authorize_url.as_ref().map(url::Url::as_str),
            Some("https://acme.myfreshworks.com/org/oauth/v2/authorize")
        );
        assert_eq!(config.client_id, "i");
        assert_eq!(config.token_headers[0].1, "Basic aTpz");
        assert_eq!(
            config.authorize_params,
            [("prompt".to_string(), "consent".to_string())]
        );
        assert_eq!(config.scope_items(), ["freshservice.tickets.create"]);
    }

    #[test]
    fn an_empty_client_id_comes_from_the_environment_as_the_error_says() {
        // Freshworks' sample apps ship `"client_id": ""`.
        let spec = IntegrationSpec {
            client_id: SpecValue(Cow::Borrowed(&[])),
            token_headers: Cow::Borrowed(&[]),
            ..SPEC
        };
        let org = iparams(&[("org", "acme.com")]);
        let secret_only =
            |var: &str| (var == "OAUTH_FRESHSERVICE_CLIENT_SECRET").then(|| "s".to_string());
        let error = spec.configure(&org, &secret_only).unwrap_err();
        assert!(
            error.to_string().contains("OAUTH_FRESHSERVICE_CLIENT_ID"),
            "{error}"
        );
        let env = |var: &str| match var {
            "OAUTH_FRESHSERVICE_CLIENT_ID" => Some("from-env".to_string()),
            "OAUTH_FRESHSERVICE_CLIENT_SECRET" => Some("s".to_string()),
            _ => None,
        };
        let config = spec.configure(&org, &env).unwrap();
        assert_eq!(config.client_id, "from-env");
    }

    #[test]
    fn missing_and_hostile_values_are_refused_with_the_name() {
        let env = |_: &str| Some("s".to_string());
        let error = SPEC
            .configure(&iparams(&[("id", "i"), ("secret", "s")]), &env)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "integration `freshservice`: the token URL needs `oauth_iparams.org`, which has no value"
        );
        for hostile in [
            "evil.com/x?",
            "evil.com#",
            "user@evil.com",
            "a b",
            "acme&redirect_uri=https://evil",
            "acme;x",
            "%2e%2e",
            "..",
            ".",
            "acme..evil",
        ] {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(vec![("org", hostile), ("id", "i"), ("secret", "s")].into_boxed_slice());
            let error = SPEC.configure(&iparams(pairs), &env).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("is not a valid part of the token URL"),
                "{error}"
            );
        }
        let no_secret = |_: &str| None;
        let error = SPEC
            .configure(
                &iparams(&[("org", "acme.com"), ("id", "i"), ("secret", "s")]),
                &no_secret,
            )
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "integration `freshservice`: no client secret: set OAUTH_FRESHSERVICE_CLIENT_SECRET \
             (looked in the environment) (oauth_config.json's client_secret is never compiled in)"
        );
    }
}
