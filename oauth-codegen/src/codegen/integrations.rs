//! The enum of an app's OAuth integrations, each with its `oauth_config.json` settings as
//! constant data (`IntegrationSpec`) that the runtime turns into a working integration.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::quote;

use super::values::ident;
use super::{doc, docs, integration_key};
use crate::ident as names;
use crate::model::{AppConfig, Integration, OAuthFormat, TokenType};
use crate::placeholder::{Part, TemplateString, Term};

pub(super) fn integrations_enum(
    app: &AppConfig,
    client: &proc_macro2::Ident,
    vis: &TokenStream,
    rt: &TokenStream,
) -> TokenStream {
    let Some(oauth) = &app.oauth else {
        return quote!();
    };
    let enum_ident = ident(&format!("{client}Integration"));
    let mut seen = HashSet::new();
    let entries: Vec<(proc_macro2::Ident, String, String, TokenStream)> = oauth
        .integrations
        .iter()
        .map(|integration| {
            let name = integration_key(integration.name.as_ref().map(|n| n.value.as_str()));
            let whose = match integration.token_type.value {
                TokenType::Account => "one token for the installation",
                TokenType::Agent => "one token per end user",
            };
            let display = integration
                .display_name
                .as_ref()
                .map_or(String::new(), |d| format!(" ({})", docs::prose(&d.value)));
            (
                ident(&names::upper_camel_case(&name)),
                name.clone(),
                format!("{}{display}: {whose}.", docs::code(&name)),
                spec_tokens(integration, &name, &quote!(__s)),
            )
        })
        .filter(|(variant, _, _, _)| seen.insert(variant.to_string()))
        .collect();
    let variants = entries.iter().map(|(variant, _, text, _)| {
        let doc = doc(text);
        quote!(#doc #variant,)
    });
    let arms = entries
        .iter()
        .map(|(variant, name, _, _)| quote!(Self::#variant => #name,));
    let spec_arms = entries.iter().map(|(variant, _, _, spec)| {
        quote!(Self::#variant => {
            static SPEC: __s::IntegrationSpec = #spec;
            &SPEC
        })
    });
    let all = entries
        .iter()
        .map(|(variant, _, _, _)| quote!(Self::#variant));
    let count = proc_macro2::Literal::usize_unsuffixed(entries.len());
    let enum_doc = doc(match oauth.format {
        OAuthFormat::Multi => "The OAuth integrations of `oauth_config.json`.",
        OAuthFormat::Legacy => {
            "The OAuth integration of the legacy `oauth_config.json`, named `oauth`."
        }
    });
    quote! {
        #enum_doc
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash)]
        #vis enum #enum_ident { #(#variants)* }

        impl #enum_ident {
            /// Every integration.
            #vis const ALL: [Self; #count] = [#(#all),*];

            /// The integration's name in `oauth_config.json`.
            #vis const fn name(self) -> &'static str {
                match self { #(#arms)* }
            }

            /// The integration as `oauth_config.json` describes it; `.configure(…)` makes it
            /// the runtime's, with the installation's `oauth_iparams`.
            #vis fn spec(self) -> &'static #rt::spec::IntegrationSpec {
                use #rt::spec as __s;
                match self { #(#spec_arms)* }
            }
        }
    }
}

/// The spec of one integration; `s` is the path of the runtime's `spec` module.
fn spec_tokens(integration: &Integration, name: &str, s: &TokenStream) -> TokenStream {
    let authorize_url = value_tokens(&integration.authorize_url, s);
    let token_url = value_tokens(&integration.token_url, s);
    let client_id = value_tokens(&integration.client_id, s);
    // A secret written as text in the file is never compiled in: the runtime reads it from
    // the environment (validation warns about it).
    let client_secret = if integration.client_secret.placeholders().next().is_some() {
        let value = value_tokens(&integration.client_secret, s);
        quote!(::core::option::Option::Some(#value))
    } else {
        quote!(::core::option::Option::None)
    };
    let scope = match &integration.scope {
        Some(scope) => {
            let text = scope.value.as_str();
            quote!(::core::option::Option::Some(#text))
        }
        None => quote!(::core::option::Option::None),
    };
    let headers = integration
        .custom_headers
        .iter()
        .filter(|header| !header.is_literal_credential())
        .map(|header| {
            let name = header.name.value.as_str();
            let value = value_tokens(&header.value, s);
            quote!((#name, #value))
        });
    let params = integration.extra_params.iter().map(|(key, value)| {
        let key = key.value.as_str();
        let value = value_tokens(value, s);
        quote!((#key, #value))
    });
    let agent = integration.token_type.value == TokenType::Agent;
    quote! {
        #s::IntegrationSpec {
            name: #name,
            authorize_url: #authorize_url,
            token_url: #token_url,
            client_id: #client_id,
            client_secret: #client_secret,
            scope: #scope,
            token_headers: &[#(#headers),*],
            authorize_params: &[#(#params),*],
            agent: #agent,
        }
    }
}

fn value_tokens(value: &TemplateString, s: &TokenStream) -> TokenStream {
    let pieces = value.parts.iter().map(|part| match part {
        Part::Text(text) => quote!(#s::SpecPiece::Text(#text)),
        Part::Placeholder(placeholder) => {
            let terms = terms_tokens(&placeholder.expr.terms, s);
            let default = match &placeholder.expr.default {
                Some(default) => {
                    let text = default.value.text();
                    quote!(::core::option::Option::Some(#text))
                }
                None => quote!(::core::option::Option::None),
            };
            quote!(#s::SpecPiece::Expr(#terms, #default))
        }
    });
    quote!(#s::SpecValue(&[#(#pieces),*]))
}

fn terms_tokens(terms: &[Term], s: &TokenStream) -> TokenStream {
    let terms = terms.iter().map(|term| match term {
        Term::Literal(literal) => {
            let text = literal.value.text();
            quote!(#s::SpecTerm::Literal(#text))
        }
        Term::Path(path) => match path.segments.as_slice() {
            [root, name] if root.value == "oauth_iparams" => {
                let name = name.value.as_str();
                quote!(#s::SpecTerm::Iparam(#name))
            }
            // Validation allows nothing else here; a config with errors gets a stand-in.
            _ => quote!(#s::SpecTerm::Literal("")),
        },
        Term::Encode { terms, .. } => {
            let inner = terms_tokens(terms, s);
            quote!(#s::SpecTerm::Encode(#inner))
        }
    });
    quote!(&[#(#terms),*])
}
