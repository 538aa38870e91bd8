//! The placeholder language of FDK templates: `<%= expr %>` inside JSON strings.
//!
//! ```text
//! expr    := concat ( '||' literal )?        default when the value is absent
//! concat  := term ( '+' term )*              string concatenation
//! term    := 'encode(' concat ')' | path | literal
//! path    := ident ( '.' ident )*
//! literal := 'single' | "double" | number
//! ```
//!
//! This module only parses; what a path may name (`context.x`, `iparam.x`, …) and where is
//! decided by validation.

mod parse;
mod render;

pub use parse::parse_template;
pub use render::{render_expr, render_template};

use crate::source::{Span, Spanned};

/// A JSON string value split into literal text and placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateString {
    /// The parts in order. Adjacent text is merged into one part.
    pub parts: Vec<Part>,
    /// The whole string value (inside the quotes).
    pub span: Span,
}

/// Literal text or a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text written as is.
    Text(String),
    /// A `<%= … %>` placeholder.
    Placeholder(Placeholder),
}

/// One `<%= expr %>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Placeholder {
    /// The expression inside.
    pub expr: Expr,
    /// From `<%=` to `%>` inclusive.
    pub span: Span,
}

/// `term + term … || default`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// Terms concatenated as strings; never empty.
    pub terms: Vec<Term>,
    /// The literal after `||`, used when the value is absent.
    pub default: Option<Spanned<Literal>>,
}

/// One operand of a concatenation.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// `encode(…)`: Base64 of the UTF-8 text.
    Encode {
        /// The concatenation inside the parentheses; never empty.
        terms: Vec<Term>,
        /// From `encode` to `)`.
        span: Span,
    },
    /// A dotted name such as `context.ticket_id`.
    Path(Path),
    /// A string or number literal.
    Literal(Spanned<Literal>),
}

/// A dotted name: `root.field.field`.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// The identifiers, root first; never empty.
    pub segments: Vec<Spanned<String>>,
    /// The whole path.
    pub span: Span,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// `'text'` or `"text"`, unescaped.
    String(String),
    /// A number as written (`30`, `1.5`).
    Number(String),
}

impl Literal {
    /// The text the literal stands for when concatenated.
    pub fn text(&self) -> &str {
        match self {
            Literal::String(s) | Literal::Number(s) => s,
        }
    }
}

impl TemplateString {
    /// A string made of `parts` (a slice of another one).
    pub fn from_parts(parts: Vec<Part>, span: Span) -> Self {
        TemplateString { parts, span }
    }

    /// An empty string at `span`: stands in for a value that was missing or malformed, so
    /// the rest of a template can still be checked.
    pub fn empty(span: Span) -> Self {
        TemplateString {
            parts: Vec::new(),
            span,
        }
    }

    /// The placeholders, in order.
    pub fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.parts.iter().filter_map(|part| match part {
            Part::Placeholder(p) => Some(p),
            Part::Text(_) => None,
        })
    }

    /// Every path named anywhere in the string, in order.
    pub fn paths(&self) -> Vec<&Path> {
        let mut paths = Vec::new();
        for placeholder in self.placeholders() {
            placeholder.expr.collect_paths(&mut paths);
        }
        paths
    }

    /// Whether the string has no placeholders.
    pub fn is_literal(&self) -> bool {
        self.placeholders().next().is_none()
    }

    /// The text, if the string has no placeholders.
    pub fn as_literal(&self) -> Option<String> {
        let mut text = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => text.push_str(t),
                Part::Placeholder(_) => return None,
            }
        }
        Some(text)
    }
}

impl Expr {
    /// Whether this is exactly `access_token`: the one form the runtime fills in at send time.
    pub fn is_access_token(&self) -> bool {
        self.default.is_none()
            && matches!(self.terms.as_slice(), [Term::Path(p)] if p.segments.len() == 1 && p.segments.iter().all(|s| s.value == "access_token"))
    }

    /// Every path in the expression, in order.
    pub fn collect_paths<'a>(&'a self, out: &mut Vec<&'a Path>) {
        collect_paths(&self.terms, out);
    }
}

fn collect_paths<'a>(terms: &'a [Term], out: &mut Vec<&'a Path>) {
    for term in terms {
        match term {
            Term::Encode { terms, .. } => collect_paths(terms, out),
            Term::Path(path) => out.push(path),
            Term::Literal(_) => {}
        }
    }
}

impl Path {
    /// The segments joined with dots, as written.
    pub fn dotted(&self) -> String {
        let names: Vec<&str> = self.segments.iter().map(|s| s.value.as_str()).collect();
        names.join(".")
    }
}
