//! The request declarations of `manifest.json`. The rest of the manifest is the platform's and
//! is not read here.

use super::{get, object};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::json::{Json, JsonKind};
use crate::model::Manifest;
use crate::source::FileId;

/// Reads `modules.common.requests` (platform 3.x) and `product.<p>.requests` (2.3).
pub(crate) fn load_manifest(
    json: &Json,
    file: FileId,
    diagnostics: &mut Diagnostics,
) -> Option<Manifest> {
    let members = object(json, "`manifest.json`", diagnostics)?;
    let mut sections = Vec::new();
    let common = get(members, "modules")
        .and_then(|m| m.value.as_object())
        .and_then(|modules| get(modules, "common"))
        .and_then(|c| c.value.as_object())
        .and_then(|common| get(common, "requests"));
    sections.extend(common);
    if let Some(products) = get(members, "product").and_then(|p| p.value.as_object()) {
        for product in products {
            sections.extend(product.value.as_object().and_then(|p| get(p, "requests")));
        }
    }
    let mut declared: Vec<crate::source::Spanned<String>> = Vec::new();
    for section in &sections {
        let Some(entries) = object(&section.value, "`requests` in `manifest.json`", diagnostics)
        else {
            continue;
        };
        for entry in entries {
            if declared.iter().any(|d| d.value == entry.key.value) {
                continue;
            }
            if !matches!(&entry.value.kind, JsonKind::Object(fields) if fields.is_empty()) {
                diagnostics.push(
                    Diagnostic::warning(entry.value.span.clone(), format!("the declaration of `{}` is not `{{}}`", entry.key.value))
                        .with_label("this content is ignored")
                        .with_help("the manifest only declares a template's name: `\"name\": {}`; the template itself belongs in `config/requests.json`"),
                );
            }
            declared.push(entry.key.clone());
        }
    }
    Some(Manifest {
        declared,
        has_requests_section: !sections.is_empty(),
        file,
    })
}
