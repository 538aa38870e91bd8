//! The placeholder parser, table-driven: every form of SPEC.md's expression language and every
//! malformed one, with the exact text each error points at.

use oauth_codegen::json::JsonString;
use oauth_codegen::placeholder::{Literal, Part, Term, parse_template};
use oauth_codegen::{Diagnostics, SourceMap};

/// Parses `text` as a JSON string value; returns a readable outline of the parts, or the
/// errors as `message @ pointed-at text`.
fn outline(text: &str) -> Result<Vec<String>, Vec<String>> {
    let mut sources = SourceMap::new();
    let file = sources.add("t", "", text.to_string());
    let mut diagnostics = Diagnostics::new();
    let template = parse_template(&JsonString::detached(file, text), &mut diagnostics);
    if !diagnostics.is_empty() {
        return Err(diagnostics
            .iter()
            .map(|d| {
                format!(
                    "{} @ {}",
                    d.message,
                    sources.snippet(d.span.as_ref().unwrap())
                )
            })
            .collect());
    }
    Ok(template
        .parts
        .iter()
        .map(|part| match part {
            Part::Text(t) => format!("text {t:?}"),
            Part::Placeholder(p) => {
                let mut s = format!("[{}]", terms(&p.expr.terms));
                if let Some(default) = &p.expr.default {
                    s += &format!(" || {}", literal(&default.value));
                }
                assert!(sources.snippet(&p.span).starts_with("<%="));
                assert!(sources.snippet(&p.span).ends_with("%>"));
                s
            }
        })
        .collect())
}

fn literal(l: &Literal) -> String {
    match l {
        Literal::String(s) => format!("{s:?}"),
        Literal::Number(n) => format!("#{n}"),
    }
}

fn terms(terms: &[Term]) -> String {
    let items: Vec<String> = terms
        .iter()
        .map(|t| match t {
            Term::Path(p) => p.dotted(),
            Term::Literal(l) => literal(&l.value),
            Term::Encode { terms: inner, .. } => format!("encode({})", self::terms(inner)),
        })
        .collect();
    items.join(" + ")
}

#[test]
fn every_valid_form_parses() {
    let cases: &[(&str, &[&str])] = &[
        ("plain text", &["text \"plain text\""]),
        ("", &[]),
        ("<%= context.ticket_id %>", &["[context.ticket_id]"]),
        ("<%=context.ticket_id%>", &["[context.ticket_id]"]),
        ("<%=   access_token   %>", &["[access_token]"]),
        (
            "Bearer <%= access_token %>",
            &["text \"Bearer \"", "[access_token]"],
        ),
        (
            "/api/<%= context.a %>/x/<%= iparam.b %>",
            &[
                "text \"/api/\"",
                "[context.a]",
                "text \"/x/\"",
                "[iparam.b]",
            ],
        ),
        (
            "<%= current_host.endpoint_urls.freshdesk %>",
            &["[current_host.endpoint_urls.freshdesk]"],
        ),
        (
            "Basic <%= encode(iparam.api_key + ':X') %>",
            &["text \"Basic \"", "[encode(iparam.api_key + \":X\")]"],
        ),
        (
            "<%= encode(app_settings.visa.username + ':' + app_settings.visa.password) %>",
            &["[encode(app_settings.visa.username + \":\" + app_settings.visa.password)]"],
        ),
        (
            "<%= encode(encode(context.a)) %>",
            &["[encode(encode(context.a))]"],
        ),
        ("<%= context.page || '1' %>", &["[context.page] || \"1\""]),
        ("<%= context.page || \"1\" %>", &["[context.page] || \"1\""]),
        (
            "<%= context.per_page || 30 %>",
            &["[context.per_page] || #30"],
        ),
        ("<%= context.x || -1.5 %>", &["[context.x] || #-1.5"]),
        ("<%= 'a' + \"b\" + 3 %>", &["[\"a\" + \"b\" + #3]"]),
        ("<%= 'it\\'s' %>", &["[\"it's\"]"]),
        (
            "<%= context.a + context.b || 'none' %>",
            &["[context.a + context.b] || \"none\""],
        ),
        (
            "100% sure %> not a tag",
            &["text \"100% sure %> not a tag\""],
        ),
        ("é<%= context.id %>", &["text \"é\"", "[context.id]"]),
    ];
    for (input, expected) in cases {
        let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(outline(input), Ok(expected), "input: {input}");
    }
}

