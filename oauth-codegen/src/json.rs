//! Strict JSON with a span on every key and value, and string values that remember where each
//! of their characters was written (escapes included), so placeholders inside them can be located.

use jsonc_parser::ast::{ObjectPropName, Value};
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::{FileId, Span, Spanned};

/// A JSON value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Json {
    /// The value.
    pub kind: JsonKind,
    /// The whole value, quotes and brackets included.
    pub span: Span,
}

/// The kinds of JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonKind {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string.
    String(JsonString),
    /// An array.
    Array(Vec<Json>),
    /// An object, members in file order.
    Object(Vec<Member>),
}

/// One `"key": value` of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The key (its span covers the quotes).
    pub key: Spanned<String>,
    /// The value.
    pub value: Json,
}

/// A decoded JSON string that can map offsets in its decoded text back into the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonString {
    value: String,
    offsets: OffsetMap,
}

/// Maps byte offsets in a decoded string to byte offsets in the file it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetMap {
    file: FileId,
    /// File offset of the decoded text's first byte.
    base: usize,
    /// For strings with escapes: the file offset of every decoded byte, plus one past the end.
    escaped: Option<Vec<usize>>,
}

impl OffsetMap {
    /// The identity map for text that stands alone in `file`, starting at `base`.
    pub fn verbatim(file: FileId, base: usize) -> Self {
        OffsetMap {
            file,
            base,
            escaped: None,
        }
    }

    /// The file span of a byte range of the decoded text.
    pub fn span(&self, range: std::ops::Range<usize>) -> Span {
        let map = |offset: usize| match &self.escaped {
            None => self.base + offset,
            Some(table) => table
                .get(offset)
                .or(table.last())
                .copied()
                .unwrap_or(self.base),
        };
        Span::new(self.file, map(range.start)..map(range.end))
    }
}

impl JsonString {
    /// The decoded text.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Where a byte range of the decoded text was written in the file.
    pub fn offsets(&self) -> &OffsetMap {
        &self.offsets
    }

    /// A string that was not read from JSON (tests, generated input): offsets are its own.
    pub fn detached(file: FileId, value: impl Into<String>) -> Self {
        JsonString {
            value: value.into(),
            offsets: OffsetMap::verbatim(file, 0),
        }
    }
}

