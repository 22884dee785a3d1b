//! The shape of the code, checked: no file of `core/src` imports a file
//! that imports it back (arrows point down), and no source file of the
//! workspace is over 400 lines outside its tests.
//!
//! The import graph is read from the sources, as `use` listings give it:
//! an edge goes from a file to the file that defines what it names
//! (`use` paths and `crate::`, `super::`, `self::` or child-module paths in
//! the code), following `pub use` re-exports to their origin. A `pub use`
//! in a `mod.rs` presents its children and is no edge; a method called on
//! a type defined elsewhere is not seen (only paths are). Comments,
//! strings and `#[cfg(test)]` items are left out, and test files
//! (`tests.rs`, `*_tests.rs`) are not nodes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A file's module path, from its path under `src` (`a/b.rs`, `a/b/mod.rs`: `a::b`).
fn module_of(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

fn is_test_file(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name == "tests.rs" || name.ends_with("_tests.rs") || rel.split('/').any(|p| p == "tests")
}

/// The source with comments, string and char literals blanked out.
fn clean(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &src[i..];
        let word_before = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |j| j + 2);
        } else if !word_before && (rest.starts_with("r\"") || rest.starts_with("r#")) {
            let hashes = rest[1..].bytes().take_while(|&c| c == b'#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let body = 2 + hashes;
            i += rest[body..]
                .find(&close)
                .map_or(rest.len(), |j| body + j + close.len());
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            i = j + 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && char_literal(rest).is_some() {
            i += char_literal(rest).unwrap_or(1);
            out.push_str("' '");
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The length of the char literal `s` starts with (not a lifetime).
fn char_literal(s: &str) -> Option<usize> {
    let mut chars = s.char_indices().skip(1);
    let (_, c) = chars.next()?;
    if c == '\\' {
        let end = s[2..].find('\'')?;
        return Some(end + 3);
    }
    let (j, close) = chars.next()?;
    (close == '\'').then_some(j + 1)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Path,
    Punct(char),
}

fn tokens(src: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            let mut word = c.to_string();
            while let Some(&n) = chars.peek().filter(|n| n.is_alphanumeric() || **n == '_') {
                word.push(n);
                chars.next();
            }
            out.push(Tok::Ident(word));
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.push(Tok::Path);
        } else if !c.is_whitespace() {
            out.push(Tok::Punct(c));
        }
    }
    out
}

/// The tokens without `#[cfg(test)]` items.
fn without_test_items(toks: &[Tok]) -> Vec<Tok> {
    let is = |i: usize, t: Tok| toks.get(i) == Some(&t);
    let ident = |s: &str| Tok::Ident(s.into());
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let cfg_test = is(i, Tok::Punct('#'))
            && is(i + 1, Tok::Punct('['))
            && is(i + 2, ident("cfg"))
            && is(i + 3, Tok::Punct('('))
            && is(i + 4, ident("test"))
            && is(i + 5, Tok::Punct(')'));
        if !cfg_test {
            out.push(toks[i].clone());
            i += 1;
            continue;
        }
        // Skip to the item's end: `;` before any brace, or its block.
        let mut depth = 0usize;
        i += 6;
        while i < toks.len() {
            match toks[i] {
                Tok::Punct('{') => depth += 1,
                Tok::Punct('}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                Tok::Punct(';') if depth == 0 => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
    }
    out
}

/// The paths of a `use` tree (its tokens, without `use` and `;`).
fn use_paths(toks: &[Tok]) -> Vec<Vec<String>> {
    fn tree(toks: &[Tok], prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        let mut path = prefix;
        let mut i = 0;
        while i < toks.len() {
            match &toks[i] {
                Tok::Ident(w) if w == "as" => break,
                Tok::Ident(w) => path.push(w.clone()),
                Tok::Punct('{') => {
                    // Split the group at its top-level commas.
                    let (mut depth, mut start) = (0usize, i + 1);
                    for j in i + 1..toks.len() {
                        match toks[j] {
                            Tok::Punct('{') => depth += 1,
                            Tok::Punct('}') if depth == 0 => {
                                tree(&toks[start..j], path.clone(), out);
                                return;
                            }
                            Tok::Punct('}') => depth -= 1,
                            Tok::Punct(',') if depth == 0 => {
                                tree(&toks[start..j], path.clone(), out);
                                start = j + 1;
                            }
                            _ => {}
                        }
                    }
                    return;
                }
                _ => {}
            }
            i += 1;
        }
        if !path.is_empty() {
            out.push(path);
        }
    }
    let mut out = Vec::new();
    tree(toks, Vec::new(), &mut out);
    out
}

/// What one file says: its definitions, re-exports and the paths it uses.
#[derive(Debug, Default)]
struct FileFacts {
    defs: BTreeSet<String>,
    /// Re-exported name -> the path it names.
    reexports: BTreeMap<String, Vec<String>>,
    uses: Vec<Vec<String>>,
}

fn facts(src: &str) -> FileFacts {
    let toks = without_test_items(&tokens(&clean(src)));
    let mut f = FileFacts::default();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Ident(w) if w == "use" => {
                let end = (i..toks.len())
                    .find(|&j| toks[j] == Tok::Punct(';'))
                    .unwrap_or(toks.len());
                let paths = use_paths(&toks[i + 1..end]);
                let public = i > 0
                    && (toks[i - 1] == Tok::Ident("pub".into())
                        || (toks[i - 1] == Tok::Punct(')')
                            && toks[..i]
                                .iter()
                                .rev()
                                .take(5)
                                .any(|t| *t == Tok::Ident("pub".into()))));
                for p in paths {
                    if public {
                        if let Some(last) = p.last() {
                            f.reexports.insert(last.clone(), p);
                        }
                    } else {
                        f.uses.push(p);
                    }
                }
                i = end;
            }
            Tok::Ident(w)
                if [
                    "struct", "enum", "fn", "trait", "const", "type", "static", "union",
                ]
                .contains(&w.as_str()) =>
            {
                if let Some(Tok::Ident(name)) = toks.get(i + 1) {
                    f.defs.insert(name.clone());
                }
                i += 1;
            }
            Tok::Ident(first) if toks.get(i + 1) == Some(&Tok::Path) => {
                let mut path = vec![first.clone()];
                let mut j = i + 1;
                while toks.get(j) == Some(&Tok::Path) {
                    match toks.get(j + 1) {
                        Some(Tok::Ident(w)) => path.push(w.clone()),
                        _ => break,
                    }
                    j += 2;
                }
                f.uses.push(path);
                i = j;
            }
            _ => i += 1,
        }
    }
    f
}

/// The import graph of a source tree (`rel path -> source`): each file to
/// the files defining what it names.
fn import_graph(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeMap<Vec<String>, String> = files
        .keys()
        .map(|rel| (module_of(rel), rel.clone()))
        .collect();
    let all: BTreeMap<&String, FileFacts> = files.iter().map(|(r, s)| (r, facts(s))).collect();
    let absolute = |me: &[String], path: &[String]| -> Option<Vec<String>> {
        let (head, rest) = path.split_first()?;
        match head.as_str() {
            "crate" => Some(rest.to_vec()),
            "self" => Some([me, rest].concat()),
            "super" => {
                let ups = path.iter().take_while(|p| *p == "super").count();
                let base = me.get(..me.len().checked_sub(ups)?)?;
                Some([base, &path[ups..]].concat())
            }
            _ => {
                let child = [me, &path[..1]].concat();
                modules.contains_key(&child).then(|| [me, path].concat())
            }
        }
    };
    // The file defining the item `path` names, through re-exports.
    let target = |path: Vec<String>| -> Option<String> {
        let mut path = path;
        for _ in 0..10 {
            let (k, file) = (0..=path.len())
                .rev()
                .find_map(|k| modules.get(&path[..k]).map(|f| (k, f)))?;
            let rest = &path[k..];
            let facts = &all[file];
            match rest.first() {
                Some(name) if !facts.defs.contains(name) && facts.reexports.contains_key(name) => {
                    let via = absolute(&path[..k], &facts.reexports[name])?;
                    path = [via, rest[1..].to_vec()].concat();
                }
                _ => return Some(file.clone()),
            }
        }
        None
    };
    let mut graph = BTreeMap::new();
    for (rel, f) in &all {
        if is_test_file(rel) {
            continue;
        }
        let me = module_of(rel);
        let edges: BTreeSet<String> = f
            .uses
            .iter()
            .filter_map(|p| absolute(&me, p))
            .filter_map(target)
            .filter(|t| t != *rel && !is_test_file(t))
            .collect();
        graph.insert((*rel).clone(), edges);
    }
    graph
}

/// The cycles of `graph`: its strongly connected components of more than
/// one file, each with its edges.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju: finish order on the graph, then components on its reverse.
    fn visit(
        v: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<String>,
        order: &mut Vec<String>,
    ) {
        if !seen.insert(v.to_owned()) {
            return;
        }
        for w in g.get(v).into_iter().flatten() {
            visit(w, g, seen, order);
        }
        order.push(v.to_owned());
    }
    let mut reverse: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (v, ws) in graph {
        for w in ws {
            reverse.entry(w.clone()).or_default().insert(v.clone());
        }
    }
    let (mut seen, mut order) = (BTreeSet::new(), Vec::new());
    for v in graph.keys() {
        visit(v, graph, &mut seen, &mut order);
    }
    let mut assigned = BTreeSet::new();
    let mut out = Vec::new();
    for v in order.iter().rev() {
        let mut component = Vec::new();
        visit(v, &reverse, &mut assigned, &mut component);
        if component.len() > 1 {
            component.sort();
            out.push(component);
        }
    }
    out
}

