//! The runtime's top-level modules form layers: no module imports one that imports it back,
//! directly or through others, so each can be read, and changed, with only what is below it
//! in mind. Test code is left out: a module's tests may build a whole runtime.
//!
//! Read from the sources, comments and string literals blanked first: every `crate::` path,
//! and every `super::` path that climbs to the crate root, outside items under `#[cfg(test)]`
//! (inline, or in the files such a `mod name;` declares), a name the crate root re-exports
//! counted as its module's. Not seen: paths that macros build, and inline modules' `super::`
//! (none reach the root today).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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

#[test]
fn a_files_imports_are_its_paths_to_other_modules() {
    let read = |text: &str, depth| {
        let code = code_outside_tests(&blank_comments_and_strings(text)).0;
        root_paths(&code, depth)
    };
    let text = "use crate::{runtime::Runtime, tokens};\r\nlet x = crate::request::Draft;";
    assert_eq!(read(text, 1), ["runtime", "tokens", "request"]);
    // A group's inner paths, comments, strings and other crates' paths are not imports.
    let text = "// crate::runtime\n/* crate::store */ use crate::{a::{b, c}, d as e};\n\
                let url = \"https://crate::x\"; let c = '\"'; my_crate::y; r#\"crate::z\"#;";
    assert_eq!(read(text, 1), ["a", "d"]);
    // `super::` reaches the crate root from a module's own file, and from a file below it
    // only with as many steps as it is deep.
    let text = "use super::runtime::Runtime; use super::super::events::Event;";
    assert_eq!(read(text, 1), ["runtime", "events"]);
    assert_eq!(read(text, 2), ["events"]);
    // Test items are left out, inline or declared; what follows them is read.
    let text = "#[cfg(test)]\n#[allow(unused)]\nmod tests { use crate::runtime; fn f() { } }\n\
                #[cfg(test)] mod more_tests;\nuse crate::store;";
    let (code, test_modules) = code_outside_tests(&blank_comments_and_strings(text));
    assert_eq!(root_paths(&code, 1), ["store"]);
    assert_eq!(test_modules, ["more_tests"]);
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

/// Each top-level module (a file or directory of `src`) and the top-level modules it names.
fn imports_between_modules(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let lib = code_outside_tests(&blank_comments_and_strings(&read(&src.join("lib.rs")))).0;
    let reexported = reexports(&lib);
    let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let module = path.file_stem().unwrap().to_string_lossy().into_owned();
        if module == "lib" {
            continue;
        }
        let named = imports.entry(module.clone()).or_default();
        for (file, depth) in module_files(&path) {
            let code = code_outside_tests(&blank_comments_and_strings(&read(&file))).0;
            for name in root_paths(&code, depth) {
                let target = reexported.get(&name).cloned().unwrap_or(name);
                if target != module {
                    named.insert(target);
                }
            }
        }
    }
    imports
}

fn read(file: &Path) -> String {
    std::fs::read_to_string(file).unwrap().replace("\r\n", "\n")
}

/// A top-level module's files (its file, or its directory's `mod.rs` and the files of its
/// submodules) and how deep each file's module is (1 for the top-level module's own), the
/// files of modules declared under `#[cfg(test)]` left out.
fn module_files(path: &Path) -> Vec<(PathBuf, usize)> {
    fn gather(file: PathBuf, dir: PathBuf, depth: usize, files: &mut Vec<(PathBuf, usize)>) {
        let code = blank_comments_and_strings(&read(&file));
        let test_modules = code_outside_tests(&code).1;
        for child in declared_modules(&code) {
            if test_modules.contains(&child) {
                continue;
            }
            let (own, nested) = (
                dir.join(format!("{child}.rs")),
                dir.join(&child).join("mod.rs"),
            );
            let file = if own.exists() { own } else { nested };
            if file.exists() {
                gather(file, dir.join(&child), depth + 1, files);
            }
        }
        files.push((file, depth));
    }
    let mut files = Vec::new();
    // A module in `name.rs` with its submodules in `name/` is read from `name.rs`.
    if path.is_dir() && path.join("mod.rs").exists() {
        gather(path.join("mod.rs"), path.to_path_buf(), 1, &mut files);
    } else if path.extension().is_some_and(|ext| ext == "rs") {
        let dir = path.with_extension("");
        gather(path.to_path_buf(), dir, 1, &mut files);
    }
    files
}

/// The names of the modules `code` declares in files of their own (`mod name;`).
fn declared_modules(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in code.match_indices("mod ") {
        if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let name = identifier(&code[at + 4..]);
        if code[at + 4 + name.len()..].trim_start().starts_with(';') {
            names.push(name);
        }
    }
    names
}

