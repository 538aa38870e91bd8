//! A plan's values as Rust expressions of type `&str`, following [`Value`]'s rules. They run
//! inside a generated method, where `__p` names the runtime's `__private` module.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::plan::{ContextField, IparamField, IparamKind, Piece, Term, Text, Value};

/// Compiles the values of one template method; statements they need first go to `lets`.
pub(crate) struct Values<'a> {
    context: &'a [ContextField],
    iparams: &'a [IparamField],
    /// Statements to emit before the value is used (lookups of optional iparams).
    pub(crate) lets: Vec<TokenStream>,
    counter: usize,
}

impl<'a> Values<'a> {
    pub(crate) fn new(context: &'a [ContextField], iparams: &'a [IparamField]) -> Self {
        Values {
            context,
            iparams,
            lets: Vec::new(),
            counter: 0,
        }
    }

    /// An expression evaluating to the value's text (`&str`).
    pub(crate) fn value(&mut self, value: &Value) -> TokenStream {
        if let Some((term, default)) = value.defaulted_term() {
            let read = self.read(term);
            return quote!(__p::or(#read, #default));
        }
        let text = self.concat(&value.terms);
        match &value.default {
            Some(default) => quote!(__p::or(::core::option::Option::Some(#text), #default)),
            None => text,
        }
    }

    /// An expression evaluating to the value's text as `Option<&str>`: `None` when it is one
    /// optional installation value that is absent, or empty.
    pub(crate) fn optional(&mut self, value: &Value) -> TokenStream {
        let read = match (value.terms.as_slice(), &value.default) {
            ([term @ (Term::Context(_) | Term::Iparam(_))], None) => self.read(term),
            _ => {
                let text = self.value(value);
                quote!(::core::option::Option::Some(#text))
            }
        };
        quote!(__p::present(#read))
    }

    /// A whole text as one `&str` (query and header values).
    pub(crate) fn text(&mut self, text: &Text) -> TokenStream {
        let parts: Vec<TokenStream> = text.0.iter().map(|piece| self.piece(piece)).collect();
        match parts.as_slice() {
            [] => quote!(""),
            [single] => single.clone(),
            _ => quote!(&__p::concat(&[#(#parts),*])),
        }
    }

    /// The text around the access token in a header: a `&'static str` when it is literal (the
    /// usual `Bearer `), else an owned `String`, as `Compose::token_header` keeps it.
    pub(crate) fn token_text(&mut self, text: &Text) -> TokenStream {
        if let Some(literal) = text.as_literal() {
            return quote!(#literal);
        }
        let parts: Vec<TokenStream> = text.0.iter().map(|piece| self.piece(piece)).collect();
        match parts.as_slice() {
            [single] => quote!(::std::string::String::from(#single)),
            _ => quote!(__p::concat(&[#(#parts),*])),
        }
    }

    fn piece(&mut self, piece: &Piece) -> TokenStream {
        match piece {
            Piece::Text(text) => quote!(#text),
            Piece::Value(value) => self.value(value),
        }
    }

    fn concat(&mut self, terms: &[Term]) -> TokenStream {
        let parts: Vec<TokenStream> = terms.iter().map(|t| self.term(t)).collect();
        match parts.as_slice() {
            [single] => single.clone(),
            _ => quote!(&__p::concat(&[#(#parts),*])),
        }
    }

    /// A term as `&str`: an absent context value is empty, an absent installation value fails
    /// the request (`MissingIparam`).
    fn term(&mut self, term: &Term) -> TokenStream {
        match term {
            Term::Literal(text) => quote!(#text),
            Term::Encode(inner) => {
                let inner = self.concat(inner);
                quote!(&__p::base64(#inner))
            }
            Term::Context(index) => match self.context.get(*index) {
                Some(field) if field.optional => {
                    let name = ident(&field.ident);
                    quote!(context.#name.as_deref().unwrap_or(""))
                }
                Some(field) => {
                    let name = ident(&field.ident);
                    quote!(&context.#name)
                }
                None => quote!(""),
            },
            Term::Iparam(index) => match self.iparams.get(*index) {
                Some(field) if field.required => {
                    let name = ident(&field.ident);
                    match field.kind {
                        IparamKind::Text => quote!(&self.__iparams.#name),
                        IparamKind::Secret => quote!(__p::expose(&self.__iparams.#name)),
                        IparamKind::Number | IparamKind::Checkbox => {
                            quote!(&__p::display(&self.__iparams.#name))
                        }
                        IparamKind::Multiselect => quote!(&__p::join(&self.__iparams.#name)),
                    }
                }
                Some(field) => {
                    let label = field.label.as_str();
                    let read = self.read(term);
                    let value = self.fresh("__value");
                    self.lets
                        .push(quote!(let #value = request.require(#label, #read);));
                    quote!(#value)
                }
                None => quote!(""),
            },
            // Only in configs with errors, which never compile: keep the output valid.
            Term::OauthIparam(_) | Term::Unresolved => quote!(""),
        }
    }

    /// An `Option<&str>` reading a context or installation term (`None` when absent).
    fn read(&mut self, term: &Term) -> TokenStream {
        let some = |value: TokenStream| quote!(::core::option::Option::Some(#value));
        match term {
            Term::Context(index) => match self.context.get(*index) {
                Some(field) if field.optional => {
                    let name = ident(&field.ident);
                    quote!(context.#name.as_deref())
                }
                _ => some(self.term(term)),
            },
            Term::Iparam(index) => match self.iparams.get(*index) {
                Some(field) if !field.required => {
                    let name = ident(&field.ident);
                    match field.kind {
                        IparamKind::Text => quote!(self.__iparams.#name.as_deref()),
                        IparamKind::Secret => {
                            quote!(self.__iparams.#name.as_ref().map(__p::expose))
                        }
                        IparamKind::Number | IparamKind::Checkbox => {
                            self.bind(quote!(self.__iparams.#name.as_ref().map(__p::display)))
                        }
                        IparamKind::Multiselect => {
                            self.bind(quote!(self.__iparams.#name.as_deref().map(__p::join)))
                        }
                    }
                }
                _ => some(self.term(term)),
            },
            _ => some(self.term(term)),
        }
    }

    /// Binds an owned optional text (`Option<String>`) first; reads it as `Option<&str>`.
    fn bind(&mut self, owned: TokenStream) -> TokenStream {
        let text = self.fresh("__text");
        self.lets.push(quote!(let #text = #owned;));
        quote!(#text.as_deref())
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
