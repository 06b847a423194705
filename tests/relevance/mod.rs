//! Relevance evaluation shared by tests/scry.rs and benches/scry_relevance.rs: a labelled set of
//! paraphrase queries over a fixture project, scored as recall@3 and MRR for the semantic source,
//! the lexical source and the hybrid (RRF) ranking, at the document level (a document's first
//! chunk in a ranking counts; commits are identified by their subject).
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use patina::project::Project;
use patina::scry::{Hit, Kind, Query, Scry};

#[derive(Debug, serde::Deserialize)]
pub struct Labelled {
    pub q: String,
    /// Paths relative to the root, or `commit:<subject prefix>`.
    pub expect: Vec<String>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Score {
    pub recall3: f64,
    pub mrr: f64,
}

#[derive(Debug, Default)]
pub struct Report {
    pub queries: usize,
    pub semantic: Score,
    pub lexical: Score,
    pub hybrid: Score,
    /// Queries the hybrid ranking missed in its top 3, for reading.
    pub misses: Vec<String>,
}

pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Fixture")
        .env("GIT_AUTHOR_EMAIL", "fixture@example.com")
        .env("GIT_COMMITTER_NAME", "Fixture")
        .env("GIT_COMMITTER_EMAIL", "fixture@example.com")
        .args(args)
        .output()
        .expect("running git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap().flatten() {
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

/// Lay the fixture project out in `dst` as a git repo whose history carries commits.txt.
pub fn setup_fixture(dst: &Path) {
    let src = manifest_dir().join("tests/fixtures/scry-relevance");
    copy_dir(&src, dst);
    let commits = std::fs::read_to_string(dst.join("commits.txt")).unwrap();
    std::fs::remove_file(dst.join("commits.txt")).unwrap();
    std::fs::write(dst.join(".gitignore"), ".patina/local/\n").unwrap();
    git(dst, &["init", "-q", "-b", "main"]);
    git(dst, &["add", "-A"]);
    git(dst, &["commit", "-q", "-m", "Lay out the fixture project"]);
    for line in commits.lines().filter(|l| !l.trim().is_empty()) {
        git(dst, &["commit", "-q", "--allow-empty", "-m", line]);
    }
}

pub fn load_queries(path: &Path) -> Vec<Labelled> {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn key(h: &Hit) -> String {
    if h.kind == Kind::Commit {
        format!("commit:{}", h.title)
    } else {
        h.path.clone()
    }
}

fn relevant(k: &str, expect: &[String]) -> bool {
    expect.iter().any(|e| {
        if e.starts_with("commit:") {
            k.starts_with(e.as_str())
        } else {
            k == e
        }
    })
}

/// 1-based rank of the first relevant document, documents deduplicated.
fn first_rank(hits: &[Hit], expect: &[String]) -> Option<usize> {
    let mut seen: Vec<String> = vec![];
    for h in hits {
        let k = key(h);
        if seen.contains(&k) {
            continue;
        }
        seen.push(k.clone());
        if relevant(&k, expect) {
            return Some(seen.len());
        }
    }
    None
}

fn add(s: &mut Score, rank: Option<usize>) {
    if let Some(r) = rank {
        if r <= 3 {
            s.recall3 += 1.0;
        }
        s.mrr += 1.0 / r as f64;
    }
}

/// Score every labelled query (the index must be built).
pub fn evaluate(engine: &Scry, project: &Project, queries: &[Labelled]) -> Report {
    let mut r = Report {
        queries: queries.len(),
        ..Default::default()
    };
    for l in queries {
        let rk = engine
            .rankings(project, &Query::new(&l.q), pool())
            .expect("rankings");
        assert!(rk.errors.is_empty(), "{:?}", rk.errors);
        add(&mut r.semantic, first_rank(&rk.semantic, &l.expect));
        add(&mut r.lexical, first_rank(&rk.lexical, &l.expect));
        let h = first_rank(&rk.hybrid, &l.expect);
        if !matches!(h, Some(1..=3)) {
            r.misses.push(format!("{} (hybrid rank {h:?})", l.q));
        }
        add(&mut r.hybrid, h);
    }
    let n = queries.len().max(1) as f64;
    for s in [&mut r.semantic, &mut r.lexical, &mut r.hybrid] {
        s.recall3 /= n;
        s.mrr /= n;
    }
    r
}

/// Markdown table of a report.
pub fn table(name: &str, r: &Report) -> String {
    let mut t = format!(
        "{name} ({} queries)\n\n| ranking | recall@3 | MRR |\n|---|---|---|\n",
        r.queries
    );
    for (label, s) in [
        ("lexical (BM25)", r.lexical),
        ("vector (MiniLM)", r.semantic),
        ("hybrid (RRF k=60)", r.hybrid),
    ] {
        t.push_str(&format!("| {label} | {:.3} | {:.3} |\n", s.recall3, s.mrr));
    }
    t
}

/// Candidates per source (SCRY_EVAL_POOL overrides, for experiments).
fn pool() -> usize {
    std::env::var("SCRY_EVAL_POOL")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50)
}