/// `text` with its comments, string literals and character literals blanked, lines kept.
fn blank_comments_and_strings(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        let end = if rest.starts_with(&['/', '/']) {
            rest.iter().position(|&c| c == '\n').unwrap_or(rest.len())
        } else if rest.starts_with(&['/', '*']) {
            let mut depth = 0;
            let mut j = 0;
            loop {
                match (rest.get(j), rest.get(j + 1)) {
                    (Some('/'), Some('*')) => (depth, j) = (depth + 1, j + 2),
                    (Some('*'), Some('/')) if depth == 1 => break j + 2,
                    (Some('*'), Some('/')) => (depth, j) = (depth - 1, j + 2),
                    (Some(_), _) => j += 1,
                    (None, _) => break j,
                }
            }
        } else if let Some(len) = raw_string(rest) {
            len
        } else if rest[0] == '"' || (rest[0] == 'b' && rest.get(1) == Some(&'"')) {
            let open = if rest[0] == 'b' { 2 } else { 1 };
            let mut j = open;
            while j < rest.len() && rest[j] != '"' {
                j += if rest[j] == '\\' { 2 } else { 1 };
            }
            (j + 1).min(rest.len())
        } else if rest[0] == '\'' {
            // A character literal (`'"'`, `'\''`), not a lifetime (`'a`).
            match (rest.get(1), rest.get(2), rest.get(3)) {
                (Some('\\'), _, _) => rest[2..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map_or(1, |p| p + 3),
                (Some(_), Some('\''), _) => 3,
                _ => 1,
            }
        } else {
            out.push(rest[0]);
            i += 1;
            continue;
        };
        out.extend(rest[..end].iter().map(|&c| blank(c)));
        i += end.max(1);
    }
    out
}

/// The length of the raw string literal (`r"…"`, `r#"…"#`, `br"…"`) `text` starts with.
fn raw_string(text: &[char]) -> Option<usize> {
    let start = if text.starts_with(&['b', 'r']) {
        2
    } else {
        usize::from(text.first() == Some(&'r'))
    };
    if start == 0 {
        return None;
    }
    let hashes = text[start..].iter().take_while(|&&c| c == '#').count();
    if text.get(start + hashes) != Some(&'"') {
        return None;
    }
    let body = start + hashes + 1;
    let close: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    let end = (body..text.len()).find(|&j| text[j..].starts_with(&close));
    Some(end.map_or(text.len(), |j| j + close.len()))
}

/// Blanked `code` without its items under `#[cfg(test)]`, and the modules such items
/// declare in files of their own.
fn code_outside_tests(code: &str) -> (String, Vec<String>) {
    let mut out = code.to_owned();
    let mut test_modules = Vec::new();
    let marker = "#[cfg(test)]";
    let mut from = 0;
    while let Some(found) = out[from..].find(marker) {
        let start = from + found;
        let mut item = start + marker.len();
        // Other attributes of the same item.
        loop {
            let rest = out[item..].trim_start();
            item = out.len() - rest.len();
            if !rest.starts_with("#[") {
                break;
            }
            item += rest.find(']').map_or(rest.len(), |end| end + 1);
        }
        let rest = &out[item..];
        let (brace, semicolon) = (rest.find('{'), rest.find(';'));
        let end = match (brace, semicolon) {
            (Some(open), semicolon) if semicolon.is_none_or(|s| open < s) => {
                item + open + matching_brace(&rest[open..])
            }
            (_, Some(semicolon)) => {
                let declaration = rest[..semicolon].trim();
                if let Some(name) = declaration.strip_prefix("mod ") {
                    test_modules.push(name.trim().to_owned());
                }
                item + semicolon + 1
            }
            _ => out.len(),
        };
        let blanked: String = out[start..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        out.replace_range(start..end, &blanked);
        from = start + blanked.len();
    }
    (out, test_modules)
}

/// The length of the block `text` starts with (`{ … }`, nested blocks included).
fn matching_brace(text: &str) -> usize {
    let mut depth = 0;
    for (at, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 1 => return at + 1,
            '}' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

/// The names the crate root brings in from its modules (`pub use module::…::{A, B};`, with
/// any visibility), by their module.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for (at, _) in lib.match_indices("use ") {
        if lib[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let statement = lib[at + 4..].split(';').next().unwrap_or("");
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

/// The crate-root names that blanked `code`, in a module `depth` below the root, reaches:
/// the first segment of each `crate::` path (of each item of a `{…}` group), and of each
/// `super::` path with at least `depth` steps.
fn root_paths(code: &str, depth: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut at = 0;
    while at < code.len() {
        let rest = &code[at..];
        let follows_identifier =
            code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$');
        let after = if follows_identifier {
            None
        } else if let Some(after) = rest.strip_prefix("crate::") {
            Some(after)
        } else if rest.starts_with("super::") {
            let mut after = rest;
            let mut steps = 0;
            while let Some(next) = after.strip_prefix("super::") {
                (after, steps) = (next, steps + 1);
            }
            (steps >= depth).then_some(after)
        } else {
            None
        };
        match after {
            Some(after) => {
                names.extend(first_segments(after));
                at = code.len() - after.len();
            }
            None => at += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    names.retain(|name| !name.is_empty() && name != "self" && name != "super");
    names
}

/// The first segment of the path `text` starts with, or of each item of the `{…}` group it
/// starts with.
fn first_segments(text: &str) -> Vec<String> {
    let Some(group) = text.strip_prefix('{') else {
        return vec![identifier(text)];
    };
    let mut names = Vec::new();
    let (mut depth, mut item_start) = (0, true);
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            c if item_start && (c.is_alphanumeric() || c == '_') => {
                names.push(identifier(&group[at..]));
                item_start = false;
            }
            _ => {}
        }
    }
    names
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}
