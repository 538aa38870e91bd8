//! Property tests: arbitrary input never panics the placeholder parser or the loader, and every
//! diagnostic points inside the file it names, on character boundaries.

use oauth_codegen::json::JsonString;
use oauth_codegen::placeholder::parse_template;
use oauth_codegen::{AppInput, CheckedApp, Diagnostics, InputFile, SourceMap, check};
use proptest::prelude::*;

/// Strings rich in the template language's own characters, so the parser's paths are exercised.
fn template_like() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("<%=".to_string()),
        Just("%>".to_string()),
        Just("<%".to_string()),
        Just("{{".to_string()),
        Just("}}".to_string()),
        Just("${".to_string()),
        Just("context.".to_string()),
        Just("iparam.".to_string()),
        Just("access_token".to_string()),
        Just("encode(".to_string()),
        Just(")".to_string()),
        Just("||".to_string()),
        Just("+".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just(" ".to_string()),
        Just("é".to_string()),
        "[a-z_]{1,6}",
        "[0-9.-]{1,3}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(pieces, 0..24).prop_map(|parts| parts.concat())
}

fn assert_located(app: &CheckedApp) {
    for d in app.diagnostics.iter() {
        let span = d
            .span
            .as_ref()
            .expect("every diagnostic of a loaded file has a place");
        let text = app.sources.file(span.file).text();
        assert!(span.range.start <= span.range.end, "{d:?}");
        assert!(
            span.range.end <= text.len(),
            "{d:?} is past the end of the file"
        );
        assert!(
            text.is_char_boundary(span.range.start) && text.is_char_boundary(span.range.end),
            "{d:?}"
        );
        let rendered = oauth_codegen::render(d, &app.sources, false);
        assert!(rendered.contains(" --> "), "{rendered}");
    }
}

/// A requests.json with `value` in every templated position, JSON-escaped.
fn requests_with(value: &str) -> String {
    let v = serde_like_escape(value);
    format!(
        r#"{{ "t": {{ "schema": {{ "method": "GET", "host": "{v}", "path": "/{v}",
  "headers": {{ "Authorization": "Bearer {v}" }}, "query": {{ "q": "{v}" }} }}, "options": {{ "oauth": "{v}" }} }} }}"#
    )
}

fn serde_like_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn placeholder_parser_never_panics_and_locates_errors(text in template_like()) {
        let mut sources = SourceMap::new();
        let file = sources.add("t", "", text.clone());
        let mut diagnostics = Diagnostics::new();
        let template = parse_template(&JsonString::detached(file, text.clone()), &mut diagnostics);
        for d in diagnostics.iter() {
            let span = d.span.as_ref().unwrap();
            prop_assert!(span.range.start <= span.range.end && span.range.end <= text.len());
            prop_assert!(text.is_char_boundary(span.range.start) && text.is_char_boundary(span.range.end));
        }
        for placeholder in template.placeholders() {
            let source = sources.snippet(&placeholder.span);
            prop_assert!(source.starts_with("<%=") && source.ends_with("%>"), "{source:?}");
        }
    }

    #[test]
    fn templated_values_in_a_whole_app_never_panic(value in template_like()) {
        let app = check(AppInput {
            requests: Some(InputFile::in_memory("config/requests.json", requests_with(&value))),
            ..AppInput::default()
        });
        assert_located(&app);
    }

    #[test]
    fn arbitrary_bytes_as_any_config_file_never_panic(text in ".{0,200}", which in 0..4usize) {
        let file = Some(InputFile::in_memory("f.json", text));
        let mut input = AppInput::default();
        match which {
            0 => input.requests = file,
            1 => input.oauth = file,
            2 => input.iparams = file,
            _ => input.manifest = file,
        }
        assert_located(&check(input));
    }

    #[test]
    fn mutated_real_configs_never_panic(cut in 0usize..2000, insert in prop::sample::select(vec!["", "{", "}", "\"", ",", "[", "<%=", "\\u00"])) {
        let base = requests_with("<%= context.id %>");
        let cut = cut.min(base.len());
        let cut = (0..=cut).rev().find(|&i| base.is_char_boundary(i)).unwrap_or(0);
        let text = format!("{}{insert}{}", &base[..cut], &base[cut..]);
        let app = check(AppInput {
            requests: Some(InputFile::in_memory("config/requests.json", text)),
            ..AppInput::default()
        });
        assert_located(&app);
    }
}
