//! Code generation: a validated [`AppConfig`] becomes a typed client, as tokens.
//!
//! Generated code only builds values and calls `oauth_runtime::__private`; everything that
//! behaves lives in the runtime, so each template costs a few lines.

mod docs;
mod fields;
mod integrations;
mod values;

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::quote;

use fields::{ContextField, IparamField, IparamKind, context_fields, iparam_fields};
use values::{Values, ident};

use crate::ident as names;
use crate::model::{AppConfig, AuthRef, Method, Protocol, QueryValue, Template, TokenType};
use crate::placeholder::{Part, TemplateString};

pub use docs::render_expr;

/// What the generated client is called and where it points.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// The client struct's name (`Helpdesk`).
    pub name: String,
    /// Its visibility, as tokens (`pub`, `pub(crate)`, or nothing).
    pub vis: TokenStream,
    /// The user's own attributes on the struct (doc comments, …), kept as they are.
    pub attrs: TokenStream,
    /// The path to the runtime crate (`::oauth_runtime`).
    pub runtime: TokenStream,
    /// How the requests file is named in docs (`config/requests.json`).
    pub requests_label: String,
    /// Files whose changes must rebuild the client (absolute paths).
    pub tracked_files: Vec<String>,
}

/// The typed client for `app`. Works on configs with errors too (their stand-ins produce a
/// skeleton), so the user's code sees the config's errors and not a flood of missing names.
pub fn generate(app: &AppConfig, spec: &ClientSpec) -> TokenStream {
    let rt = &spec.runtime;
    let client = ident(&spec.name);
    let vis = &spec.vis;
    let attrs = &spec.attrs;
    let iparams = dedup_iparams(iparam_fields(app));
    let iparams_ident = ident(&format!("{client}Iparams"));

    let tracked = spec.tracked_files.iter().map(|file| {
        quote!(
            const _: &[u8] = ::core::include_bytes!(#file);
        )
    });

    let (iparams_item, iparams_field, new_params, new_init) = if iparams.is_empty() {
        (quote!(), quote!(), quote!(), quote!())
    } else {
        let doc = doc(&format!(
            "Installation parameters of [`{client}`]: what an admin gives when installing the app."
        ));
        let fields = iparams.iter().map(|field| iparam_field_tokens(field, rt));
        (
            quote! {
                #doc
                #[derive(::core::clone::Clone)]
                #vis struct #iparams_ident { #(#fields)* }

                /// Shows no value: any installation value may be a credential.
                impl ::core::fmt::Debug for #iparams_ident {
                    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        f.debug_struct(::core::stringify!(#iparams_ident)).finish_non_exhaustive()
                    }
                }
            },
            quote!(__iparams: ::std::sync::Arc<#iparams_ident>,),
            quote!(, iparams: #iparams_ident),
            quote!(__iparams: ::std::sync::Arc::new(iparams),),
        )
    };

    let integrations_item = integrations::integrations_enum(app, &client, vis, rt);

    let mut seen_methods = HashSet::new();
    let mut context_items = Vec::new();
    let mut methods = Vec::new();
    let mut fixed_urls = 0;
    for template in &app.templates {
        let method_name = names::snake_case(&template.name.value);
        if !seen_methods.insert(method_name.clone()) {
            continue;
        }
        let generated = template_tokens(
            app,
            template,
            spec,
            &client,
            &iparams,
            &method_name,
            fixed_urls,
        );
        fixed_urls += usize::from(generated.uses_fixed_url);
        context_items.push(generated.context_item);
        methods.push(generated.method);
    }
    let (urls_field, urls_init) = if fixed_urls == 0 {
        (quote!(), quote!())
    } else {
        let n = proc_macro2::Literal::usize_unsuffixed(fixed_urls);
        (
            quote!(__urls: #rt::__private::FixedUrls<#n>,),
            quote!(__urls: ::core::default::Default::default(),),
        )
    };

    let client_doc = doc(&format!(
        "Client for the request templates of {}.",
        docs::code(&spec.requests_label)
    ));
    quote! {
        #(#tracked)*

        #client_doc
        #attrs
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #client {
            __runtime: #rt::Runtime,
            #iparams_field
            #urls_field
        }

        #iparams_item
        #integrations_item
        #(#context_items)*

        impl #client {
            /// A client for one installation of the app.
            #vis fn new(runtime: #rt::Runtime #new_params) -> Self {
                Self { __runtime: runtime, #new_init #urls_init }
            }

            #(#methods)*
        }
    }
}

/// `#[doc = " …"]` attributes, one per line, so formatted output reads `/// …`.
fn doc(text: &str) -> TokenStream {
    let lines = text.lines().map(|line| {
        let line = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

fn dedup_iparams(fields: Vec<IparamField>) -> Vec<IparamField> {
    let mut seen = HashSet::new();
    fields
        .into_iter()
        .filter(|f| seen.insert(f.ident.clone()))
        .collect()
}

fn iparam_field_tokens(field: &IparamField, rt: &TokenStream) -> TokenStream {
    let name = ident(&field.ident);
    let ty = match field.kind {
        IparamKind::Text => quote!(::std::string::String),
        IparamKind::Secret => quote!(#rt::SecretString),
        IparamKind::Number => quote!(f64),
        IparamKind::Checkbox => quote!(bool),
        IparamKind::Multiselect => quote!(::std::vec::Vec<::std::string::String>),
    };
    let ty = if field.required {
        ty
    } else {
        quote!(::core::option::Option<#ty>)
    };
    let mut doc = docs::code(&field.label);
    if field.kind == IparamKind::Secret {
        doc.push_str(": secure, redacted in `Debug`");
    }
    if !field.required {
        doc.push_str(" (optional)");
    }
    doc.push('.');
    let doc = self::doc(&doc);
    quote!(#doc pub #name: #ty,)
}

/// The name tokens are stored under: the integration's key, or `oauth` for the legacy format.
pub(crate) fn integration_key(name: Option<&str>) -> String {
    name.unwrap_or("oauth").to_string()
}

/// What one template adds to the client.
struct TemplateTokens {
    /// Its context struct, if it has values given at the call.
    context_item: TokenStream,
    method: TokenStream,
    /// Whether the method keeps its URL's fixed start in the client's `__urls`.
    uses_fixed_url: bool,
}

/// The tokens of `template`; its URL's fixed start, if it has one, is `__urls[fixed_index]`.
fn template_tokens(
    app: &AppConfig,
    template: &Template,
    spec: &ClientSpec,
    client: &proc_macro2::Ident,
    iparams: &[IparamField],
    method_name: &str,
    fixed_index: usize,
) -> TemplateTokens {
    let rt = &spec.runtime;
    let vis = &spec.vis;
    let method = ident(method_name);
    let context = dedup_context(context_fields(template));
    let context_ident = ident(&format!(
        "{}Context",
        names::upper_camel_case(&template.name.value)
    ));

    let context_item = if context.is_empty() {
        quote!()
    } else {
        let struct_doc = doc(&format!(
            "Values given at each call of [`{client}::{method_name}`]."
        ));
        let fields = context.iter().map(|field| {
            let name = ident(&field.ident);
            let places: Vec<&str> = field.positions.iter().map(|p| p.describe()).collect();
            let mut text = format!("`context.{}`, in {}.", field.name, places.join(" and "));
            if field.optional {
                text.push_str(" When `None` or empty, the template's default is sent.");
            }
            let field_doc = doc(&text);
            if field.optional {
                quote!(#field_doc pub #name: ::core::option::Option<::std::string::String>,)
            } else {
                quote!(#field_doc pub #name: ::std::string::String,)
            }
        });
        quote! {
            #struct_doc
            #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::default::Default, ::core::cmp::PartialEq, ::core::cmp::Eq)]
            #vis struct #context_ident { #(#fields)* }
        }
    };

    let integration = template
        .options
        .auth
        .as_ref()
        .map(|auth| match &auth.value {
            AuthRef::Integration(name) => name.clone(),
            AuthRef::Legacy => integration_key(None),
        });
    let token_type = template
        .options
        .auth
        .as_ref()
        .and_then(|auth| app.oauth.as_ref()?.integration(&auth.value))
        .map(|i| i.token_type.value);

    let mut values = Values::new(&context, iparams);
    let mut url = UrlStatements::default();
    compose_host(&template.schema.host, &mut values, &mut url);
    if let Some(path) = &template.schema.path {
        compose_path(path, &mut values, &mut url);
    }
    let uses_fixed_url = !url.fixed.is_empty();
    let mut statements = Vec::new();
    if uses_fixed_url {
        let index = proc_macro2::Literal::usize_unsuffixed(fixed_index);
        let fixed = url.fixed;
        statements.push(quote! {
            __request.fixed(&self.__urls[#index], |__request| {
                #(#fixed)*
            });
        });
    }
    statements.extend(url.rest);
    for param in &template.schema.query {
        let key = &param.name.value;
        let value = match &param.value {
            QueryValue::Text(text) => string_value(text, &mut values),
            QueryValue::Number(n) => {
                let n = &n.value;
                quote!(#n)
            }
            QueryValue::Bool(b) => {
                let b = b.value.to_string();
                quote!(#b)
            }
        };
        statements.append(&mut values.lets);
        statements.push(quote!(__request.query(#key, #value);));
    }
    for header in &template.schema.headers {
        compose_header(
            &header.name.value,
            &header.value,
            &mut values,
            &mut statements,
        );
    }

    let name = &template.name.value;
    let method_kind = ident(match template.schema.method.value {
        Method::Get => "Get",
        Method::Post => "Post",
        Method::Put => "Put",
        Method::Patch => "Patch",
        Method::Delete => "Delete",
    });
    let https = template.schema.protocol == Protocol::Https;
    let integration_tokens = match &integration {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::None),
    };
    let attempts = template
        .options
        .max_attempts
        .as_ref()
        .map_or(1, |m| m.value);
    let delay = template
        .options
        .retry_delay_ms
        .as_ref()
        .map_or(if attempts > 1 { 1000 } else { 0 }, |r| r.value);
    let max_attempts = proc_macro2::Literal::u8_unsuffixed(attempts);
    let retry_delay_ms = proc_macro2::Literal::u16_unsuffixed(delay);
    let query_keys = template.query_keys();

    let mut params = Vec::new();
    if !context.is_empty() {
        params.push(quote!(context: &#context_ident));
    }
    let user = if token_type == Some(TokenType::Agent) {
        params.push(quote!(user: &#rt::UserId));
        quote!(__request.user(user);)
    } else {
        quote!()
    };
    let bind_iparams = if values.uses_iparams {
        quote!(let __iparams = &*self.__iparams;)
    } else {
        quote!()
    };
    let method_doc = doc(&docs::method_doc(
        template,
        &spec.requests_label,
        token_type,
    ));
    let method_item = quote! {
        #method_doc
        #vis fn #method(&self #(, #params)*) -> #rt::RequestBuilder {
            use #rt::__private as __p;
            static __TEMPLATE: __p::TemplateInfo = __p::TemplateInfo {
                name: #name,
                method: __p::MethodKind::#method_kind,
                https: #https,
                integration: #integration_tokens,
                max_attempts: #max_attempts,
                retry_delay_ms: #retry_delay_ms,
                query_keys: &[#(#query_keys),*],
            };
            #bind_iparams
            let mut __request = __p::Compose::new(&self.__runtime, &__TEMPLATE);
            #user
            #(#statements)*
            __request.finish()
        }
    };
    TemplateTokens {
        context_item,
        method: method_item,
        uses_fixed_url,
    }
}

/// The statements that compose a URL's host and path: first those of its fixed start (text
/// and installation parameters, the same at each call of a client), then the rest.
#[derive(Default)]
struct UrlStatements {
    fixed: Vec<TokenStream>,
    rest: Vec<TokenStream>,
}

impl UrlStatements {
    /// Adds the statements of one part; the fixed start ends at the first that is not.
    fn push(&mut self, fixed: bool, statements: &mut Vec<TokenStream>) {
        if fixed && self.rest.is_empty() {
            self.fixed.append(statements);
        } else {
            self.rest.append(statements);
        }
    }
}

fn dedup_context(fields: Vec<ContextField>) -> Vec<ContextField> {
    let mut seen = HashSet::new();
    fields
        .into_iter()
        .filter(|f| seen.insert(f.ident.clone()))
        .collect()
}

fn compose_host(host: &TemplateString, values: &mut Values<'_>, url: &mut UrlStatements) {
    // A fixed start includes the whole host, or it is of no use: nothing is parsed before.
    let fixed = host.parts.iter().all(|part| match part {
        Part::Text(_) => true,
        Part::Placeholder(p) => values.is_fixed(&p.expr),
    });
    for part in &host.parts {
        match part {
            Part::Text(text) => url.push(fixed, &mut vec![quote!(__request.host_text(#text);)]),
            Part::Placeholder(p) => {
                let label = render_expr(&p.expr);
                let value = values.expr(&p.expr);
                values
                    .lets
                    .push(quote!(__request.host_value(#label, #value);));
                url.push(fixed, &mut values.lets);
            }
        }
    }
}

fn compose_path(path: &TemplateString, values: &mut Values<'_>, url: &mut UrlStatements) {
    for (index, part) in path.parts.iter().enumerate() {
        match part {
            Part::Text(text) => url.push(true, &mut vec![quote!(__request.path_text(#text);)]),
            Part::Placeholder(p) => {
                let label = render_expr(&p.expr);
                let value = values.expr(&p.expr);
                values.lets.push(if index == 0 {
                    quote!(__request.path_prefix_value(#label, #value);)
                } else {
                    quote!(__request.path_value(#label, #value);)
                });
                url.push(values.is_fixed(&p.expr), &mut values.lets);
            }
        }
    }
}

/// A whole templated string as one `&str` (query and header values).
fn string_value(text: &TemplateString, values: &mut Values<'_>) -> TokenStream {
    let parts: Vec<TokenStream> = text
        .parts
        .iter()
        .map(|part| match part {
            Part::Text(t) => quote!(#t),
            Part::Placeholder(p) => values.expr(&p.expr),
        })
        .collect();
    match parts.as_slice() {
        [] => quote!(""),
        [single] => single.clone(),
        _ => quote!(__p::concat(&[#(#parts),*]).as_str()),
    }
}

/// The text around the access token in a header: a `&'static str` when it is literal (the
/// usual `Bearer `), else an owned `String`, as `Compose::token_header` keeps it.
fn token_text(text: &TemplateString, values: &mut Values<'_>) -> TokenStream {
    let mut literal = String::new();
    let mut placeholders = false;
    let mut parts = Vec::new();
    for part in &text.parts {
        match part {
            Part::Text(t) => {
                literal.push_str(t);
                parts.push(quote!(#t));
            }
            Part::Placeholder(p) => {
                placeholders = true;
                parts.push(values.expr(&p.expr));
            }
        }
    }
    match parts.as_slice() {
        _ if !placeholders => quote!(#literal),
        [single] => quote!(::std::string::String::from(#single)),
        _ => quote!(__p::concat(&[#(#parts),*])),
    }
}

fn compose_header(
    name: &str,
    value: &TemplateString,
    values: &mut Values<'_>,
    statements: &mut Vec<TokenStream>,
) {
    let lower = name.to_ascii_lowercase();
    // A constant: the name was checked when the configs were read, so this cannot fail.
    let header = quote!(const { __p::HeaderName::from_static(#lower) });
    let label = format!("header {name}");
    let token_at = value.parts.iter().position(|part| match part {
        Part::Placeholder(p) => p.expr.is_access_token(),
        Part::Text(_) => false,
    });
    match token_at {
        Some(at) => {
            let before = TemplateString::from_parts(
                value.parts.get(..at).unwrap_or_default().to_vec(),
                value.span.clone(),
            );
            let after = TemplateString::from_parts(
                value.parts.get(at + 1..).unwrap_or_default().to_vec(),
                value.span.clone(),
            );
            let prefix = token_text(&before, values);
            let suffix = token_text(&after, values);
            statements.append(&mut values.lets);
            statements.push(quote!(__request.token_header(#label, #header, #prefix, #suffix);));
        }
        None => {
            let text = string_value(value, values);
            statements.append(&mut values.lets);
            statements.push(quote!(__request.header(#label, #header, #text);));
        }
    }
}