impl Json {
    /// The value's kind in words, for messages ("a string", "an array", …).
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            JsonKind::Null => "null",
            JsonKind::Bool(_) => "a boolean",
            JsonKind::Number(_) => "a number",
            JsonKind::String(_) => "a string",
            JsonKind::Array(_) => "an array",
            JsonKind::Object(_) => "an object",
        }
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&[Member]> {
        match &self.kind {
            JsonKind::Object(members) => Some(members),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_string(&self) -> Option<&JsonString> {
        match &self.kind {
            JsonKind::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Parses strict JSON (no comments, no trailing commas, double quotes only, as `JSON.parse`).
/// Duplicate keys are reported: `JSON.parse` would silently keep only the last one.
pub fn parse(file: FileId, text: &str, diagnostics: &mut Diagnostics) -> Option<Json> {
    let options = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let parsed = match parse_to_ast(text, &CollectOptions::default(), &options) {
        Ok(parsed) => parsed,
        Err(error) => {
            let range = error.range();
            let end = range.end.max(range.start).min(text.len());
            let start = range.start.min(end);
            let message = error.kind().to_string();
            diagnostics.push(
                Diagnostic::error(
                    Span::new(file, start..end),
                    format!("invalid JSON: {}", lowercase_first(&message)),
                )
                .with_label("the JSON parser stopped here"),
            );
            return None;
        }
    };
    match parsed.value {
        Some(value) => Some(convert(file, text, &value, diagnostics)),
        None => {
            diagnostics.push(
                Diagnostic::error(Span::new(file, 0..0), "invalid JSON: the file is empty")
                    .with_help("a configuration file holds one JSON object, at least `{}`"),
            );
            None
        }
    }
}

fn lowercase_first(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn convert(file: FileId, text: &str, value: &Value<'_>, diagnostics: &mut Diagnostics) -> Json {
    let span = |range: jsonc_parser::common::Range| Span::new(file, range.start..range.end);
    let kind = match value {
        Value::NullKeyword(_) => JsonKind::Null,
        Value::BooleanLit(b) => JsonKind::Bool(b.value),
        Value::NumberLit(n) => JsonKind::Number(n.value.to_string()),
        Value::StringLit(s) => JsonKind::String(string(file, text, s.range, &s.value)),
        Value::Array(a) => JsonKind::Array(
            a.elements
                .iter()
                .map(|v| convert(file, text, v, diagnostics))
                .collect(),
        ),
        Value::Object(o) => {
            let mut members: Vec<Member> = Vec::with_capacity(o.properties.len());
            for prop in &o.properties {
                let (name, name_span) = match &prop.name {
                    ObjectPropName::String(s) => (s.value.to_string(), span(s.range)),
                    ObjectPropName::Word(w) => (w.value.to_string(), span(w.range)),
                };
                if let Some(first) = members.iter().find(|m| m.key.value == name) {
                    diagnostics.push(
                        Diagnostic::error(name_span.clone(), format!("duplicate key `{name}`"))
                            .with_label("defined again here")
                            .with_related(first.key.span.clone(), "first defined here")
                            .with_help(
                                "JSON.parse keeps only the last one: remove or rename one of them",
                            ),
                    );
                }
                members.push(Member {
                    key: Spanned::new(name, name_span),
                    value: convert(file, text, &prop.value, diagnostics),
                });
            }
            JsonKind::Object(members)
        }
    };
    Json {
        kind,
        span: span(value_range(value)),
    }
}

fn value_range(value: &Value<'_>) -> jsonc_parser::common::Range {
    match value {
        Value::NullKeyword(v) => v.range,
        Value::BooleanLit(v) => v.range,
        Value::NumberLit(v) => v.range,
        Value::StringLit(v) => v.range,
        Value::Array(v) => v.range,
        Value::Object(v) => v.range,
    }
}

fn string(
    file: FileId,
    text: &str,
    range: jsonc_parser::common::Range,
    decoded: &str,
) -> JsonString {
    let raw = text.get(range.start..range.end).unwrap_or("");
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    let base = range.start + 1;
    let escaped = (inner != decoded).then(|| escape_table(inner, base));
    JsonString {
        value: decoded.to_string(),
        offsets: OffsetMap {
            file,
            base,
            escaped,
        },
    }
}

/// File offsets of each decoded byte of a string literal's inner text that contains escapes.
fn escape_table(inner: &str, base: usize) -> Vec<usize> {
    let mut table = Vec::with_capacity(inner.len() + 1);
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let decoded_len = if bytes.get(i) == Some(&b'\\') {
            let (len, raw_len) = escape_len(&inner[i..]);
            i += raw_len;
            len
        } else {
            let len = inner[i..].chars().next().map_or(1, char::len_utf8);
            i += len;
            len
        };
        table.extend(std::iter::repeat_n(base + start, decoded_len));
    }
    table.push(base + inner.len());
    table
}

/// For an escape at the start of `s`: (bytes it decodes to, bytes it occupies in the file).
fn escape_len(s: &str) -> (usize, usize) {
    let hex = |s: &str| s.get(..4).and_then(|h| u32::from_str_radix(h, 16).ok());
    match s.as_bytes().get(1) {
        Some(b'u') => {
            let Some(unit) = s.get(2..).and_then(hex) else {
                return (1, 2);
            };
            if (0xD800..0xDC00).contains(&unit)
                && s.get(6..8) == Some("\\u")
                && s.get(8..)
                    .and_then(hex)
                    .is_some_and(|low| (0xDC00..0xE000).contains(&low))
            {
                return (4, 12);
            }
            let len = char::from_u32(unit).map_or(3, char::len_utf8);
            (len, 6)
        }
        _ => (1, 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceMap;

    fn parse_text(text: &str) -> (SourceMap, Option<Json>, Diagnostics) {
        let mut sources = SourceMap::new();
        let id = sources.add("t.json", "", text.to_string());
        let mut diagnostics = Diagnostics::new();
        let json = parse(id, text, &mut diagnostics);
        (sources, json, diagnostics)
    }

    #[test]
    fn offsets_inside_strings_account_for_escapes() {
        let text = r#"{"k": "a\"b\u00e9\ud83d\ude00<x>"}"#;
        let (sources, json, diagnostics) = parse_text(text);
        assert!(diagnostics.is_empty());
        let json = json.unwrap();
        let value = json.as_object().unwrap()[0].value.as_string().unwrap();
        assert_eq!(value.as_str(), "a\"bé😀<x>");
        let decoded_x = value.as_str().find('x').unwrap();
        let span = value.offsets().span(decoded_x..decoded_x + 1);
        assert_eq!(sources.snippet(&span), "x");
        // A decoded character written as an escape covers the whole escape.
        let decoded_quote = value.as_str().find('"').unwrap();
        let quote = value.offsets().span(decoded_quote..decoded_quote + 1);
        assert_eq!(sources.snippet(&quote), "\\\"");
        let decoded_e = value.as_str().find('é').unwrap();
        let e = value.offsets().span(decoded_e..decoded_e + 'é'.len_utf8());
        assert_eq!(sources.snippet(&e), "\\u00e9");
        let decoded_smiley = value.as_str().find('😀').unwrap();
        let smiley = value.offsets().span(decoded_smiley..decoded_smiley + 4);
        assert_eq!(sources.snippet(&smiley), "\\ud83d\\ude00");
    }

    #[test]
    fn rejects_what_json_parse_rejects() {
        for text in [
            "{\"a\": 1,}",
            "{'a': 1}",
            "{a: 1}",
            "// c\n{}",
            "{\"a\": 0x1}",
            "",
            "{\"a\": 1} 2",
        ] {
            let (_, json, diagnostics) = parse_text(text);
            assert!(json.is_none(), "{text:?} was accepted");
            assert_eq!(diagnostics.len(), 1, "{text:?}");
            assert!(
                diagnostics[0].message.starts_with("invalid JSON"),
                "{:?}",
                diagnostics[0]
            );
        }
    }

    #[test]
    fn duplicate_keys_point_at_both() {
        let (sources, json, diagnostics) = parse_text("{\"a\": 1,\n \"a\": 2}");
        assert!(json.is_some());
        assert_eq!(diagnostics.len(), 1);
        let d = &diagnostics[0];
        assert_eq!(d.message, "duplicate key `a`");
        assert_eq!(d.location(&sources).unwrap(), "t.json:2:2");
        assert_eq!(sources.location(&d.related[0].0), "t.json:1:2");
    }
}
