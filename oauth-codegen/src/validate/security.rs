//! `options.security`: each of `cert`, `key` and `ca` names one installation value, and the
//! template goes over https.

use super::references::{Position, Reference, check_iparam, resolve};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::{AppConfig, Protocol, Template};
use crate::placeholder::{Part, Term};

/// A certificate or key is read from the installation's values at each call: never written
/// in the template, never given by the caller.
pub(super) fn check_security(app: &AppConfig, template: &Template, diagnostics: &mut Diagnostics) {
    let Some(security) = &template.options.security else {
        return;
    };
    if template.schema.protocol == Protocol::Http {
        diagnostics.push(
            Diagnostic::error(
                security.span.clone(),
                "a client certificate (`options.security`) needs https",
            )
            .with_help("remove `\"protocol\": \"http\"`: TLS carries the client certificate"),
        );
    }
    for (name, value) in security.values() {
        let example = format!("`\"{name}\": \"<%= iparam.client_{name} %>\"`");
        let placeholder = match value.parts.as_slice() {
            [Part::Placeholder(placeholder)] => placeholder,
            _ => {
                diagnostics.push(
                    Diagnostic::error(
                        value.span.clone(),
                        format!("`security.{name}` must be one installation value"),
                    )
                    .with_help(format!(
                        "a certificate or key is never written into requests.json: keep it in an \
                         iparam (the key a secure one) and name it alone, as in {example}"
                    )),
                );
                continue;
            }
        };
        let path = match (placeholder.expr.terms.as_slice(), &placeholder.expr.default) {
            ([Term::Path(path)], None) => path,
            _ => {
                diagnostics.push(
                    Diagnostic::error(
                        placeholder.span.clone(),
                        format!(
                            "`security.{name}` must name one value, without `||` or `encode(…)`"
                        ),
                    )
                    .with_help(format!("write {example}")),
                );
                continue;
            }
        };
        let reference = match resolve(path) {
            Ok(reference) => reference,
            Err(diagnostic) => {
                diagnostics.push(diagnostic);
                continue;
            }
        };
        match reference {
            Reference::Iparam(iparam) => {
                check_iparam(path, iparam, Position::Security, app.iparams.as_ref(), diagnostics);
                let declared = app
                    .iparams
                    .as_ref()
                    .and_then(|i| i.params.iter().find(|p| p.name.value == iparam));
                if name == "key"
                    && let Some(declared) = declared.filter(|p| !p.secure)
                {
                    diagnostics.push(
                        Diagnostic::warning(
                            path.span.clone(),
                            format!("the private key is in iparam `{iparam}`, which is not secure"),
                        )
                        .with_related(declared.name.span.clone(), "declared here")
                        .with_help("declare it `\"secure\": true` in iparams.json: a private key is a secret"),
                    );
                }
            }
            Reference::Platform
                if path.segments.first().is_some_and(|s| s.value == "app_settings") => {}
            Reference::Context(field) => diagnostics.push(
                Diagnostic::error(
                    path.span.clone(),
                    format!("`security.{name}` cannot be given at each call (`context.{field}`)"),
                )
                .with_help(format!(
                    "a client certificate belongs to the installation: keep it in an iparam, as in {example}"
                )),
            ),
            _ => diagnostics.push(
                Diagnostic::error(
                    path.span.clone(),
                    format!("`security.{name}` must be an installation value, not `{}`", path.dotted()),
                )
                .with_help(format!("write {example}")),
            ),
        }
    }
}
