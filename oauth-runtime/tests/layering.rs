//! The runtime's top-level modules form layers: no module imports one that imports it back,
//! directly or through others, so each can be read, and changed, with only what is below it
//! in mind. Read from the sources: every `crate::` path outside comments and unit tests, a
//! name the crate root re-exports counted as its module's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[test]
fn the_top_level_modules_import_one_another_in_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let imports = imports_between_modules(&src);
    assert!(
        imports
            .get("runtime")
            .is_some_and(|to| to.contains("request")),
        "the sources were read: {imports:?}"
    );
    assert_eq!(cycle(&imports), None, "modules that import each other");
}

#[test]
fn a_cycle_is_found_however_long() {
    let imports = |pairs: &[(&str, &str)]| {
        let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in pairs {
            imports
                .entry(from.to_string())
                .or_default()
                .insert(to.to_string());
        }
        imports
    };
    let layered = imports(&[
        ("runtime", "request"),
        ("request", "tokens"),
        ("runtime", "tokens"),
    ]);
    assert_eq!(cycle(&layered), None);
    let around = imports(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]);
    assert_eq!(
        cycle(&around),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

/// A path of imports that comes back to where it started, if there is one.
fn cycle(imports: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        imports: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut cycle = path[at..].to_vec();
            cycle.push(module.to_owned());
            return Some(cycle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in imports.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, imports, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    imports
        .keys()
        .find_map(|module| visit(module, imports, &mut Vec::new(), &mut done))
}

#[test]
fn the_modules_a_file_names_are_read_from_its_crate_paths() {
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
