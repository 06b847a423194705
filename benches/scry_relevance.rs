//! Relevance of scry's rankings: recall@3 and MRR of lexical-only, vector-only and hybrid (RRF)
//! over (1) the fixture project with its labelled paraphrase queries and (2) the patina 0.11
//! corpus (../shared/corpus, or PATINA_CORPUS) with benches/scry-corpus-queries.json.
//!
//!   cargo bench --bench scry_relevance
//!
//! Needs the model (PATINA_ORT_DYLIB / PATINA_EMBED_MODEL / PATINA_EMBED_TOKENIZER, as scripts/test
//! exports them). The corpus index is kept in target/scry-bench/ so reruns only re-embed changes.

#[path = "../tests/relevance/mod.rs"]
mod relevance;

use std::path::{Path, PathBuf};

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

    // 1. Fixture.
    let dir = tempfile::tempdir().unwrap();
    relevance::setup_fixture(dir.path());
    let project = Project::open(dir.path()).unwrap();
    engine.index(&project, false, &mut |_| {}).unwrap();
    let queries = relevance::load_queries(&root.join("tests/fixtures/scry-relevance-queries.json"));
    let r = relevance::evaluate(&engine, &project, &queries);
    println!(
        "{}",
        relevance::table("Fixture project (tests/fixtures/scry-relevance)", &r)
    );
    println!("hybrid misses: {:?}\n", r.misses);

    // 2. The patina 0.11 corpus.
    let corpus = std::env::var_os("PATINA_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/corpus/patina-0.11"));
    let corpus = if corpus.is_dir() {
        corpus
    } else {
        Path::new("/work/shared/corpus/patina-0.11").to_path_buf()
    };
    if !corpus.is_dir() {
        println!("(corpus not found; set PATINA_CORPUS)");
        return;
    }
    let work = root.join("target/scry-bench/corpus");
    sync_corpus(&corpus, &work);
    let project = Project::open(&work).unwrap();
    let t = std::time::Instant::now();
    let rep = engine
        .index(&project, false, &mut |p| {
            if let patina::scry::Phase::Embedding { done, total } = p
                && done % 256 == 0
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
    let r = relevance::evaluate(&engine, &project, &queries);
    println!(
        "{}",
        relevance::table(&format!("patina 0.11 corpus ({} chunks)", rep.chunks), &r)
    );
    println!("hybrid misses: {:?}", r.misses);
}

/// Copy the corpus into a patina project dir (once; the copy keeps its index between runs).
fn sync_corpus(src: &Path, dst: &Path) {
    if dst.join(".patina/config.toml").is_file() {
        return;
    }
    std::fs::create_dir_all(dst.join(".patina")).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(src.join("layer"))
        .arg(dst)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(
        dst.join(".patina/config.toml"),
        "[project]\nsessions_dir = \"layer/sessions\"\n",
    )
    .unwrap();
}
