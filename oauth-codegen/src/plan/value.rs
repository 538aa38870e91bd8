//! Placeholder values in a plan, with the one statement of what they evaluate to.

use std::borrow::Cow;

/// Text with values: its pieces concatenated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Text(pub Vec<Piece>);

/// Literal text, or a `<%= … %>` value.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Text as written.
    Text(String),
    /// A placeholder's value.
    Value(Value),
}

/// One placeholder: terms concatenated, with an optional `|| 'default'`.
///
/// What it evaluates to (the generated code and [`Value::evaluate`] both follow this):
/// - a value that is one term read from the context or the installation, with a default: the
///   default when that term is absent or empty;
/// - otherwise the terms concatenated, where an absent context value is empty and an absent
///   installation value is an error ([`Missing`]); then the default if the text is empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The placeholder as written, without `<%= %>` (`context.id || 'x'`): its label in errors.
    pub label: String,
    /// The terms; never empty.
    pub terms: Vec<Term>,
    /// The literal after `||`.
    pub default: Option<String>,
}

/// One operand of a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// A literal.
    Literal(String),
    /// `encode(…)`: Base64 of the UTF-8 text.
    Encode(Vec<Term>),
    /// The context field at this index of the template's `context`.
    Context(usize),
    /// The installation value at this index of the app's `iparams`.
    Iparam(usize),
    /// `oauth_iparams.NAME` (in `oauth_config.json`).
    OauthIparam(String),
    /// A path the config's errors left without meaning; such a config never compiles.
    Unresolved,
}

/// An installation value a placeholder needs has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// The installation value at this index of the app's `iparams`.
    Iparam(usize),
    /// `oauth_iparams.NAME`.
    OauthIparam(String),
}

/// What an interpreter gives [`Value::evaluate`]: the values read, and the encoding of
/// `encode(…)` (the runtime's, so interpreted and generated requests encode alike).
pub trait Lookup<'a> {
    /// The text of a context or installation term; `None` when it is absent.
    fn get(&self, term: &Term) -> Option<&'a str>;
    /// `encode(text)`.
    fn encode(&self, text: &str) -> String;
}

impl Text {
    /// Text without values.
    pub fn literal(text: &str) -> Text {
        Text(vec![Piece::Text(text.to_string())])
    }

    /// The values in it.
    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.0.iter().filter_map(|piece| match piece {
            Piece::Value(value) => Some(value),
            Piece::Text(_) => None,
        })
    }

    /// Whether it is the same at each call of a client: its values read no context.
    pub fn is_fixed(&self) -> bool {
        self.values().all(Value::is_fixed)
    }

    /// The text when it holds no value.
    pub fn as_literal(&self) -> Option<String> {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Value(_) => return None,
            }
        }
        Some(out)
    }

    /// The text, each value evaluated with `lookup` (see [`Value`]).
    pub fn evaluate<'a>(&'a self, lookup: &impl Lookup<'a>) -> Result<String, Missing> {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Value(value) => out.push_str(&value.evaluate(lookup)?),
            }
        }
        Ok(out)
    }
}

impl Value {
    /// The term that stands for the whole value when it is absent or empty, if the default
    /// does: a single read of the context or the installation, with a default.
    pub fn defaulted_term(&self) -> Option<(&Term, &str)> {
        match (self.terms.as_slice(), &self.default) {
            ([term @ (Term::Context(_) | Term::Iparam(_))], Some(default)) => Some((term, default)),
            _ => None,
        }
    }

    /// Whether it has the same value at each call of a client: it reads no context.
    pub fn is_fixed(&self) -> bool {
        fn fixed(terms: &[Term]) -> bool {
            terms.iter().all(|term| match term {
                Term::Context(_) => false,
                Term::Encode(inner) => fixed(inner),
                Term::Literal(_) | Term::Iparam(_) | Term::OauthIparam(_) | Term::Unresolved => {
                    true
                }
            })
        }
        fixed(&self.terms)
    }

    /// The installation values it reads (indexes into the app's `iparams`), in order.
    pub fn iparams_read(&self) -> Vec<usize> {
        fn read(terms: &[Term], out: &mut Vec<usize>) {
            for term in terms {
                match term {
                    Term::Iparam(index) => out.push(*index),
                    Term::Encode(inner) => read(inner, out),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        read(&self.terms, &mut out);
        out
    }

    /// Its text, reading context and installation values with `lookup` (`None`: absent).
    /// An absent installation value is [`Missing`].
    pub fn evaluate<'a>(&'a self, lookup: &impl Lookup<'a>) -> Result<Cow<'a, str>, Missing> {
        if let Some((term, default)) = self.defaulted_term() {
            return Ok(Cow::Borrowed(match lookup.get(term) {
                Some(text) if !text.is_empty() => text,
                _ => default,
            }));
        }
        let text = concat(&self.terms, lookup)?;
        Ok(match &self.default {
            Some(default) if text.is_empty() => Cow::Borrowed(default.as_str()),
            _ => text,
        })
    }
}

fn concat<'a>(terms: &'a [Term], lookup: &impl Lookup<'a>) -> Result<Cow<'a, str>, Missing> {
    if let [term] = terms {
        return term_text(term, lookup);
    }
    let mut out = String::new();
    for term in terms {
        out.push_str(&term_text(term, lookup)?);
    }
    Ok(Cow::Owned(out))
}

fn term_text<'a>(term: &'a Term, lookup: &impl Lookup<'a>) -> Result<Cow<'a, str>, Missing> {
    Ok(Cow::Borrowed(match term {
        Term::Literal(text) => text,
        Term::Encode(inner) => return Ok(Cow::Owned(lookup.encode(&concat(inner, lookup)?))),
        Term::Context(_) | Term::Unresolved => lookup.get(term).unwrap_or(""),
        Term::Iparam(index) => lookup.get(term).ok_or(Missing::Iparam(*index))?,
        Term::OauthIparam(name) => lookup
            .get(term)
            .ok_or_else(|| Missing::OauthIparam(name.clone()))?,
    }))
}
