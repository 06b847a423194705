//! Relevance of scry's rankings: recall@1, recall@5 and MRR of lexical-only, vector-only and
//! hybrid (RRF), per target kind and overall, over (1) the fixture project with its labelled
//! paraphrase queries (tests/fixtures/scry-relevance-queries.json) and (2) the bench corpus
//! (benches/scry_corpus.sh: the patina 0.11 layer + this repository's src/, tests/ and history at
//! the pinned rev) with benches/scry-corpus-queries.json.
//!
//!   cargo bench --bench scry_relevance
//!   SCRY_BEFORE_BIN=/path/to/patina-bdb6070 cargo bench --bench scry_relevance
//!
//! With `SCRY_BEFORE_BIN`, the same queries also go through that binary (`patina scry --json
//! --no-daemon --limit 50`, on its own copy of each corpus, its own index), and its hybrid ranking
//! is the "before" column (labelled SCRY_BEFORE_LABEL, else the binary's file name): main when
//! issue 17 started was bdb6070.
//!
//! Needs the model (PATINA_ORT_DYLIB / PATINA_EMBED_MODEL / PATINA_EMBED_TOKENIZER, as scripts/test
//! exports them). The corpus copies live in target/scry-bench/relevance/ so reruns only re-embed
//! changes.

#[path = "../tests/relevance/mod.rs"]
mod relevance;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use patina::project::Project;
use patina::scry::{Options, Scry};

fn main() {
    let engine = Scry::new(Options {
        threads: 2,
        ..Default::default()
    });
    if let Err(e) = engine.embedder() {
        eprintln!("scry_relevance: no model ({e}); set PATINA_EMBED_MODEL etc. (see scripts/test)");
        std::process::exit(1);
    }
    let root = relevance::manifest_dir();
    let work = root.join("target/scry-bench/relevance");
    std::fs::create_dir_all(&work).unwrap();
    let before_bin = std::env::var_os("SCRY_BEFORE_BIN").map(PathBuf::from);
    // What the before column is called: SCRY_BEFORE_LABEL, else the binary's file name.
    let before_label = std::env::var("SCRY_BEFORE_LABEL").unwrap_or_else(|_| {
        before_bin
            .as_ref()
            .and_then(|b| b.file_name())
            .map_or(String::new(), |n| n.to_string_lossy().into_owned())
    });

    // 1. Fixture.
    let dir = tempfile::tempdir().unwrap();
    relevance::setup_fixture(dir.path());
    let project = Project::open(dir.path()).unwrap();
    engine.index(&project, false, &mut |_| {}).unwrap();
    let queries = relevance::load_queries(&root.join("tests/fixtures/scry-relevance-queries.json"));
    let mut r = relevance::evaluate(&engine, &project, &queries);
    if let Some(bin) = &before_bin {
        let old = tempfile::tempdir().unwrap();
        relevance::setup_fixture(old.path());
        // The old CLI finds the project by its `.patina/` (no config: the defaults, as here).
        std::fs::create_dir_all(old.path().join(".patina")).unwrap();
        let keys = before_keys(bin, old.path(), &work, &queries);
        relevance::set_before(
            &mut r,
            &before_label,
            &relevance::score_keys(&queries, &keys),
        );
    }
    println!(
        "{}",
        relevance::table("Fixture project (tests/fixtures/scry-relevance)", &r)
    );
    println!("hybrid misses (not in the top 5): {:#?}\n", r.misses);

    // 2. The bench corpus.
    let corpus = work.join("corpus");
    build_corpus(root, &corpus);
    let project = Project::open(&corpus).unwrap();
    let t = std::time::Instant::now();
    let rep = engine
        .index(&project, false, &mut |p| {
            if let patina::scry::Phase::Embedding { done, total } = p
                && done % 1024 == 0
            {
                eprintln!("embedding corpus {done}/{total}");
            }
        })
        .unwrap();
    eprintln!(
        "corpus index: {} chunks, {} embedded in {:.1}s",
        rep.chunks,
        rep.embedded,
        t.elapsed().as_secs_f64()
    );
    let queries = relevance::load_queries(&root.join("benches/scry-corpus-queries.json"));
    let mut r = relevance::evaluate(&engine, &project, &queries);
    if let Some(bin) = &before_bin {
        let old = work.join("corpus-before");
        build_corpus(root, &old);
        let keys = before_keys(bin, &old, &work, &queries);
        relevance::set_before(
            &mut r,
            &before_label,
            &relevance::score_keys(&queries, &keys),
        );
    }
    println!(
        "{}",
        relevance::table(
            &format!(
                "Bench corpus (benches/scry_corpus.sh: 0.11 layer + src/ tests/ history at bdb6070; {} chunks)",
                rep.chunks
            ),
            &r
        )
    );
    println!("hybrid misses (not in the top 5): {:#?}", r.misses);
}

/// The bench corpus at `dst`, built once (its index is kept between runs).
fn build_corpus(root: &Path, dst: &Path) {
    if dst.join(".patina/config.toml").is_file() {
        return;
    }
    let out = Command::new(root.join("benches/scry_corpus.sh"))
        .arg(dst)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scry_corpus.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Document keys (path, or `commit:<subject>`) of `bin`'s answer to each query, best first:
/// the index built in-process by that binary (`index --no-daemon`), each query one process.
fn before_keys(
    bin: &Path,
    project: &Path,
    work: &Path,
    queries: &[relevance::Labelled],
) -> Vec<Vec<String>> {
    let home = work.join("before-home");
    std::fs::create_dir_all(&home).unwrap();
    let cmd = |args: &[&str]| {
        let out = Command::new(bin)
            .current_dir(project)
            .env("PATINA_HOME", &home)
            .env("XDG_CONFIG_HOME", work.join("before-xdg"))
            .stdin(Stdio::null())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} {args:?}: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let t = std::time::Instant::now();
    let rep = cmd(&["index", "--no-daemon", "--json"]);
    eprintln!(
        "before: {} indexed {} chunks in {:.1}s",
        bin.display(),
        rep["chunks"],
        t.elapsed().as_secs_f64()
    );
    queries
        .iter()
        .map(|l| {
            let a = cmd(&["scry", &l.q, "--limit", "50", "--json", "--no-daemon"]);
            assert_eq!(a["mode"], "hybrid", "{a}");
            a["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    if h["kind"] == "commit" {
                        format!("commit:{}", h["title"].as_str().unwrap_or(""))
                    } else {
                        h["path"].as_str().unwrap_or("").to_string()
                    }
                })
                .collect()
        })
        .collect()
}