#[test]
fn every_malformed_form_is_located() {
    let cases: &[(&str, &str)] = &[
        (
            "/x/<%= context.id",
            "unterminated placeholder @ <%= context.id",
        ),
        ("<%= %>", "empty placeholder @ <%= %>"),
        ("<%=%>", "empty placeholder @ <%=%>"),
        (
            "<%- context.id %>",
            "`<%- … %>` placeholders are not supported @ <%- context.id %>",
        ),
        (
            "<% if (a) { %>",
            "code blocks `<% … %>` are not supported in templates @ <% if (a) { %>",
        ),
        (
            "/find?email={{context.email}}",
            "`{{…}}` is not a placeholder in FDK templates @ {{context.email}}",
        ),
        (
            "?name=${fileName}&v=1",
            "`${…}` is not a placeholder in FDK templates @ ${fileName}",
        ),
        ("<%= encode(context.a %>", "expected `)` before `%>` @ %>"),
        (
            "<%= encode(context.a context.b) %>",
            "expected `)` or `+`, found `context` @ context",
        ),
        ("<%= context. %>", "expected a field name after `.` @ %>"),
        (
            "<%= context.'x' %>",
            "expected a field name after `.`, found a string @ 'x'",
        ),
        (
            "<%= context.a || context.b %>",
            "the default after `||` must be a literal, found `context` @ context",
        ),
        (
            "<%= context.a || %>",
            "expected a default value after `||` @ %>",
        ),
        (
            "<%= context.a || 'x' || 'y' %>",
            "unexpected `||` in placeholder @ ||",
        ),
        (
            "<%= context.a | 'x' %>",
            "`|` is not an operator here: a default is written `|| 'value'` @ |",
        ),
        ("<%= foo(context.a) %>", "unknown function `foo` @ foo"),
        ("<%= 'abc %>", "unterminated string literal @ 'abc "),
        (
            "<%= context.a context.b %>",
            "unexpected `context` in placeholder @ context",
        ),
        ("<%= + %>", "expected a value, found `+` @ +"),
        ("<%= context.a + %>", "expected a value before `%>` @ %>"),
        (
            "<%= context.a; %>",
            "unexpected character `;` in placeholder @ ;",
        ),
        ("<%= context.a ) %>", "unexpected `)` in placeholder @ )"),
        (
            "<%= context.ü_id %>",
            "unexpected character `ü` in placeholder @ ü",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            outline(input),
            Err(vec![expected.to_string()]),
            "input: {input}"
        );
    }
}

#[test]
fn one_bad_placeholder_does_not_hide_the_next() {
    let errors = outline("<%= %>/<%= context.ok %>/{{x}}/<%= 'a %>").unwrap_err();
    assert_eq!(
        errors,
        [
            "empty placeholder @ <%= %>",
            "`{{…}}` is not a placeholder in FDK templates @ {{x}}",
            "unterminated string literal @ 'a ",
        ]
    );
}

#[test]
fn spans_inside_escaped_json_strings_point_into_the_file() {
    use oauth_codegen::{AppInput, InputFile, check};
    // `\"` and `\u00e9` before the placeholder shift the bytes: the location must still be exact.
    let requests = "{\"t\": {\"schema\": {\"method\": \"GET\", \"host\": \"a.com\",\n  \"path\": \"/\\\"\\u00e9/<%= ticket_id %>\"}}}";
    let app = check(AppInput {
        requests: Some(InputFile::in_memory("config/requests.json", requests)),
        ..AppInput::default()
    });
    let d = &app.diagnostics[0];
    assert_eq!(d.message, "unknown placeholder `ticket_id`");
    assert_eq!(app.sources.snippet(d.span.as_ref().unwrap()), "ticket_id");
    assert_eq!(
        d.location(&app.sources).as_deref(),
        Some("config/requests.json:2:26")
    );
}
