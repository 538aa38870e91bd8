//! The enum of an app's OAuth integrations, each with its `oauth_config.json` settings as
//! constant data (`IntegrationSpec`) that the runtime turns into a working integration.

use proc_macro2::TokenStream;
use quote::quote;

use super::values::ident;
use super::{doc, docs};
use crate::plan::{AppPlan, IntegrationPlan, Piece, Term, Text};

pub(super) fn integrations_enum(
    plan: &AppPlan,
    client: &proc_macro2::Ident,
    vis: &TokenStream,
    rt: &TokenStream,
) -> TokenStream {
    if plan.integrations.is_empty() {
        return quote!();
    }
    let enum_ident = ident(&format!("{client}Integration"));
    let entries = &plan.integrations;
    let variants = entries.iter().map(|integration| {
        let whose = if integration.agent {
            "one token per end user"
        } else {
            "one token for the installation"
        };
        let display = integration
            .display_name
            .as_ref()
            .map_or(String::new(), |d| format!(" ({})", docs::prose(d)));
        let doc = doc(&format!(
            "{}{display}: {whose}.",
            docs::code(&integration.key)
        ));
        let variant = ident(&integration.variant);
        quote!(#doc #variant,)
    });
    let arms = entries.iter().map(|integration| {
        let variant = ident(&integration.variant);
        let key = &integration.key;
        quote!(Self::#variant => #key,)
    });
    let spec_arms = entries.iter().map(|integration| {
        let variant = ident(&integration.variant);
        let spec = spec_tokens(integration);
        // `StaticSpec`, not the spec itself: a static without drop glue builds faster.
        quote!(Self::#variant => {
            static SPEC: __s::StaticSpec = __s::StaticSpec::new(#spec);
            &SPEC
        })
    });
    let all = entries.iter().map(|integration| {
        let variant = ident(&integration.variant);
        quote!(Self::#variant)
    });
    let count = proc_macro2::Literal::usize_unsuffixed(entries.len());
    let enum_doc = doc(if plan.legacy_oauth {
        "The OAuth integration of the legacy `oauth_config.json`, named `oauth`."
    } else {
        "The OAuth integrations of `oauth_config.json`."
    });
    quote! {
        #enum_doc
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
        #[derive(::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash)]
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

/// The spec of one integration, inside a scope where `__s` is the runtime's `spec` module.
fn spec_tokens(integration: &IntegrationPlan) -> TokenStream {
    let name = &integration.key;
    let authorize_url = value_tokens(&integration.authorize_url);
    let token_url = value_tokens(&integration.token_url);
    let client_id = value_tokens(&integration.client_id);
    let client_secret = option(integration.client_secret.as_ref().map(value_tokens));
    let scope = option(integration.scope.as_ref().map(|scope| quote!(#scope)));
    let pairs = |pairs: &[(String, Text)]| {
        let pairs = pairs.iter().map(|(key, value)| {
            let value = value_tokens(value);
            quote!((#key, #value))
        });
        quote!(__s::Borrowed(&[#(#pairs),*]))
    };
    let token_headers = pairs(&integration.token_headers);
    let authorize_params = pairs(&integration.authorize_params);
    let agent = integration.agent;
    quote! {
        __s::IntegrationSpec {
            name: #name,
            authorize_url: #authorize_url,
            token_url: #token_url,
            client_id: #client_id,
            client_secret: #client_secret,
            scope: #scope,
            token_headers: #token_headers,
            authorize_params: #authorize_params,
            agent: #agent,
        }
    }
}

fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

fn value_tokens(value: &Text) -> TokenStream {
    let pieces = value.0.iter().map(|piece| match piece {
        Piece::Text(text) => quote!(__s::SpecPiece::Text(#text)),
        Piece::Value(value) => {
            let terms = terms_tokens(&value.terms);
            let default = option(value.default.as_ref().map(|d| quote!(#d)));
            quote!(__s::SpecPiece::Expr(__s::Borrowed(#terms), #default))
        }
    });
    quote!(__s::SpecValue(__s::Borrowed(&[#(#pieces),*])))
}

fn terms_tokens(terms: &[Term]) -> TokenStream {
    let terms = terms.iter().map(|term| match term {
        Term::Literal(text) => quote!(__s::SpecTerm::Literal(#text)),
        Term::OauthIparam(name) => quote!(__s::SpecTerm::Iparam(#name)),
        Term::Encode(inner) => {
            let inner = terms_tokens(inner);
            quote!(__s::SpecTerm::Encode(__s::Borrowed(#inner)))
        }
        // Validation allows nothing else here; a config with errors gets a stand-in.
        Term::Context(_) | Term::Iparam(_) | Term::Unresolved => {
            quote!(__s::SpecTerm::Literal(""))
        }
    });
    quote!(&[#(#terms),*])
}
