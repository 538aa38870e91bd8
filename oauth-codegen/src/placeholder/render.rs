//! Placeholders printed back as they were written (normalised): the labels values are
//! reported under, and how docs show a template.

use super::{Expr, Literal, Part, TemplateString, Term};

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
pub fn render_template(value: &TemplateString) -> String {
    value
        .parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => text.clone(),
            Part::Placeholder(p) => format!("{{{}}}", render_expr(&p.expr)),
        })
        .collect()
}
