//! Rust names for template names and placeholder fields, made in one place.

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Rust's strict and reserved keywords (2024 edition), which get a trailing `_`.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// The snake_case Rust name of a template, context field or iparam (`createTicket` → `create_ticket`,
/// `type` → `type_`). Names that would start with a digit get a leading `_`.
pub fn snake_case(name: &str) -> String {
    // Anything but ASCII letters, digits and `_` becomes `_`, so the result is always an identifier.
    let mut ident: String = if is_snake_case(name) {
        // Most context names are written so: the case conversion, the macro's costliest
        // string work in a debug build, would give them back as they are.
        name.to_owned()
    } else {
        name.to_snake_case()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    if ident.is_empty() || ident == "_" {
        ident = "field_".to_string();
    }
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, '_');
    }
    if KEYWORDS.contains(&ident.as_str()) {
        ident.push('_');
    }
    ident
}

/// Whether `name` is lowercase ASCII words (letters and digits) joined by single `_`s.
fn is_snake_case(name: &str) -> bool {
    !name.is_empty()
        && name.split('_').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// The UpperCamelCase Rust name of a template's type (`get-ticket` → `GetTicket`).
pub fn upper_camel_case(name: &str) -> String {
    let mut ident: String = name
        .to_upper_camel_case()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, 'T');
    }
    if ident == "Self" {
        ident.push('_');
    }
    ident
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_public_contract() {
        assert_eq!(snake_case("createTicket"), "create_ticket");
        assert_eq!(snake_case("create-ticket"), "create_ticket");
        assert_eq!(snake_case("postComment_v2"), "post_comment_v2");
        assert_eq!(snake_case("type"), "type_");
        assert_eq!(snake_case("self"), "self_");
        assert_eq!(snake_case("2fa"), "_2fa");
        assert_eq!(snake_case("clé d'API"), "cl__d_api");
        assert_eq!(snake_case("😀"), "field_");
        assert_eq!(upper_camel_case("😀"), "T");
        assert_eq!(upper_camel_case("getTicket"), "GetTicket");
        assert_eq!(upper_camel_case("get-ticket"), "GetTicket");
        assert_eq!(snake_case("ticket_id"), "ticket_id");
        assert_eq!(snake_case("_ticket__id_"), "ticket_id");
        assert_eq!(snake_case("ticket_2"), "ticket_2");
    }

    proptest::proptest! {
        /// Names taken as they are (already snake_case) are what the case conversion makes
        /// of them.
        #[test]
        fn snake_case_names_are_what_the_conversion_makes_of_them(
            name in "[a-z0-9]{1,8}(_[a-z0-9]{1,8}){0,4}",
        ) {
            proptest::prop_assert!(is_snake_case(&name));
            proptest::prop_assert_eq!(name.to_snake_case(), name);
        }

        /// Other names are not taken as they are.
        #[test]
        fn names_with_other_characters_are_converted(name in "[a-zA-Z0-9_ .-]{0,16}") {
            let as_is = !name.is_empty()
                && !name.starts_with('_')
                && !name.ends_with('_')
                && !name.contains("__")
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            proptest::prop_assert_eq!(is_snake_case(&name), as_is);
        }
    }
}
