//! `patina mcp` driven by a real MCP client we did not write: the Python `mcp` SDK from PyPI
//! (installed into `target/mcp-py` by scripts/test), over stdio, through the real binary:
//! initialize, tools/list, every tool's call, bad arguments — and the end-to-end case the agent
//! needs: find a decision (a belief) through scry, capture a belief, both visible to the CLI.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Env;
use serde_json::{Value, json};

/// Where scripts/test installs the client (`PATINA_MCP_PY` overrides).
fn mcp_py() -> Option<PathBuf> {
    let dir = std::env::var_os("PATINA_MCP_PY")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mcp-py"));
    if dir.join("mcp").is_dir() {
        return Some(dir);
    }
    let why = format!(
        "the Python MCP client is not installed in {} (scripts/test installs it)",
        dir.display()
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

/// Run the client with `calls` against `patina mcp` started in `cwd`; returns its report.
fn drive(env: &Env, py: &Path, cwd: &Path, calls: Value) -> Value {
    let mut server_env = json!({
        "PATINA_HOME": env.patina_home(),
        "XDG_CONFIG_HOME": env.xdg(),
        "HOME": env.home(),
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": std::env::var("PATH").unwrap_or_default(),
    });
    // No model variables: scry answers lexically here (the daemon's hot model is tested in
    // tests/scry.rs); the tools' contract is the same.
    server_env["PATINA_LOG"] = json!("debug");
    let plan = json!({
        "command": env!("CARGO_BIN_EXE_patina"),
        "args": ["mcp"],
        "cwd": cwd,
        "env": server_env,
        "calls": calls,
    });
    let plan_path = env.root.path().join("plan.json");
    std::fs::write(&plan_path, plan.to_string()).unwrap();
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_client.py"))
        .arg(&plan_path)
        .env("PYTHONPATH", py)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "MCP client failed:\nstdout: {}\nstderr: {}",
        common::stdout(&out),
        common::stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "client printed no JSON ({e}):\n{}\n{}",
            common::stdout(&out),
            common::stderr(&out)
        )
    })
}

fn call(report: &Value, i: usize) -> &Value {
    &report["calls"][i]
}

fn ok_json(report: &Value, i: usize) -> Value {
    let c = call(report, i);
    assert_eq!(c["is_error"], json!(false), "call {i} failed: {c}");
    serde_json::from_str(c["text"].as_str().unwrap()).unwrap()
}

/// The message the CLI prints for the same refusal (`error: <message>` on stderr).
fn cli_error(env: &Env, cwd: &Path, args: &[&str]) -> String {
    let out = env.patina(cwd, args);
    assert!(!out.status.success(), "{args:?} should fail");
    common::stderr(&out)
        .trim()
        .strip_prefix("error: ")
        .unwrap()
        .to_string()
}

