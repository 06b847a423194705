//! The module graph of `src/` has no cycles between top-level modules (docs/ARCHITECTURE.md,
//! "Modules and who may use whom").
//!
//! Every `crate::x` path in a file under `src/` (in `use` lines, `use crate::{a, b::c}` groups and
//! inline paths; comments and string literals are ignored) is an edge from the file's top-level
//! module to `x`. A strongly connected component of more than one module is a cycle; the test
//! prints one cycle per component with the files behind every edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level modules: `src/<m>.rs` and `src/<m>/` (the crate roots are not modules).
fn top_modules(src: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type().unwrap().is_dir() {
            out.insert(name);
        } else if let Some(stem) = name.strip_suffix(".rs")
            && stem != "lib"
            && stem != "main"
        {
            out.insert(stem.to_string());
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source without comments, string and char literals (so doc text and messages that
/// mention `crate::x` are not edges). Raw strings `r"…"`/`r#"…"#` included.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(c as char);
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            i = j + close.len();
            out.push_str("\"\"");
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{1e}') — or a lifetime ('a), which stays.
            let end = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&x| x == b'\'')
                    .map(|p| i + 2 + p)
            } else if b.get(i + 2) == Some(&b'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(e) => {
                    i = e + 1;
                    out.push_str("' '");
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            // Copy one whole UTF-8 character.
            let len = match c {
                0x00..=0x7f => 1,
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            };
            out.push_str(&src[i..(i + len).min(src.len())]);
            i += len;
        }
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules a file's code names through `crate::`.
fn references(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(pos) = rest.find("crate::") {
        // `crate` must be its own word (not `mycrate::`).
        let before = rest[..pos].chars().next_back();
        rest = &rest[pos + "crate::".len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let after = rest.trim_start();
        if let Some(group) = after.strip_prefix('{') {
            // `crate::{a, b::c, d::{e, f}}`: the first segment of every top-level item.
            let mut depth = 0;
            let mut item_start = true;
            for (i, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_ascii_alphabetic() || c == '_') => {
                        out.insert(ident_at(&group[i..]).to_string());
                        item_start = false;
                    }
                    c if c.is_whitespace() => {}
                    _ => item_start = false,
                }
            }
        } else {
            let id = ident_at(after);
            if !id.is_empty() {
                out.insert(id.to_string());
            }
        }
    }
    out
}

fn module_graph() -> (BTreeSet<String>, Graph) {
    let src = src_dir();
    let mods = top_modules(&src);
    let mut files = vec![];
    rust_files(&src, &mut files);
    files.sort();
    let mut g: Graph = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        let first = rel.split('/').next().unwrap();
        let from = first.strip_suffix(".rs").unwrap_or(first).to_string();
        if !mods.contains(&from) {
            continue; // lib.rs, main.rs
        }
        let code = code_only(&std::fs::read_to_string(&f).unwrap());
        for to in references(&code) {
            if to != from && mods.contains(&to) {
                g.entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .insert(rel.clone());
            }
        }
    }
    (mods, g)
}

