//! `config/iparams.json`: the app's installation parameters.

use super::{boolean, get, object, plain_string, required, type_error};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::json::Json;
use crate::model::{Iparam, IparamType, Iparams};
use crate::suggest;

const TYPES: &[(&str, IparamType)] = &[
    ("text", IparamType::Text),
    ("paragraph", IparamType::Text),
    ("email", IparamType::Text),
    ("phone_number", IparamType::Text),
    ("url", IparamType::Text),
    ("date", IparamType::Text),
    ("domain", IparamType::Text),
    ("api_key", IparamType::Text),
    ("dropdown", IparamType::Text),
    ("radio", IparamType::Text),
    ("number", IparamType::Number),
    ("checkbox", IparamType::Checkbox),
    ("multiselect", IparamType::Multiselect),
];

/// Keys of an iparam that FDK defines; we read `type`, `required` and `secure`, and accept the rest.
const KEYS: &[&str] = &[
    "display_name",
    "description",
    "type",
    "required",
    "secure",
    "default_value",
    "options",
    "visible",
    "events",
    "regex",
    "type_attributes",
    "data-bind",
];

/// Reads a parsed `iparams.json`.
pub(crate) fn load_iparams(json: &Json, diagnostics: &mut Diagnostics) -> Option<Iparams> {
    let members = object(json, "`iparams.json`", diagnostics)?;
    let mut params = Vec::with_capacity(members.len());
    for member in members {
        let what = format!("iparam `{}`", member.key.value);
        let Some(fields) = object(&member.value, &what, diagnostics) else {
            continue;
        };
        for field in fields {
            let key = field.key.value.as_str();
            if !KEYS.contains(&key) {
                diagnostics.push(
                    Diagnostic::warning(
                        field.key.span.clone(),
                        format!("unknown key `{key}` in {what}"),
                    )
                    .with_optional_help(suggest::help(key, KEYS.iter().copied())),
                );
            }
        }
        let _ = required(fields, "display_name", &member.key.span, &what, diagnostics)
            .and_then(|d| plain_string(d, "`display_name`", diagnostics));
        let kind = required(fields, "type", &member.key.span, &what, diagnostics)
            .and_then(|t| iparam_type(t, diagnostics));
        let flag = |key: &str, diagnostics: &mut Diagnostics| {
            get(fields, key)
                .and_then(|f| boolean(&f.value, &format!("`{key}`"), diagnostics))
                .unwrap_or(false)
        };
        let required = flag("required", diagnostics);
        let secure = flag("secure", diagnostics);
        let field = crate::ident::snake_case(&member.key.value);
        if let Some(other) = params
            .iter()
            .find(|p: &&Iparam| crate::ident::snake_case(&p.name.value) == field)
        {
            diagnostics.push(
                Diagnostic::error(
                    member.key.span.clone(),
                    format!(
                        "iparams `{}` and `{}` both become the field `{field}`",
                        other.name.value, member.key.value
                    ),
                )
                .with_related(other.name.span.clone(), "the other iparam")
                .with_help("rename one of them"),
            );
            continue;
        }
        if let Some(kind) = kind {
            params.push(Iparam {
                name: member.key.clone(),
                kind,
                required,
                secure,
            });
        }
    }
    Some(Iparams { params })
}

fn iparam_type(json: &Json, diagnostics: &mut Diagnostics) -> Option<IparamType> {
    let Some(text) = json.as_string().map(|s| s.as_str()) else {
        diagnostics.push(type_error(json, "`type`", "a string such as \"text\""));
        return None;
    };
    if let Some((_, kind)) = TYPES.iter().find(|(name, _)| *name == text) {
        return Some(*kind);
    }
    let names = TYPES.iter().map(|(name, _)| *name);
    diagnostics.push(
        Diagnostic::error(json.span.clone(), format!("unknown iparam type `{text}`"))
            .with_optional_help(suggest::help(text, names).or_else(|| {
                let all: Vec<&str> = TYPES.iter().map(|(name, _)| *name).collect();
                Some(format!("the types are {}", super::list(&all)))
            })),
    );
    None
}
