//! Relevance evaluation shared by tests/scry.rs and benches/scry_relevance.rs: a labelled set of
//! paraphrase queries over a fixture project (and the bench corpus's set), scored as recall@1,
//! recall@5 and MRR for the semantic source, the lexical source and the hybrid (RRF) ranking, per
//! target kind and overall, at the document level (a document's first chunk in a ranking counts;
//! commits are identified by their subject).
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

/// The kinds a labelled query can target, in table order.
pub const KINDS: [&str; 5] = ["belief", "layer", "session", "code", "commit"];

/// Sums while scoring, fractions of the queries once [`Report`] is finished.
#[derive(Debug, Default, Clone, Copy)]
pub struct Score {
    pub recall1: f64,
    pub recall5: f64,
    pub mrr: f64,
}

/// Semantic, lexical and hybrid scores over one group of queries.
#[derive(Debug, Default, Clone, Copy)]
pub struct Scores {
    pub queries: usize,
    pub semantic: Score,
    pub lexical: Score,
    pub hybrid: Score,
    /// Another ranking scored on the same queries (e.g. the binary of an earlier revision).
    pub before: Option<Score>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub queries: usize,
    pub semantic: Score,
    pub lexical: Score,
    pub hybrid: Score,
    /// Per target kind (derived from the first expected target), in [`KINDS`] order; kinds
    /// without a query are left out.
    pub by_kind: Vec<(&'static str, Scores)>,
    /// The "before" ranking over all queries, when one was attached ([`set_before`]).
    pub before: Option<Score>,
    /// What the "before" ranking is (e.g. "bdb6070"), for the table's header.
    pub before_label: String,
    /// Queries the hybrid ranking missed in its top 5, for reading.
    pub misses: Vec<String>,
}

impl Report {
    /// The per-kind rows followed by the row over all queries (named "all").
    pub fn rows(&self) -> Vec<(&'static str, Scores)> {
        let mut rows = self.by_kind.clone();
        rows.push((
            "all",
            Scores {
                queries: self.queries,
                semantic: self.semantic,
                lexical: self.lexical,
                hybrid: self.hybrid,
                before: self.before,
            },
        ));
        rows
    }
}

/// The kind of document a labelled target is: the corpus rules (sessions under `sessions/` or
/// `layer/sessions/`, beliefs under `…/epistemic/beliefs/`, other `layer/` files are layer docs,
/// `commit:` a commit, anything else code).
pub fn kind_of(target: &str) -> &'static str {
    if target.starts_with("commit:") {
        "commit"
    } else if target.starts_with("sessions/") || target.starts_with("layer/sessions/") {
        "session"
    } else if target.contains("/epistemic/beliefs/") {
        "belief"
    } else if target.starts_with("layer/") {
        "layer"
    } else {
        "code"
    }
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

/// 1-based rank of the first relevant document among `keys` (document keys best first,
/// duplicates counted once: a document's first chunk is its rank).
pub fn first_rank_of_keys<S: AsRef<str>>(keys: &[S], expect: &[String]) -> Option<usize> {
    let mut seen: Vec<&str> = vec![];
    for k in keys {
        let k = k.as_ref();
        if seen.contains(&k) {
            continue;
        }
        seen.push(k);
        if relevant(k, expect) {
            return Some(seen.len());
        }
    }
    None
}

fn first_rank(hits: &[Hit], expect: &[String]) -> Option<usize> {
    first_rank_of_keys(&hits.iter().map(key).collect::<Vec<_>>(), expect)
}

fn add(s: &mut Score, rank: Option<usize>) {
    if let Some(r) = rank {
        if r <= 1 {
            s.recall1 += 1.0;
        }
        if r <= 5 {
            s.recall5 += 1.0;
        }
        s.mrr += 1.0 / r as f64;
    }
}

fn mean(s: &mut Score, n: usize) {
    let n = n.max(1) as f64;
    s.recall1 /= n;
    s.recall5 /= n;
    s.mrr /= n;
}

/// Ranks of the first relevant document per query: (semantic, lexical, hybrid).
type Ranks = (Option<usize>, Option<usize>, Option<usize>);

/// Score every labelled query (the index must be built).
pub fn evaluate(engine: &Scry, project: &Project, queries: &[Labelled]) -> Report {
    let ranks: Vec<Ranks> = queries
        .iter()
        .map(|l| {
            let rk = engine
                .rankings(project, &Query::new(&l.q), pool())
                .expect("rankings");
            assert!(rk.errors.is_empty(), "{:?}", rk.errors);
            // SCRY_EVAL_DEBUG=1: every ranking's top documents, for reading a regression.
            if std::env::var_os("SCRY_EVAL_DEBUG").is_some() {
                let top = |hits: &[Hit]| {
                    let mut keys: Vec<String> = vec![];
                    for h in hits {
                        let k = key(h);
                        if !keys.contains(&k) && keys.len() < 5 {
                            keys.push(k);
                        }
                    }
                    keys
                };
                eprintln!(
                    "{} → {:?}\n  lexical {:?}\n  semantic {:?}\n  hybrid {:?}",
                    l.q,
                    l.expect,
                    top(&rk.lexical),
                    top(&rk.semantic),
                    top(&rk.hybrid)
                );
            }
            // SCRY_EVAL_DUMP=FILE: each query's source rankings with their scores, one JSON
            // line per query, for studying fusion functions offline.
            if let Some(path) = std::env::var_os("SCRY_EVAL_DUMP") {
                let list = |hits: &[Hit]| -> Vec<(String, String, f64)> {
                    hits.iter()
                        .map(|h| (key(h), h.doc_id.clone(), h.score))
                        .collect()
                };
                let line = serde_json::json!({
                    "q": l.q,
                    "expect": l.expect,
                    "kind": kind_of(l.expect.first().map_or("", String::as_str)),
                    "semantic": list(&rk.semantic),
                    "lexical": list(&rk.lexical),
                    "lexical_fused": list(&rk.lexical_fused),
                    "hybrid": list(&rk.hybrid),
                });
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .unwrap();
                writeln!(f, "{line}").unwrap();
            }
            (
                first_rank(&rk.semantic, &l.expect),
                first_rank(&rk.lexical, &l.expect),
                first_rank(&rk.hybrid, &l.expect),
            )
        })
        .collect();
    report(queries, &ranks)
}

fn report(queries: &[Labelled], ranks: &[Ranks]) -> Report {
    let mut r = Report {
        queries: queries.len(),
        ..Default::default()
    };
    let mut by_kind: Vec<(&'static str, Scores)> =
        KINDS.iter().map(|k| (*k, Scores::default())).collect();
    for (l, &(sem, lex, hyb)) in queries.iter().zip(ranks) {
        add(&mut r.semantic, sem);
        add(&mut r.lexical, lex);
        add(&mut r.hybrid, hyb);
        let k = kind_of(l.expect.first().map_or("", String::as_str));
        let s = &mut by_kind.iter_mut().find(|(n, _)| *n == k).unwrap().1;
        s.queries += 1;
        add(&mut s.semantic, sem);
        add(&mut s.lexical, lex);
        add(&mut s.hybrid, hyb);
        if !matches!(hyb, Some(1..=5)) {
            r.misses.push(format!(
                "[{k}] {} (hybrid {hyb:?}, lexical {lex:?}, semantic {sem:?})",
                l.q
            ));
        }
    }
    for s in [&mut r.semantic, &mut r.lexical, &mut r.hybrid] {
        mean(s, r.queries);
    }
    for (_, s) in &mut by_kind {
        for x in [&mut s.semantic, &mut s.lexical, &mut s.hybrid] {
            mean(x, s.queries);
        }
    }
    by_kind.retain(|(_, s)| s.queries > 0);
    r.by_kind = by_kind;
    r
}

/// Score a ranking produced elsewhere (document keys best first per query: a path, or
/// `commit:<subject>`), per kind in [`KINDS`] order and overall (last, named "all").
pub fn score_keys(queries: &[Labelled], keys: &[Vec<String>]) -> Vec<(&'static str, Score)> {
    let mut out: Vec<(&'static str, Score, usize)> =
        KINDS.iter().map(|k| (*k, Score::default(), 0)).collect();
    out.push(("all", Score::default(), 0));
    for (l, k) in queries.iter().zip(keys) {
        let rank = first_rank_of_keys(k, &l.expect);
        let kind = kind_of(l.expect.first().map_or("", String::as_str));
        for e in out.iter_mut().filter(|e| e.0 == kind || e.0 == "all") {
            add(&mut e.1, rank);
            e.2 += 1;
        }
    }
    out.into_iter()
        .filter(|e| e.2 > 0)
        .map(|(k, mut s, n)| {
            mean(&mut s, n);
            (k, s)
        })
        .collect()
}

/// Attach an earlier ranking's scores (from [`score_keys`]) to the report, as its "before",
/// labelled `label` in the table.
pub fn set_before(r: &mut Report, label: &str, before: &[(&'static str, Score)]) {
    let find = |k: &str| before.iter().find(|(n, _)| *n == k).map(|(_, b)| *b);
    for (k, s) in &mut r.by_kind {
        s.before = find(k);
    }
    r.before = find("all");
    r.before_label = label.to_string();
}

/// Markdown table of a report: one row per kind and one for all queries; R@1 / R@5 / MRR of
/// each ranking (and of the "before" ranking when one was attached).
pub fn table(name: &str, r: &Report) -> String {
    let rows = r.rows();
    let with_before = rows.iter().any(|(_, s)| s.before.is_some());
    let mut t = format!(
        "{name} ({} queries; R@1 / R@5 / MRR, documents deduplicated)\n\n| kind | n |{} lexical (BM25) | vector (MiniLM) | hybrid |\n|---|---|{}---|---|---|\n",
        r.queries,
        if with_before {
            format!(" before ({}) |", r.before_label)
        } else {
            String::new()
        },
        if with_before { "---|" } else { "" },
    );
    let cell = |s: &Score| format!("{:.2} / {:.2} / {:.3}", s.recall1, s.recall5, s.mrr);
    for (k, s) in &rows {
        t.push_str(&format!("| {k} | {} |", s.queries));
        if with_before {
            t.push_str(&format!(
                " {} |",
                s.before.as_ref().map_or("—".into(), cell)
            ));
        }
        t.push_str(&format!(
            " {} | {} | {} |\n",
            cell(&s.lexical),
            cell(&s.semantic),
            cell(&s.hybrid)
        ));
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