#[test]
fn agent_finds_a_decision_and_captures_a_belief_over_mcp() {
    let Some(py) = mcp_py() else { return };
    let env = Env::new();
    let root = env.project("app");
    env.ok(&root, &["session", "start", "storage hardening"]);
    env.ok(
        &root,
        &[
            "belief",
            "new",
            "--id",
            "atomic-writes-everywhere",
            "--statement",
            "Every durable write goes through a temp file, fsync and rename",
            "--evidence",
            "a crash mid-write truncated the vault",
        ],
    );
    let calls = json!([
        {"name": "session_status"},
        {"name": "scry", "arguments": {"query": "durable write temp file fsync rename", "kinds": ["belief"], "limit": 5}},
        {"name": "context", "arguments": {"topic": "durable write fsync"}},
        {"name": "session_note", "arguments": {"text": "found the atomic-write decision through MCP scry"}},
        {"name": "belief_capture", "arguments": {
            "id": "lock-before-read-modify-write",
            "statement": "Take the file lock before reading state that will be written back",
            "evidence": ["two hooks raced on the agent state file"],
            "supports": ["atomic-writes-everywhere"]}},
        {"name": "belief_show", "arguments": {"id": "lock-before-read-modify-write"}},
        {"name": "scry", "arguments": {"query": "x", "limit": 0}},
        {"name": "belief_capture", "arguments": {"id": "Bad Id", "statement": "s"}},
        {"name": "belief_capture", "arguments": {"id": "atomic-writes-everywhere", "statement": "again"}},
        {"name": "belief_capture", "arguments": {"id": "dangles", "statement": "s", "supports": ["no-such-belief"]}},
        {"name": "belief_show", "arguments": {"id": "missing-one"}},
        {"name": "scry", "arguments": {"limit": 3}},
        {"name": "scry", "arguments": {"query": "x", "kinds": ["nonsense"]}},
        {"name": "scry", "arguments": {"query": "atomic", "scope": "all"}}
    ]);
    let r = drive(&env, &py, &root, calls);

    // initialize + tools/list
    assert_eq!(r["server"]["name"], "patina");
    assert_eq!(r["server"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(r["instructions"].as_str().unwrap().contains("scry"));
    let names: Vec<&str> = r["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for t in [
        "scry",
        "context",
        "session_status",
        "session_note",
        "belief_capture",
        "belief_show",
    ] {
        assert!(names.contains(&t), "{t} missing from {names:?}");
    }
    let scry_tool = r["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "scry")
        .unwrap();
    assert_eq!(scry_tool["input_schema"]["required"], json!(["query"]));
    assert!(scry_tool["input_schema"]["properties"]["scope"].is_object());

    // session_status
    let st = ok_json(&r, 0);
    assert_eq!(st["active"], true);
    assert_eq!(st["title"], "storage hardening");

    // scry finds the decision: path:line, title, snippet, kind
    let hits = ok_json(&r, 1);
    let first = &hits["results"][0];
    assert_eq!(first["kind"], "belief");
    let loc = first["location"].as_str().unwrap();
    assert!(
        loc.starts_with("layer/surface/epistemic/beliefs/atomic-writes-everywhere.md:"),
        "{loc}"
    );
    assert!(first["snippet"].as_str().unwrap().contains("fsync"));
    assert!(!first["title"].as_str().unwrap().is_empty());

    // context: the belief, the active session, bounded
    let ctx = ok_json(&r, 2);
    assert_eq!(ctx["beliefs"][0]["id"], "atomic-writes-everywhere");
    assert_eq!(ctx["active_session"]["title"], "storage hardening");
    assert!(call(&r, 2)["text"].as_str().unwrap().len() <= patina::mcp::CONTEXT_MAX_BYTES + 4096);

    // session_note landed in the active session (read back through the CLI)
    ok_json(&r, 3);
    let active = std::fs::read_to_string(root.join(".patina/local/active-session.md")).unwrap();
    assert!(active.contains("found the atomic-write decision through MCP scry"));

    // belief_capture wrote a valid, linked belief; belief_show reads it
    let created = ok_json(&r, 4);
    assert_eq!(created["belief"]["id"], "lock-before-read-modify-write");
    assert!(created["session"].is_string(), "linked to the session");
    let shown = ok_json(&r, 5);
    assert_eq!(
        shown["statement"],
        "Take the file lock before reading state that will be written back"
    );
    let cli = env.json(&root, &["belief", "show", "lock-before-read-modify-write"]);
    assert_eq!(cli["statement"], shown["statement"]);
    env.ok(&root, &["belief", "check"]);

    // refusals are tool errors with the CLI's own messages
    let cases: [(usize, &[&str]); 5] = [
        (6, &["scry", "x", "--limit", "0"]),
        (7, &["belief", "new", "--id", "Bad Id", "--statement", "s"]),
        (
            8,
            &[
                "belief",
                "new",
                "--id",
                "atomic-writes-everywhere",
                "--statement",
                "again",
            ],
        ),
        (
            9,
            &[
                "belief",
                "new",
                "--id",
                "dangles",
                "--statement",
                "s",
                "--supports",
                "no-such-belief",
            ],
        ),
        (10, &["belief", "show", "missing-one"]),
    ];
    for (i, args) in cases {
        let c = call(&r, i);
        assert_eq!(c["is_error"], true, "call {i}: {c}");
        assert_eq!(
            c["text"].as_str().unwrap(),
            cli_error(&env, &root, args),
            "call {i}"
        );
    }
    assert!(
        !root
            .join("layer/surface/epistemic/beliefs/dangles.md")
            .exists()
    );
    // A missing required argument is refused by the protocol layer, naming the field.
    let missing = call(&r, 11);
    let text = missing["protocol_error"]
        .as_str()
        .or(missing["text"].as_str())
        .unwrap();
    assert!(text.contains("query"), "{missing}");
    let bad_kind = call(&r, 12);
    assert_eq!(bad_kind["is_error"], true);
    assert!(bad_kind["text"].as_str().unwrap().contains("nonsense"));
    // scope all: no registry yet, so only this project answers, with its source named.
    let all = ok_json(&r, 13);
    assert!(
        all["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["source"].is_string())
    );

    // stdout is the protocol: the server logged to the log file instead.
    let log = std::fs::read_to_string(env.patina_home().join("logs/patina.log")).unwrap();
    assert!(log.contains("mcp server starting"));
}

#[test]
fn outside_a_project_tools_say_what_the_cli_says() {
    let Some(py) = mcp_py() else { return };
    let env = Env::new();
    let plain = env.work().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let r = drive(
        &env,
        &py,
        &plain,
        json!([{"name": "session_status"}, {"name": "session_note", "arguments": {"text": "hi"}}]),
    );
    let expected = cli_error(&env, &plain, &["session", "status"]);
    for i in 0..2 {
        assert_eq!(call(&r, i)["is_error"], true);
        assert_eq!(call(&r, i)["text"].as_str().unwrap(), expected);
    }
}
