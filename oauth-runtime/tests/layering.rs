//! The runtime's top-level modules form layers: no two of them import each other, so each
//! can be read, and changed, with only what is below it in mind. Read from the sources: every
//! `crate::` path outside comments and unit tests, a name the crate root re-exports counted as
//! its module's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[test]
fn no_two_top_level_modules_import_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let imports = imports_between_modules(&src);
    assert!(
        imports.contains_key("request") && imports.contains_key("runtime"),
        "the sources were read: {imports:?}"
    );
    let both_ways: Vec<_> = imports
        .iter()
        .flat_map(|(from, to)| to.iter().map(move |to| (from, to)))
        .filter(|(from, to)| from < to && imports.get(*to).is_some_and(|back| back.contains(*from)))
        .collect();
    assert!(
        both_ways.is_empty(),
        "modules that import each other: {both_ways:?}"
    );
}

#[test]
fn a_cycle_is_seen_where_one_is_written() {
    let names =
        crate_paths("use crate::{runtime::Runtime, tokens};\nlet x = crate::request::Draft;");
    assert_eq!(names, ["runtime", "tokens", "request"]);
    // Comments and a `{…}` group's inner paths are not the module's imports.
    let names = crate_paths("// crate::runtime\nuse crate::{a::{b, c}, d as e};");
    assert_eq!(names, ["a", "d"]);
}

/// Each top-level module (a file or directory of `src`) and the top-level modules it names.
fn imports_between_modules(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let reexported = reexports(&lib);
    let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let module = path.file_stem().unwrap().to_string_lossy().into_owned();
        if module == "lib" {
            continue;
        }
        let mut named = BTreeSet::new();
        for file in rust_files(&path) {
            let text = std::fs::read_to_string(&file).unwrap();
            for name in crate_paths(without_unit_tests(&text)) {
                let target = reexported.get(&name).cloned().unwrap_or(name);
                if target != module {
                    named.insert(target);
                }
            }
        }
        imports.insert(module, named);
    }
    imports
}

/// The `.rs` files at `path` (a file, or a directory read through), unit-test files left out.
fn rust_files(path: &Path) -> Vec<std::path::PathBuf> {
    if path.is_dir() {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).unwrap() {
            files.extend(rust_files(&entry.unwrap().path()));
        }
        return files;
    }
    let name = path.file_name().unwrap().to_string_lossy();
    let is_tests = name == "tests.rs" || name.ends_with("_tests.rs");
    if name.ends_with(".rs") && !is_tests {
        vec![path.to_path_buf()]
    } else {
        Vec::new()
    }
}

/// A file's text before its `#[cfg(test)] mod tests { … }`, which ends a file that has one.
fn without_unit_tests(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod tests {")
        .map_or(text, |end| &text[..end])
}

/// The names the crate root re-exports (`pub use module::…::{A, B};`), by their module.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for statement in lib.split("pub use ").skip(1) {
        let statement = statement.split(';').next().unwrap_or("");
        let Some((module, rest)) = statement.split_once("::") else {
            continue;
        };
        for name in rest
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|name| !name.is_empty())
        {
            names.insert(name.to_owned(), module.trim().to_owned());
        }
    }
    names
}

/// The first segment of each `crate::` path in `text` outside `//` comments: of a `{…}`
/// group, the first segment of each of its items.
fn crate_paths(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n");
    let mut names = Vec::new();
    for (_, after) in code
        .match_indices("crate::")
        .map(|(at, _)| code.split_at(at + 7))
    {
        if let Some(group) = after.strip_prefix('{') {
            let (mut depth, mut item_start) = (0, true);
            let mut rest = group;
            while let Some(c) = rest.chars().next() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        names.push(identifier(rest));
                        item_start = false;
                    }
                    _ => {}
                }
                rest = &rest[c.len_utf8()..];
            }
        } else {
            names.push(identifier(after));
        }
    }
    names.retain(|name| !name.is_empty());
    names
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}
