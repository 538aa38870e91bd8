//! Placeholder expressions compiled to Rust expressions of type `&str`. They run inside a
//! generated method, where `__p` names the runtime's `__private` module.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use super::fields::{ContextField, IparamField, IparamKind};
use crate::placeholder::{Expr, Literal, Path, Term};

/// Compiles the values of one template method; statements it needs first go to `lets`.
pub(crate) struct Values<'a> {
    pub(crate) context: &'a [ContextField],
    pub(crate) iparams: &'a [IparamField],
    /// Statements to emit before the value is used (lookups of optional iparams).
    pub(crate) lets: Vec<TokenStream>,
    /// Whether any value reads the installation's iparams.
    pub(crate) uses_iparams: bool,
    counter: usize,
}

impl<'a> Values<'a> {
    pub(crate) fn new(context: &'a [ContextField], iparams: &'a [IparamField]) -> Self {
        Values {
            context,
            iparams,
            lets: Vec::new(),
            uses_iparams: false,
            counter: 0,
        }
    }

    /// An expression evaluating to the placeholder's text (`&str`).
    pub(crate) fn expr(&mut self, expr: &Expr) -> TokenStream {
        let default = expr.default.as_ref().map(|d| d.value.text().to_string());
        if let (Some(default), [Term::Path(path)]) = (&default, expr.terms.as_slice())
            && let Some(optional) = self.optional_path(path, Some(default))
        {
            return optional;
        }
        let value = self.concat(&expr.terms);
        match default {
            Some(default) => {
                quote!(__p::or(::core::option::Option::Some(#value), #default))
            }
            None => value,
        }
    }

    /// Whether `expr` has the same value at each call of a client: it reads no context.
    pub(crate) fn is_fixed(&self, expr: &Expr) -> bool {
        self.terms_are_fixed(&expr.terms)
    }

    fn terms_are_fixed(&self, terms: &[Term]) -> bool {
        terms.iter().all(|term| match term {
            Term::Literal(_) => true,
            Term::Encode { terms, .. } => self.terms_are_fixed(terms),
            Term::Path(path) => self.iparam_field(path).is_some(),
        })
    }

    fn concat(&mut self, terms: &[Term]) -> TokenStream {
        let parts: Vec<TokenStream> = terms.iter().map(|t| self.term(t)).collect();
        match parts.as_slice() {
            [single] => single.clone(),
            _ => quote!(__p::concat(&[#(#parts),*]).as_str()),
        }
    }

    fn term(&mut self, term: &Term) -> TokenStream {
        match term {
            Term::Literal(literal) => {
                let text = match &literal.value {
                    Literal::String(s) | Literal::Number(s) => s.as_str(),
                };
                quote!(#text)
            }
            Term::Encode { terms, .. } => {
                let inner = self.concat(terms);
                quote!(__p::base64(#inner).as_str())
            }
            Term::Path(path) => match self.optional_path(path, None) {
                Some(optional) => optional,
                None => self.required_path(path),
            },
        }
    }

    /// A context field or iparam that is an `Option`: with `default`, or else required at run time.
    fn optional_path(&mut self, path: &Path, default: Option<&String>) -> Option<TokenStream> {
        let label = path.dotted();
        let value = if let Some(field) = self.context_field(path).filter(|f| f.optional) {
            let ident = ident(&field.ident);
            quote!(context.#ident.as_deref())
        } else if let Some(field) = self.iparam_field(path).filter(|f| !f.required) {
            self.uses_iparams = true;
            let ident = ident(&field.ident);
            match field.kind {
                IparamKind::Text => quote!(__iparams.#ident.as_deref()),
                IparamKind::Secret => quote!(__iparams.#ident.as_ref().map(__p::expose)),
                IparamKind::Number | IparamKind::Checkbox => {
                    return Some(self.bind_then(
                        quote!(__iparams.#ident.as_ref().map(__p::display)),
                        &label,
                        default,
                    ));
                }
                IparamKind::Multiselect => {
                    return Some(self.bind_then(
                        quote!(__iparams.#ident.as_deref().map(__p::join)),
                        &label,
                        default,
                    ));
                }
            }
        } else {
            return None;
        };
        Some(match default {
            Some(default) => quote!(__p::or(#value, #default)),
            None => {
                let name = self.fresh("__value");
                self.lets
                    .push(quote!(let #name = __request.require(#label, #value);));
                quote!(#name)
            }
        })
    }

    /// Binds an owned optional text (`Option<String>`) first, then uses it like `optional_path`.
    fn bind_then(
        &mut self,
        owned: TokenStream,
        label: &str,
        default: Option<&String>,
    ) -> TokenStream {
        let text = self.fresh("__text");
        self.lets.push(quote!(let #text = #owned;));
        match default {
            Some(default) => quote!(__p::or(#text.as_deref(), #default)),
            None => {
                let name = self.fresh("__value");
                self.lets
                    .push(quote!(let #name = __request.require(#label, #text.as_deref());));
                quote!(#name)
            }
        }
    }

    fn required_path(&mut self, path: &Path) -> TokenStream {
        if let Some(field) = self.context_field(path) {
            let ident = ident(&field.ident);
            return if field.optional {
                quote!(context.#ident.as_deref().unwrap_or(""))
            } else {
                quote!(context.#ident.as_str())
            };
        }
        if let Some(field) = self.iparam_field(path) {
            self.uses_iparams = true;
            let ident = ident(&field.ident);
            return match field.kind {
                IparamKind::Text => quote!(__iparams.#ident.as_str()),
                IparamKind::Secret => quote!(__p::expose(&__iparams.#ident)),
                IparamKind::Number | IparamKind::Checkbox => {
                    quote!(__p::display(&__iparams.#ident).as_str())
                }
                IparamKind::Multiselect => quote!(__p::join(&__iparams.#ident).as_str()),
            };
        }
        // Only reachable for configs with errors, which never compile: keep the output valid.
        quote!("")
    }

    fn context_field(&self, path: &Path) -> Option<&'a ContextField> {
        match path.segments.as_slice() {
            [root, name] if root.value == "context" => {
                self.context.iter().find(|f| f.name == name.value)
            }
            _ => None,
        }
    }

    fn iparam_field(&self, path: &Path) -> Option<&'a IparamField> {
        let label = path.dotted();
        self.iparams.iter().find(|f| f.label == label)
    }

    fn fresh(&mut self, prefix: &str) -> Ident {
        self.counter += 1;
        ident(&format!("{prefix}{}", self.counter))
    }
}

/// An identifier from a name made by [`crate::ident`] (always valid).
pub(crate) fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}
