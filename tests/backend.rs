//! The one `Backend` (src/backend/): the daemon and this process give the same answers, the CLI
//! says which one answered, and the fallback rule (daemon first, in-process when it does not
//! answer; a verdict on the request is the answer) is reported. A real daemon on a temp
//! `PATINA_HOME` socket, also asked with `curl --unix-socket`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Env, stderr};
use patina::backend::{Auto, Backend, BackendKind, Daemon, InProcess};
use patina::client::Client;
use patina::proto::scry::ScryRequest;
use serde_json::Value;

/// Stops the daemon a test started (through its own CLI, never by name).
struct Running<'a>(&'a Env);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let _ = self.0.cmd(&self.0.work()).args(["serve", "stop"]).output();
    }
}

fn start_daemon(env: &Env) -> Running<'_> {
    let out = env.patina(&env.work(), &["serve", "--background"]);
    assert!(out.status.success(), "{}", stderr(&out));
    Running(env)
}

fn socket(env: &Env) -> PathBuf {
    env.patina_home().join("run/serve.sock")
}

/// A project with something to find, and an active session with a goal and a note.
fn project(env: &Env) -> PathBuf {
    let p = env.project("alpha");
    env.commit_file(
        &p,
        "src/sock.rs",
        "/// Remove a stale socket only when connect is refused.\nfn remove_stale_socket() {}\n",
        "sockets: remove stale ones only when connect is refused",
    );
    env.ok(&p, &["session", "start", "stale sockets"]);
    env.ok(&p, &["session", "goal", "add", "document the rule"]);
    env.ok(&p, &["session", "note", "connect first, unlink after"]);
    p.canonicalize().unwrap()
}

/// The answer without what differs between two runs of the same query.
fn comparable(mut v: Value) -> Value {
    let o = v.as_object_mut().unwrap();
    for k in ["query_id", "took_ms", "backend", "fallback"] {
        o.remove(k);
    }
    v
}

fn curl(sock: &Path, url: &str) -> Value {
    let out = Command::new("curl")
        .arg("-sf")
        .arg("--unix-socket")
        .arg(sock)
        .arg(url)
        .output()
        .unwrap();
    assert!(out.status.success(), "curl {url}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A test env whose federated per-source deadline is generous (a loaded machine may take
/// seconds to build a first index).
fn env() -> Env {
    let env = Env::new();
    let dir = env.xdg().join("patina");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), "[mother]\ntimeout_ms = 60000\n").unwrap();
    env
}

#[test]
fn scry_answers_the_same_through_both_backends_and_says_which_answered() {
    let env = env();
    let p = project(&env);
    let q = ["scry", "stale socket connect refused"];

    // No daemon: in-process, and the fallback says why.
    let fell_back = env.json(&p, &q);
    assert_eq!(fell_back["backend"], "in-process", "{fell_back}");
    let why = fell_back["fallback"].as_str().unwrap();
    assert!(why.contains("daemon not running"), "{why}");
    // --no-daemon: in-process by choice, no fallback to report.
    let local = env.json(&p, &[q[0], q[1], "--no-daemon"]);
    assert_eq!(local["backend"], "in-process");
    assert!(local.get("fallback").is_none(), "{local}");
    assert!(!local["results"].as_array().unwrap().is_empty(), "{local}");

    let _d = start_daemon(&env);
    let remote = env.json(&p, &q);
    assert_eq!(remote["backend"], "daemon", "{remote}");
    assert!(remote.get("fallback").is_none(), "{remote}");
    assert_eq!(comparable(local.clone()), comparable(remote.clone()));
    assert_eq!(comparable(fell_back), comparable(remote));

    // Federated: the same rule and the same report.
    let all_local = env.json(&p, &[q[0], q[1], "--all", "--no-daemon"]);
    let all_remote = env.json(&p, &[q[0], q[1], "--all"]);
    assert_eq!(all_local["backend"], "in-process");
    assert_eq!(all_remote["backend"], "daemon");
    assert_eq!(all_remote["scope"], "all");
    let hits = |v: &Value| -> Vec<Value> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["doc_id"].clone())
            .collect()
    };
    assert_eq!(hits(&all_local), hits(&all_remote));
    assert!(!hits(&all_remote).is_empty(), "{all_remote}");
}

#[test]
fn session_status_is_one_typed_answer_through_both_backends_and_curl() {
    if !common::require_tool("curl") {
        return;
    }
    let env = Env::new();
    let p = project(&env);
    let _d = start_daemon(&env);
    let sock = socket(&env);

    let daemon = Daemon::with_client(Client::unix(&sock));
    let local = InProcess::default();
    let by_daemon = daemon.session_status(&p).unwrap();
    let in_process = local.session_status(&p).unwrap();
    assert_eq!(by_daemon.backend, BackendKind::Daemon);
    assert_eq!(in_process.backend, BackendKind::InProcess);
    let (mut a, mut b) = (by_daemon.answer, in_process.answer);
    // Seconds since the last activity tick on between the two calls.
    assert!(a.idle_seconds.is_some());
    (a.idle_seconds, b.idle_seconds) = (None, None);
    assert_eq!(a, b);
    assert!(a.active);
    assert_eq!(a.title.as_deref(), Some("stale sockets"));
    assert!(
        a.goals
            .iter()
            .any(|g| g.text == "document the rule" && !g.done),
        "{:?}",
        a.goals
    );

    // The wire document is the CLI's document.
    let root = p.to_str().unwrap();
    let mut wire = curl(
        &sock,
        &format!("http://localhost/api/session?project={root}"),
    );
    let mut cli = env.json(&p, &["session", "status"]);
    for v in [&mut wire, &mut cli] {
        v.as_object_mut().unwrap().remove("idle_seconds");
    }
    assert_eq!(wire, cli);
}

#[test]
fn the_fallback_rule_lives_in_auto_and_a_verdict_is_never_retried_in_process() {
    let env = Env::new();
    let p = project(&env);
    let nobody = env.patina_home().join("run/nobody.sock");
    let req = ScryRequest {
        project: p.to_string_lossy().into_owned(),
        query: "stale socket".into(),
        limit: Some(3),
        kinds: vec![],
        refresh: true,
    };

    // Nothing listens: in-process, and the answer says so.
    let auto = Auto::new(
        Daemon::with_client(Client::unix(&nobody)),
        InProcess::default(),
    );
    let a = auto.scry(&req).unwrap();
    assert_eq!(a.backend, BackendKind::InProcess);
    assert!(
        a.fallback
            .as_deref()
            .unwrap()
            .contains("daemon not running"),
        "{:?}",
        a.fallback
    );
    let st = auto.session_status(&p).unwrap();
    assert_eq!(st.backend, BackendKind::InProcess);
    assert!(st.answer.active);

    // A daemon that answers: it answers, and its 4xx verdicts are the answer (usage, exit 2),
    // not a reason to try again here.
    let _d = start_daemon(&env);
    let auto = Auto::new(
        Daemon::with_client(Client::unix(&socket(&env))),
        InProcess::default(),
    );
    let a = auto.scry(&req).unwrap();
    assert_eq!(a.backend, BackendKind::Daemon);
    assert!(a.fallback.is_none());
    let bad = ScryRequest {
        limit: Some(5000),
        ..req.clone()
    };
    let err = auto.scry(&bad).unwrap_err();
    assert_eq!(
        patina::error::kind_of(&err),
        patina::error::ErrorKind::Usage,
        "{err:#}"
    );

    // Through the binary: a bad limit is exit 2 with the daemon up, as without it.
    let out = env.patina(&p, &["scry", "x", "--limit", "5000", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
