//! Doc comments of generated items: what a method sends, in words a reader checks at a glance.

use crate::model::{AuthRef, Protocol, QueryValue, Template, TokenType};
use crate::placeholder::{Expr, Literal, Part, TemplateString, Term};

/// A placeholder expression as it was written, normalised (`encode(iparam.key + ':X')`): the
/// label a refused value is reported under.
pub fn render_expr(expr: &Expr) -> String {
    let mut text = render_terms(&expr.terms);
    if let Some(default) = &expr.default {
        text.push_str(" || ");
        text.push_str(&render_literal(&default.value));
    }
    text
}

fn render_terms(terms: &[Term]) -> String {
    let rendered: Vec<String> = terms
        .iter()
        .map(|term| match term {
            Term::Path(path) => path.dotted(),
            Term::Literal(literal) => render_literal(&literal.value),
            Term::Encode { terms, .. } => format!("encode({})", render_terms(terms)),
        })
        .collect();
    rendered.join(" + ")
}

fn render_literal(literal: &Literal) -> String {
    match literal {
        Literal::String(s) => format!("'{s}'"),
        Literal::Number(n) => n.clone(),
    }
}

/// A templated string with each placeholder shown as `{expr}`.
pub(crate) fn render_template(value: &TemplateString) -> String {
    value
        .parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => text.clone(),
            Part::Placeholder(p) => format!("{{{}}}", render_expr(&p.expr)),
        })
        .collect()
}

/// The doc comment of a template's method.
pub(crate) fn method_doc(template: &Template, file: &str, token_type: Option<TokenType>) -> String {
    let schema = &template.schema;
    let scheme = match schema.protocol {
        Protocol::Https => "https",
        Protocol::Http => "http",
    };
    let path = schema
        .path
        .as_ref()
        .map_or_else(|| "/".to_string(), render_template);
    let mut doc = format!(
        "Sends `{} {scheme}://{}{path}`.\n\nTemplate `{}` of `{file}`.",
        schema.method.value.as_str(),
        render_template(&schema.host),
        template.name.value
    );
    if !schema.query.is_empty() {
        let pairs: Vec<String> = schema
            .query
            .iter()
            .map(|q| {
                let value = match &q.value {
                    QueryValue::Text(t) => render_template(t),
                    QueryValue::Number(n) => n.value.clone(),
                    QueryValue::Bool(b) => b.value.to_string(),
                };
                format!("`{}={value}`", q.name.value)
            })
            .collect();
        doc.push_str(&format!(" Query: {}.", pairs.join(", ")));
    }
    if let Some(auth) = &template.options.auth {
        let name = match &auth.value {
            AuthRef::Integration(name) => name.as_str(),
            AuthRef::Legacy => "oauth",
        };
        let whose = match token_type {
            Some(TokenType::Agent) => "the given user's",
            _ => "the installation's",
        };
        doc.push_str(&format!(" Sends {whose} `{name}` access token."));
    }
    if let Some(attempts) = template
        .options
        .max_attempts
        .as_ref()
        .filter(|a| a.value > 1)
    {
        doc.push_str(&format!(" Up to {} attempts.", attempts.value));
    }
    doc
}