fn read_tree(root: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let rel = rel.to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn report(graph: &BTreeMap<String, BTreeSet<String>>, found: &[Vec<String>]) -> String {
    let mut text = String::new();
    for component in found {
        text.push_str("cycle:\n");
        for file in component {
            let back: Vec<&String> = graph[file]
                .iter()
                .filter(|t| component.contains(t))
                .collect();
            text.push_str(&format!("  {file} -> {back:?}\n"));
        }
    }
    text
}

#[test]
fn no_file_of_core_imports_a_file_that_imports_it_back() {
    let files = read_tree(&workspace().join("core/src"));
    assert!(files.len() > 50, "{} files read", files.len());
    let graph = import_graph(&files);
    // The reading finds the edges it should: the run loop uses the stage.
    assert!(
        graph["run_loop/mod.rs"].contains("stage.rs"),
        "{:?}",
        graph["run_loop/mod.rs"]
    );
    assert!(graph["collector/stage.rs"].contains("collector/mod.rs"));
    let found = cycles(&graph);
    assert!(found.is_empty(), "{}", report(&graph, &found));
}

#[test]
fn a_file_importing_back_what_imports_it_is_a_cycle() {
    let files: BTreeMap<String, String> = [
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        (
            "a/mod.rs",
            "mod x;\npub use x::X;\nuse crate::b::B;\npub struct A;",
        ),
        (
            "a/x.rs",
            "// use crate::c::C; only a comment\npub struct X(crate::c::C);",
        ),
        (
            "b.rs",
            "use super::a::X;\npub struct B;\n#[cfg(test)]\nmod t { use crate::c::C; }",
        ),
        ("c.rs", "pub struct C;\nfn f() { let s = \"crate::b::B\"; }"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let graph = import_graph(&files);
    // b -> a::X is followed through the re-export to a/x.rs.
    assert_eq!(graph["b.rs"], BTreeSet::from(["a/x.rs".to_owned()]));
    assert_eq!(graph["a/x.rs"], BTreeSet::from(["c.rs".to_owned()]));
    assert!(cycles(&graph).is_empty(), "{graph:?}");
    // c now names b: b -> a/x -> c -> b.
    let mut with_cycle = files.clone();
    with_cycle.insert("c.rs".into(), "pub struct C(crate::b::B);".into());
    let graph = import_graph(&with_cycle);
    assert_eq!(cycles(&graph), vec![vec!["a/x.rs", "b.rs", "c.rs"]]);
}

/// Lines of `src` before its first top-level `#[cfg(test)]` module.
fn lines_outside_tests(src: &str) -> usize {
    let lines: Vec<&str> = src.lines().collect();
    let test_mod = (0..lines.len()).find(|&i| {
        lines[i].starts_with("#[cfg(test)]")
            && lines[i + 1..]
                .iter()
                .find(|l| !l.starts_with("#["))
                .is_some_and(|l| l.starts_with("mod ") && l.ends_with('{'))
    });
    test_mod.unwrap_or(lines.len())
}

#[test]
fn no_source_file_is_over_400_lines_outside_its_tests() {
    let root = workspace();
    let crates = [
        "core/src",
        "tweetoscope/src",
        "collector/src",
        "estimator/src",
        "predictor/src",
        "learner/src",
        "logger/src",
        "dashboard/src",
        "generator/src",
    ];
    let mut long = Vec::new();
    for dir in crates {
        for (rel, src) in read_tree(&root.join(dir)) {
            let n = lines_outside_tests(&src);
            if !is_test_file(&rel) && n > 400 {
                long.push(format!("{dir}/{rel}: {n} lines"));
            }
        }
    }
    assert!(long.is_empty(), "split by concept: {long:?}");
    assert_eq!(lines_outside_tests("a\n#[cfg(test)]\nmod tests {\n}\n"), 1);
}
