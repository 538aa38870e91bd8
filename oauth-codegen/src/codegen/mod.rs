//! Code generation: a validated [`AppConfig`] becomes a typed client, as tokens.
//!
//! Generated code only builds values and calls `oauth_runtime::__private`; everything that
//! behaves lives in the runtime, so each template costs a few lines.

mod docs;
mod integrations;
mod values;

use proc_macro2::TokenStream;
use quote::quote;

use values::{Values, ident};

use crate::model::{AppConfig, Method};
use crate::plan::{AppPlan, IparamField, IparamKind, Step, TemplatePlan, Text, Value};

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
    generate_plan(&AppPlan::new(app), spec)
}

/// The typed client of a plan: each decision is the plan's, translated to Rust.
pub fn generate_plan(plan: &AppPlan, spec: &ClientSpec) -> TokenStream {
    let rt = &spec.runtime;
    let client = ident(&spec.name);
    let vis = &spec.vis;
    let attrs = &spec.attrs;
    let iparams = &plan.iparams;
    let iparams_ident = ident(&format!("{client}Iparams"));

    let tracked = spec.tracked_files.iter().map(|file| {
        quote!(
            const _: &[u8] = ::core::include_bytes!(#file);
        )
    });

    let fixed_ident = ident(&format!("__{client}FixedParts"));
    let fixed_parts: Vec<_> = (plan.templates.iter())
        .filter(|template| template.fixed_steps > 0)
        .map(|template| ident(&template.method_name))
        .collect();
    // The installation parameters and the fixed parts share one allocation (`Installation`),
    // either being `()` when the app has none.
    let fixed_type = if fixed_parts.is_empty() {
        quote!(())
    } else {
        quote!(#fixed_ident)
    };
    let (iparams_item, iparams_field, new_params, new_init) = if iparams.is_empty() {
        let (field, init) = if fixed_parts.is_empty() {
            (quote!(), quote!())
        } else {
            (
                quote!(__iparams: #rt::__private::Installation<(), #fixed_type>,),
                quote!(__iparams: #rt::__private::Installation::new(()),),
            )
        };
        (quote!(), field, quote!(), init)
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
            quote!(__iparams: #rt::__private::Installation<#iparams_ident, #fixed_type>,),
            quote!(, iparams: #iparams_ident),
            quote!(__iparams: #rt::__private::Installation::new(iparams),),
        )
    };

    let integrations_item = integrations::integrations_enum(plan, &client, vis, rt);

    let mut context_items = Vec::new();
    let mut methods = Vec::new();
    for template in &plan.templates {
        let generated = template_tokens(template, plan, spec, &client);
        context_items.push(generated.context_item);
        methods.push(generated.method);
    }
    let fixed_item = if fixed_parts.is_empty() {
        quote!()
    } else {
        quote! {
            /// The fixed part of each template's requests (its URL's start, its headers of
            /// installation values), kept from its second call.
            #[doc(hidden)]
            #[derive(::core::default::Default)]
            struct #fixed_ident { #(#fixed_parts: #rt::__private::FixedPart,)* }
        }
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
        }

        #iparams_item
        #fixed_item
        #integrations_item
        #(#context_items)*

        impl #client {
            /// A client for one installation of the app.
            #vis fn new(runtime: #rt::Runtime #new_params) -> Self {
                Self { __runtime: runtime, #new_init }
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

/// What one template adds to the client.
struct TemplateTokens {
    /// Its context struct, if it has values given at the call.
    context_item: TokenStream,
    method: TokenStream,
}

fn template_tokens(
    template: &TemplatePlan,
    plan: &AppPlan,
    spec: &ClientSpec,
    client: &proc_macro2::Ident,
) -> TemplateTokens {
    let rt = &spec.runtime;
    let vis = &spec.vis;
    let method_name = &template.method_name;
    let method = ident(method_name);
    let context = &template.context;
    let context_ident = ident(&template.context_name);

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
            #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::default::Default)]
            #[derive(::core::cmp::PartialEq, ::core::cmp::Eq)]
            #vis struct #context_ident { #(#fields)* }
        }
    };

    let mut values = Values::new(context, &plan.iparams);
    let mut fixed = Vec::new();
    let mut statements = Vec::new();
    // Path parts, or query pairs, in a row after the fixed start, each with its own call,
    // until they are one.
    let mut run = Run::default();
    // After a `?` in the path text, parts are the query's text: each keeps its own call.
    let mut in_query = false;
    for (index, step) in template.steps.iter().enumerate() {
        let per_call = index >= template.fixed_steps;
        if per_call && let Some((kind, part)) = run_part(step, in_query, &mut values) {
            // What the part needs first (an optional iparam required) comes after the parts
            // before it, as their calls would: the request's first error stays the first.
            if run.kind != Some(kind) || !values.lets.is_empty() {
                run.end(&mut statements);
                statements.append(&mut values.lets);
            }
            run.kind = Some(kind);
            run.parts.push(part);
            continue;
        }
        run.end(&mut statements);
        in_query |= matches!(step, Step::PathText(text) if text.contains('?'));
        let statement = step_tokens(step, &mut values);
        let out = if per_call {
            &mut statements
        } else {
            &mut fixed
        };
        out.append(&mut values.lets);
        out.push(statement);
    }
    run.end(&mut statements);
    if !fixed.is_empty() {
        statements.insert(
            0,
            quote! {
                if request.fixed(&self.__iparams.fixed().#method) {
                    #(#fixed)*
                    request.keep_fixed();
                }
            },
        );
    }

    let name = &template.name;
    let method_kind = ident(match template.method {
        Method::Get => "get",
        Method::Post => "post",
        Method::Put => "put",
        Method::Patch => "patch",
        Method::Delete => "delete",
    });
    let mut info = quote!(__p::TemplateInfo::#method_kind(#name));
    if !template.https {
        info.extend(quote!(.http()));
    }
    if let Some(auth) = &template.auth {
        let key = &auth.integration;
        info.extend(quote!(.oauth(#key)));
    }
    if template.max_attempts > 1 || template.retry_delay_ms > 0 {
        let max_attempts = proc_macro2::Literal::u8_unsuffixed(template.max_attempts);
        let retry_delay_ms = proc_macro2::Literal::u16_unsuffixed(template.retry_delay_ms);
        info.extend(quote!(.attempts(#max_attempts, #retry_delay_ms)));
    }
    if !template.query_keys.is_empty() {
        let keys = &template.query_keys;
        info.extend(quote!(.query_keys(&[#(#keys),*])));
    }

    let mut params = Vec::new();
    if !context.is_empty() {
        params.push(quote!(context: &#context_ident));
    }
    let user = if template.auth.as_ref().is_some_and(|a| a.agent) {
        params.push(quote!(user: &#rt::UserId));
        quote!(request.user(user);)
    } else {
        quote!()
    };
    let method_doc = doc(&docs::method_doc(template, &spec.requests_label));
    let method_item = quote! {
        #method_doc
        #vis fn #method(&self #(, #params)*) -> #rt::RequestBuilder {
            use #rt::__private as __p;
            static TEMPLATE: __p::TemplateInfo = #info;
            let mut request = __p::Compose::new(&self.__runtime, &TEMPLATE);
            #user
            #(#statements)*
            request.finish()
        }
    };
    TemplateTokens {
        context_item,
        method: method_item,
    }
}

/// What a run of steps in a row is made of.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RunKind {
    /// Path parts, appended to the parsed path in one pass.
    Path,
    /// Query pairs, appended by one query serializer.
    Query,
}

/// Steps of one kind in a row: each as its share of the one call that makes them all, and as
/// its own call.
#[derive(Default)]
struct Run {
    kind: Option<RunKind>,
    parts: Vec<(TokenStream, TokenStream)>,
}

impl Run {
    /// Ends the run, as a request built by hand pushes its segments, or appends its pairs, in
    /// one pass: one part keeps its own call, more are one call (`path`, `query_pairs`).
    fn end(&mut self, statements: &mut Vec<TokenStream>) {
        let kind = self.kind.take();
        let parts = self.parts.drain(..);
        match (kind, parts.len()) {
            (_, 0) => {}
            (_, 1) => statements.extend(parts.map(|(_, call)| call)),
            (Some(RunKind::Query), _) => {
                let pairs = parts.map(|(pair, _)| pair);
                statements.push(quote!(request.query_pairs(&[#(#pairs),*]);));
            }
            _ => {
                let parts = parts.map(|(part, _)| part);
                statements.push(quote!(request.path(&[#(#parts),*]);));
            }
        }
    }
}

/// A step that can be made with the steps of its kind around it: literal path text without a
/// query and a value inside the path (not after a `?` in the path's text, `in_query`), or a
/// pair of the template's query.
fn run_part(
    step: &Step,
    in_query: bool,
    values: &mut Values<'_>,
) -> Option<(RunKind, (TokenStream, TokenStream))> {
    match step {
        Step::PathText(text) if !in_query && !text.contains('?') => {
            Some((RunKind::Path, literal_tokens(text)))
        }
        Step::PathValue(value) if !in_query => {
            Some((RunKind::Path, path_value_tokens(value, values)))
        }
        Step::Query { key, value } => Some((RunKind::Query, query_tokens(key, value, values))),
        _ => None,
    }
}

/// Literal path text, split where the crate compiles: a call appends it without reading it
/// again (and a client made per call composes its fixed start at its one call). As a
/// `PathPart`, and as its own call.
fn literal_tokens(text: &str) -> (TokenStream, TokenStream) {
    let text = quote!(const { &__p::PathText::new(#text) });
    (
        quote!(__p::PathPart::Literal(#text)),
        quote!(request.path_literal(#text);),
    )
}

/// A pair of the template's query, as an element of `query_pairs` and as its own call.
fn query_tokens(key: &str, value: &Text, values: &mut Values<'_>) -> (TokenStream, TokenStream) {
    let value = values.text(value);
    (quote!((#key, #value)), quote!(request.query(#key, #value);))
}

/// A value inside the path, as a `PathPart` and as its own call.
fn path_value_tokens(value: &Value, values: &mut Values<'_>) -> (TokenStream, TokenStream) {
    let label = &value.label;
    let value = values.value(value);
    (
        quote!(__p::PathPart::Value(#label, #value)),
        quote!(request.path_value(#label, #value);),
    )
}

/// The call of the runtime's composer that one step makes; what it needs first goes to
/// `values.lets`.
fn step_tokens(step: &Step, values: &mut Values<'_>) -> TokenStream {
    match step {
        Step::HostText(text) => quote!(request.host_text(#text);),
        Step::HostValue(value) => {
            let label = &value.label;
            let value = values.value(value);
            quote!(request.host_value(#label, #value);)
        }
        // Text with a query in it is composed as text (the runtime's `PathText` splits none).
        Step::PathText(text) if text.contains('?') => quote!(request.path_text(#text);),
        Step::PathText(text) => literal_tokens(text).1,
        Step::PathValue(value) => path_value_tokens(value, values).1,
        Step::PathPrefix(value) => {
            let label = &value.label;
            let value = values.value(value);
            quote!(request.path_prefix_value(#label, #value);)
        }
        Step::Query { key, value } => query_tokens(key, value, values).1,
        Step::Header {
            label,
            name,
            value,
            secret,
        } => {
            let value = values.text(value);
            let call = ident(if *secret { "secret_header" } else { "header" });
            // A constant: the name was checked when the configs were read, so this cannot fail.
            quote!(request.#call(#label, const { __p::HeaderName::from_static(#name) }, #value);)
        }
        Step::TokenHeader {
            label,
            name,
            prefix,
            suffix,
        } => {
            if step.is_bearer() {
                return quote!(request.bearer(););
            }
            let prefix = values.token_text(prefix);
            let suffix = values.token_text(suffix);
            quote!(request.token_header(#label, const { __p::HeaderName::from_static(#name) }, #prefix, #suffix);)
        }
        Step::ClientIdentity {
            certificate,
            key,
            ca,
        } => {
            let certificate = values.value(certificate);
            let key = values.value(key);
            let ca = match ca {
                Some(ca) => values.optional(ca),
                None => quote!(::core::option::Option::None),
            };
            quote!(request.client_identity(#certificate, #key, #ca);)
        }
    }
}
