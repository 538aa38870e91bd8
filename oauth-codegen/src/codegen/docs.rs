//! Doc comments of generated items: what a method sends, in words a reader checks at a glance.

use crate::plan::{Step, TemplatePlan};

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
pub(crate) fn method_doc(template: &TemplatePlan, file: &str) -> String {
    let mut doc = format!(
        "Sends {}.\n\nTemplate {} of {}.",
        code(&template.shown.request),
        code(&template.name),
        code(file)
    );
    if !template.shown.query.is_empty() {
        let pairs: Vec<String> = template.shown.query.iter().map(|q| code(q)).collect();
        doc.push_str(&format!(" Query: {}.", pairs.join(", ")));
    }
    if let Some(auth) = &template.auth {
        let whose = if auth.agent {
            "the given user's"
        } else {
            "the installation's"
        };
        doc.push_str(&format!(
            " Sends {whose} {} access token.",
            code(&auth.integration)
        ));
    }
    if template.max_attempts > 1 {
        doc.push_str(&format!(" Up to {} attempts.", template.max_attempts));
    }
    for step in &template.steps {
        if let Step::ClientIdentity { certificate, .. } = step {
            doc.push_str(&format!(
                " Presents the client certificate {} (mutual TLS).",
                code(&certificate.label)
            ));
        }
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
