//! From JSON to the config model: shapes, types, keys and single-value rules. Rules that
//! relate one file to another live in `validate`.

mod iparams;
mod manifest;
mod oauth;
mod requests;

pub(crate) use iparams::load_iparams;
pub(crate) use manifest::load_manifest;
pub(crate) use oauth::load_oauth;
pub(crate) use requests::load_requests;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::json::{Json, JsonKind, Member};
use crate::placeholder::{TemplateString, parse_template};
use crate::source::{Span, Spanned};
use crate::suggest;

/// The members of an object, or an error saying what `what` should have been.
fn object<'j>(json: &'j Json, what: &str, diagnostics: &mut Diagnostics) -> Option<&'j [Member]> {
    let members = json.as_object();
    if members.is_none() {
        diagnostics.push(
            Diagnostic::error(
                json.span.clone(),
                format!("{what} must be an object, found {}", json.kind_name()),
            )
            .with_label("expected `{ … }`"),
        );
    }
    members
}

/// Reports every key of `members` not in `allowed`, with a did-you-mean or the list of allowed keys.
fn reject_unknown_keys<'m>(
    members: impl IntoIterator<Item = &'m Member>,
    allowed: &[&str],
    what: &str,
    diagnostics: &mut Diagnostics,
) {
    for member in members {
        let key = member.key.value.as_str();
        if allowed.contains(&key) {
            continue;
        }
        let help = suggest::help(key, allowed.iter().copied())
            .unwrap_or_else(|| format!("the keys allowed here are {}", list(allowed)));
        diagnostics.push(
            Diagnostic::error(
                member.key.span.clone(),
                format!("unknown key `{key}` in {what}"),
            )
            .with_help(help),
        );
    }
}

/// `a`, `b` and `c`, each in backticks.
fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

fn get<'j>(members: &'j [Member], key: &str) -> Option<&'j Member> {
    members.iter().rev().find(|m| m.key.value == key)
}

/// The value of a key that must be present; a missing one is reported at `owner`.
fn required<'j>(
    members: &'j [Member],
    key: &str,
    owner: &Span,
    what: &str,
    diagnostics: &mut Diagnostics,
) -> Option<&'j Json> {
    let found = get(members, key).map(|m| &m.value);
    if found.is_none() {
        diagnostics.push(
            Diagnostic::error(owner.clone(), format!("missing key `{key}` in {what}"))
                .with_label(format!("`{key}` is required here")),
        );
    }
    found
}

fn type_error(json: &Json, what: &str, expected: &str) -> Diagnostic {
    Diagnostic::error(
        json.span.clone(),
        format!("{what} must be {expected}, found {}", json.kind_name()),
    )
}

/// A string value parsed for placeholders.
fn template_string(
    json: &Json,
    what: &str,
    diagnostics: &mut Diagnostics,
) -> Option<TemplateString> {
    match json.as_string() {
        Some(s) => Some(parse_template(s, diagnostics)),
        None => {
            diagnostics.push(type_error(json, what, "a string"));
            None
        }
    }
}

/// A string value taken as plain text (no placeholders).
fn plain_string(json: &Json, what: &str, diagnostics: &mut Diagnostics) -> Option<Spanned<String>> {
    match json.as_string() {
        Some(s) => Some(Spanned::new(s.as_str().to_string(), json.span.clone())),
        None => {
            diagnostics.push(type_error(json, what, "a string"));
            None
        }
    }
}

fn boolean(json: &Json, what: &str, diagnostics: &mut Diagnostics) -> Option<bool> {
    match json.kind {
        JsonKind::Bool(b) => Some(b),
        _ => {
            diagnostics.push(type_error(json, what, "`true` or `false`"));
            None
        }
    }
}

/// An integer within `min..=max`.
fn integer_in(
    json: &Json,
    min: i64,
    max: i64,
    what: &str,
    diagnostics: &mut Diagnostics,
) -> Option<i64> {
    let expected = format!("an integer from {min} to {max}");
    let JsonKind::Number(text) = &json.kind else {
        diagnostics.push(type_error(json, what, &expected));
        return None;
    };
    match text.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        Ok(n) => {
            diagnostics.push(
                Diagnostic::error(
                    json.span.clone(),
                    format!("{what} must be from {min} to {max}, found {n}"),
                )
                .with_help(format!("use a value from {min} to {max}")),
            );
            None
        }
        Err(_) => {
            diagnostics.push(Diagnostic::error(
                json.span.clone(),
                format!("{what} must be {expected}, found `{text}`"),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::list;

    #[test]
    fn lists_read_as_english() {
        assert_eq!(list(&["a"]), "`a`");
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` and `c`");
    }
}
