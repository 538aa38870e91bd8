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

/// `text` as a Markdown code span that nothing in it can close early: the fence is longer
/// than any run of backticks inside, and line breaks and other control characters are shown
/// escaped. Code spans also keep HTML as text, so config text never becomes markup in rustdoc.
pub(crate) fn code(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    let mut longest = 0;
    let mut run = 0;
    for c in shown.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // A space keeps a backtick at either end from joining the fence (CommonMark strips one).
    let pad = if shown.starts_with('`') || shown.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{shown}{pad}{fence}")
}

/// `text` as Markdown prose: characters Markdown or HTML give a meaning are escaped.
pub(crate) fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.push(' ');
        } else if "\\`*_[]<>&#|!~{}()".contains(c) {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out
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
        "Sends {}.\n\nTemplate {} of {}.",
        code(&format!(
            "{} {scheme}://{}{path}",
            schema.method.value.as_str(),
            render_template(&schema.host)
        )),
        code(&template.name.value),
        code(file)
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
                code(&format!("{}={value}", q.name.value))
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
        doc.push_str(&format!(" Sends {whose} {} access token.", code(name)));
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

#[cfg(test)]
mod tests {
    use super::{code, prose};

    #[test]
    fn config_text_cannot_close_a_code_span_nor_become_markup() {
        assert_eq!(code("/tickets"), "`/tickets`");
        assert_eq!(code("/a`b"), "``/a`b``");
        assert_eq!(code("``x"), "``` ``x ```");
        assert_eq!(code("a\n# heading\r"), "`a\\n# heading\\r`");
        // Inside a code span, HTML is text.
        assert_eq!(
            code("/<img src=x onerror=alert(1)>"),
            "`/<img src=x onerror=alert(1)>`"
        );
        assert_eq!(
            prose("Acme <img src=x onerror=alert(1)> *bold* `x`"),
            "Acme \\<img src=x onerror=alert\\(1\\)\\> \\*bold\\* \\`x\\`"
        );
    }
}