/// Strongly connected components (Tarjan), each sorted; only those of two or more modules.
fn cycles(mods: &BTreeSet<String>, g: &Graph) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a Graph,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on: BTreeSet<String>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit(t: &mut T, v: &str) {
        t.index.insert(v.to_string(), t.next);
        t.low.insert(v.to_string(), t.next);
        t.next += 1;
        t.stack.push(v.to_string());
        t.on.insert(v.to_string());
        let succ: Vec<String> =
            t.g.get(v)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
        for w in succ {
            if !t.index.contains_key(&w) {
                visit(t, &w);
                let lw = t.low[&w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(&w) {
                let iw = t.index[&w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = vec![];
            loop {
                let w = t.stack.pop().unwrap();
                t.on.remove(&w);
                let done = w == v;
                comp.push(w);
                if done {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: vec![],
        on: BTreeSet::new(),
        next: 0,
        out: vec![],
    };
    for m in mods {
        if !t.index.contains_key(m) {
            visit(&mut t, m);
        }
    }
    t.out
}

/// One concrete cycle through `comp` starting at its first module (breadth-first back to it).
fn one_cycle(comp: &[String], g: &Graph) -> Vec<String> {
    let inside: BTreeSet<&String> = comp.iter().collect();
    let start = &comp[0];
    let mut prev: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.clone()]);
    while let Some(v) = queue.pop_front() {
        for w in g.get(&v).map(|m| m.keys()).into_iter().flatten() {
            if !inside.contains(w) {
                continue;
            }
            if w == start {
                // start → … → v, then back to start.
                let mut path = vec![v.clone()];
                let mut cur = v.clone();
                while &cur != start {
                    cur = prev[&cur].clone();
                    path.push(cur.clone());
                }
                path.reverse();
                path.push(start.clone());
                return path;
            }
            if !prev.contains_key(w) {
                prev.insert(w.clone(), v.clone());
                queue.push_back(w.clone());
            }
        }
    }
    comp.to_vec()
}

fn describe(cycle: &[String], g: &Graph) -> String {
    let mut s = cycle.join(" → ");
    for w in cycle.windows(2) {
        let files = &g[&w[0]][&w[1]];
        s.push_str(&format!(
            "\n    {} → {}: {}",
            w[0],
            w[1],
            files.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    s
}

#[test]
fn no_import_cycles_between_top_level_modules() {
    let (mods, g) = module_graph();
    assert!(
        mods.contains("session") && mods.contains("proto"),
        "{mods:?}"
    );
    let found: Vec<String> = cycles(&mods, &g)
        .iter()
        .map(|c| describe(&one_cycle(c, &g), &g))
        .collect();
    assert!(
        found.is_empty(),
        "import cycles between top-level modules of src/:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_domain_knows_no_ui_server_or_client() {
    let (_, g) = module_graph();
    let uses = |m: &str| -> BTreeSet<String> {
        g.get(m)
            .map(|e| e.keys().cloned().collect())
            .unwrap_or_default()
    };
    for m in [
        "project",
        "session",
        "belief",
        "layer",
        "git",
        "scry",
        "secrets",
        "transcript",
        "agent",
    ] {
        let bad: Vec<String> = uses(m)
            .into_iter()
            .filter(|t| {
                ["tui", "serve", "commands", "cli", "backend", "client"].contains(&t.as_str())
            })
            .collect();
        assert!(bad.is_empty(), "{m} (domain) uses {bad:?}: {:?}", g.get(m));
    }
}

/// libgit2 is an implementation detail of `git/`: everyone else asks `git::` (one place to
/// cross-check against the git CLI, one place that knows git2's error codes).
#[test]
fn git2_is_used_only_inside_git() {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let git_dir = src.join("git");
    let offenders: Vec<String> = files
        .iter()
        .filter(|p| !p.starts_with(&git_dir))
        .filter(|p| {
            let code = code_only(&std::fs::read_to_string(p).unwrap());
            code.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|w| w == "git2")
        })
        .map(|p| p.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert!(
        files.len() > 20,
        "found only {} files under src/",
        files.len()
    );
    assert!(
        offenders.is_empty(),
        "git2 used outside src/git/: {offenders:?}"
    );
}

/// The checker itself: a planted cycle is found and printed with its files.
#[test]
fn the_checker_finds_a_planted_cycle() {
    let code = code_only(
        "use crate::{b::X, c};\n// use crate::zzz;\nlet s = \"crate::yyy\";\nfn f() { crate::d::g() }",
    );
    assert_eq!(
        references(&code),
        ["b", "c", "d"].iter().map(|s| s.to_string()).collect()
    );
    let mut g: Graph = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        g.entry(a.into())
            .or_default()
            .entry(b.into())
            .or_default()
            .insert(format!("{a}/mod.rs"));
    }
    let mods: BTreeSet<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
    let found = cycles(&mods, &g);
    assert_eq!(found, vec![vec!["a", "b", "c"]]);
    let text = describe(&one_cycle(&found[0], &g), &g);
    assert!(text.starts_with("a → b → c → a"), "{text}");
    assert!(text.contains("c → a: c/mod.rs"), "{text}");
}
