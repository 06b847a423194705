//! The agent's side through the real binary: adapters (`init --llm`, `adapter install`), hooks
//! that really run `patina agent event` the way the agent would, agent state, and the context
//! bundle.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use common::Env;
use serde_json::Value;

const COMMANDS: &[&str] = &[
    "session-start",
    "session-update",
    "session-note",
    "session-end",
    "belief",
];

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn actions(v: &Value) -> Vec<(String, String)> {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn init_llm_claude_writes_commands_and_merges_hooks_idempotently() {
    let env = Env::new();
    let root = env.repo("app");
    // The user already has Claude settings: a permission and a hook of their own.
    std::fs::create_dir_all(root.join(".claude")).unwrap();
    std::fs::write(
        root.join(".claude/settings.json"),
        r#"{"permissions":{"allow":["Bash(ls:*)"]},"hooks":{"Stop":[{"hooks":[{"type":"command","command":"notify-send done"}]}]}}"#,
    )
    .unwrap();
    let v = env.json(&root, &["init", "--llm", "claude"]);
    assert_eq!(v["adapter"]["agent"], "claude");
    assert!(
        v["created"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == ".patina/config.toml")
    );
    let acts = actions(&v["adapter"]);
    for c in COMMANDS {
        assert!(
            acts.contains(&(format!(".claude/commands/{c}.md"), "created".into())),
            "{acts:?}"
        );
    }
    assert!(
        acts.contains(&(".claude/settings.json".into(), "merged".into())),
        "{acts:?}"
    );

    let start = read(&root.join(".claude/commands/session-start.md"));
    assert!(start.starts_with("---\ndescription: "), "{start}");
    assert!(start.contains("$ARGUMENTS"));
    assert!(start.contains("patina session start \"<title>\" --json"));
    assert!(start.contains("patina agent context --json"));
    let note = read(&root.join(".claude/commands/session-note.md"));
    assert!(note.contains("patina session note"), "{note}");

    let settings: Value = serde_json::from_str(&read(&root.join(".claude/settings.json"))).unwrap();
    assert_eq!(
        settings["permissions"]["allow"][0], "Bash(ls:*)",
        "user settings kept"
    );
    let stop = settings["hooks"]["Stop"].as_array().unwrap();
    assert_eq!(
        stop[0]["hooks"][0]["command"], "notify-send done",
        "user hook kept"
    );
    assert_eq!(
        stop[1]["hooks"][0]["command"],
        "patina agent event idle --agent claude"
    );
    assert_eq!(
        settings["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"],
        "patina agent event busy --agent claude"
    );
    assert_eq!(
        settings["hooks"]["UserPromptSubmit"][0]["hooks"][0]["async"],
        true
    );
    assert_eq!(
        settings["hooks"]["PermissionRequest"][0]["hooks"][0]["command"],
        "patina agent event waiting --agent claude"
    );

    // Again: nothing changes.
    let before = read(&root.join(".claude/settings.json"));
    let v = env.json(&root, &["adapter", "install", "claude"]);
    assert!(actions(&v).iter().all(|(_, a)| a == "unchanged"), "{v:#}");
    assert_eq!(read(&root.join(".claude/settings.json")), before);

    // A user edit is kept without --force, replaced with it.
    let edited = root.join(".claude/commands/session-end.md");
    std::fs::write(&edited, "my own end command\n").unwrap();
    let v = env.json(&root, &["adapter", "install", "claude"]);
    assert!(actions(&v).contains(&(".claude/commands/session-end.md".into(), "kept".into())));
    assert_eq!(read(&edited), "my own end command\n");
    let v = env.json(&root, &["adapter", "install", "claude", "--force"]);
    assert!(actions(&v).contains(&(
        ".claude/commands/session-end.md".into(),
        "overwritten".into()
    )));
    assert!(read(&edited).contains("patina session end --json"));

    // A broken settings file is never overwritten.
    std::fs::write(root.join(".claude/settings.json"), "{ broken").unwrap();
    let out = env.patina(&root, &["adapter", "install", "claude"]);
    assert_eq!(out.status.code(), Some(2), "invalid input: exit 2");
    assert!(
        common::stderr(&out).contains("settings.json"),
        "{}",
        common::stderr(&out)
    );
    assert_eq!(read(&root.join(".claude/settings.json")), "{ broken");
}

#[test]
fn other_agents_get_their_documented_formats() {
    let env = Env::new();
    let root = env.project("app");
    env.json(&root, &["adapter", "install", "gemini"]);
    for c in COMMANDS {
        let t: toml::Table =
            toml::from_str(&read(&root.join(format!(".gemini/commands/{c}.toml")))).unwrap();
        assert!(t["prompt"].as_str().unwrap().contains("{{args}}"), "{c}");
        assert!(t["description"].as_str().is_some());
    }
    let g: Value = serde_json::from_str(&read(&root.join(".gemini/settings.json"))).unwrap();
    assert_eq!(
        g["hooks"]["BeforeAgent"][0]["hooks"][0]["command"],
        "patina agent event busy --agent gemini"
    );
    assert_eq!(g["hooks"]["BeforeAgent"][0]["hooks"][0]["timeout"], 2000);
    assert_eq!(
        g["hooks"]["AfterAgent"][0]["hooks"][0]["command"],
        "patina agent event idle --agent gemini"
    );

    let v = env.json(&root, &["adapter", "install", "codex"]);
    let skill = read(&root.join(".agents/skills/patina-session-start/SKILL.md"));
    assert!(
        skill.starts_with("---\nname: patina-session-start\ndescription: "),
        "{skill}"
    );
    assert!(skill.contains("patina session start"));
    let h: Value = serde_json::from_str(&read(&root.join(".codex/hooks.json"))).unwrap();
    assert_eq!(
        h["hooks"]["Stop"][0]["hooks"][0]["command"],
        "patina agent event idle --agent codex"
    );
    assert!(v["notes"].to_string().contains("trust"), "{v:#}");

    env.json(&root, &["adapter", "install", "opencode"]);
    let oc = read(&root.join(".opencode/commands/session-note.md"));
    assert!(
        oc.starts_with("---\ndescription: ") && oc.contains("$ARGUMENTS"),
        "{oc}"
    );
    // Nothing is written outside the project root.
    assert!(!env.home().join(".claude").exists() && !env.home().join(".gemini").exists());
}

/// Run a hook's command line the way the agent does: `sh -c`, JSON on stdin, patina on PATH.
fn run_hook(env: &Env, cwd: &Path, command: &str, stdin: &str) -> std::process::Output {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_patina")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("sh")
        .args(["-c", command])
        .current_dir(cwd)
        .env("PATH", path)
        .env("PATINA_HOME", env.patina_home())
        .env("XDG_CONFIG_HOME", env.xdg())
        .env("HOME", env.home())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn installed_hooks_report_state_silently() {
    let env = Env::new();
    let root = env.repo("app");
    env.json(&root, &["init", "--llm", "claude"]);
    let root = root.canonicalize().unwrap();
    let settings: Value = serde_json::from_str(&read(&root.join(".claude/settings.json"))).unwrap();
    let hook = |event: &str| {
        settings["hooks"][event][0]["hooks"][0]["command"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // Claude runs hooks from the project dir, or anywhere with `cwd` in the payload.
    let elsewhere = env.work();
    let payload = |event: &str, extra: &str| {
        format!(
            r#"{{"session_id":"s-1","transcript_path":"/x.jsonl","cwd":"{}","hook_event_name":"{event}"{extra},"some_future_field":{{"a":1}}}}"#,
            root.display()
        )
    };
    let out = run_hook(
        &env,
        &elsewhere,
        &hook("UserPromptSubmit"),
        &payload("UserPromptSubmit", r#","prompt":"hi""#),
    );
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "a hook must print nothing: {out:?}"
    );
    let st = env.json(&root, &["agent", "status"]);
    assert_eq!(st["state"], "busy");
    assert_eq!(st["agent"], "claude");
    assert_eq!(st["agents"][0]["event"], "UserPromptSubmit");
    assert_eq!(st["agents"][0]["session_id"], "s-1");

    let out = run_hook(
        &env,
        &root,
        &hook("PermissionRequest"),
        &payload("PermissionRequest", r#","tool_name":"Bash""#),
    );
    assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty());
    assert_eq!(env.json(&root, &["agent", "status"])["state"], "waiting");

    // Notification of the idle prompt means idle, not waiting.
    let out = run_hook(
        &env,
        &root,
        &hook("Notification"),
        &payload("Notification", r#","notification_type":"idle_prompt""#),
    );
    assert!(out.status.success() && out.stdout.is_empty());
    assert_eq!(env.json(&root, &["agent", "status"])["state"], "idle");

    // Gemini on the same project: the most pressing state wins.
    let out = run_hook(&env, &root, "patina agent event waiting --agent gemini", "");
    assert!(out.status.success() && out.stdout.is_empty());
    let st = env.json(&root, &["agent", "status"]);
    assert_eq!(
        (st["state"].as_str(), st["agent"].as_str()),
        (Some("waiting"), Some("gemini"))
    );
    assert_eq!(st["agents"].as_array().unwrap().len(), 2);

    // Codex notify: a JSON argument, no stdin.
    let out = run_hook(
        &env,
        &root,
        r#"patina agent event idle --agent codex '{"type":"agent-turn-complete","thread-id":"t-9","cwd":"/nowhere"}'"#,
        "",
    );
    assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty());
    let st = env.json(&root, &["agent", "status"]);
    let codex = st["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent"] == "codex")
        .unwrap()
        .clone();
    assert_eq!(codex["session_id"], "t-9");

    // Garbage never fails a hook and never prints.
    for cmd in [
        "patina agent event dancing --agent claude",
        "patina agent event busy --agent claude --unknown-flag x",
        "patina agent event busy",
    ] {
        let out = run_hook(&env, &root, cmd, "{ not json");
        assert!(out.status.success(), "{cmd}: {out:?}");
        assert!(
            out.stdout.is_empty() && out.stderr.is_empty(),
            "{cmd}: {out:?}"
        );
    }
    // Outside any project: silent success, nothing created.
    let out = run_hook(
        &env,
        &elsewhere,
        "patina agent event busy --agent claude",
        "",
    );
    assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty());
    assert!(!elsewhere.join(".patina").exists());
}

#[test]
fn a_hook_whose_stdin_stays_open_still_returns() {
    let env = Env::new();
    let root = env.project("app");
    let mut child = env
        .cmd(&root)
        .args(["agent", "event", "busy", "--agent", "claude"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let _keep_open = child.stdin.take();
    // Generous bound: this checks "does not hang", not speed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "agent event hung on an open stdin"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(env.json(&root, &["agent", "status"])["state"], "busy");
}

#[test]
fn context_bundles_previous_session_goals_beliefs_and_scry() {
    let env = Env::new();
    let root = env.project("app");
    let sessions = root.join("sessions");
    std::fs::write(
        sessions.join("20260301-090000.md"),
        "---\ntype: session\nid: 20260301-090000\ntitle: older work\nstatus: archived\n---\n\n## Goals\n- [ ] stale goal\n",
    )
    .unwrap();
    std::fs::write(
        sessions.join("20260302-100000.md"),
        "---\ntype: session\nid: 20260302-100000\ntitle: socket cleanup\nstatus: archived\nllm: claude\n\
         created: 2026-03-02T10:00:00+01:00\nended: 2026-03-02T12:00:00+01:00\n\
         classification: { work_type: bugfix, files_changed: 2, commits: 1, patterns_modified: 0, beliefs_captured: 0 }\n---\n\n\
         ## Goals\n- [x] remove stale sockets safely\n- [ ] document the lock file\n\n\
         ## Activity Log\n### 2026-03-02 10:00 - Session Start\nstarted\n### 2026-03-02 11:00 - Note [main@abc1234]\nfound the race in connect\n",
    )
    .unwrap();
    env.ok(
        &root,
        &[
            "belief",
            "new",
            "--id",
            "ping-before-unlink",
            "--statement",
            "Only unlink a socket after a refused connect",
        ],
    );
    env.commit_file(
        &root,
        "docs/sockets.md",
        "# Sockets\nThe socket cleanup removes stale sockets only when connect is refused.\n",
        "docs",
    );

    let v = env.json(&root, &["agent", "context"]);
    assert!(v["session"].is_null());
    assert_eq!(v["previous"]["title"], "socket cleanup");
    assert_eq!(v["previous"]["work_type"], "bugfix");
    assert_eq!(
        v["previous"]["goals_done"][0],
        "remove stale sockets safely"
    );
    assert_eq!(
        v["open_goals"],
        serde_json::json!(["document the lock file"])
    );
    assert_eq!(
        v["previous"]["last_entries"][1],
        "2026-03-02 11:00 - Note [main@abc1234] — found the race in connect"
    );
    assert_eq!(v["beliefs"][0]["id"], "ping-before-unlink");
    assert_eq!(v["scry_query"], "socket cleanup");
    let hits = v["scry"].as_array().unwrap();
    assert!(hits.iter().any(|h| h["path"] == "docs/sockets.md"), "{v:#}");
    assert_eq!(v["errors"], serde_json::json!([]), "{v:#}");

    let text = env.ok(&root, &["agent", "context"]);
    assert!(
        text.contains("## Previous session: socket cleanup (20260302-100000)"),
        "{text}"
    );
    assert!(text.contains("- [ ] document the lock file"), "{text}");
    assert!(text.contains("**ping-before-unlink**"), "{text}");
}

/// `patina serve` in the foreground on this env's socket; killed (SIGTERM) on drop.
struct Daemon {
    child: std::process::Child,
    socket: std::path::PathBuf,
}

impl Daemon {
    fn start(env: &Env) -> Daemon {
        use std::io::BufRead as _;
        let mut child = env
            .cmd(&env.work())
            .args(["serve", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut text = String::new();
        loop {
            let mut line = String::new();
            assert!(
                reader.read_line(&mut line).unwrap() > 0,
                "serve exited: {text}"
            );
            text.push_str(&line);
            if line.starts_with('}') {
                break;
            }
        }
        let ready: Value = serde_json::from_str(&text).unwrap();
        let socket = std::path::PathBuf::from(ready["socket"].as_str().unwrap());
        Daemon { child, socket }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn curl(socket: &Path, args: &[&str]) -> (u16, Value) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "--unix-socket"])
        .arg(socket)
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (
        code.parse().unwrap(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

#[test]
fn daemon_serves_agent_events_and_state() {
    if !common::require_tool("curl") {
        return;
    }
    let env = Env::new();
    let root = env.project("app").canonicalize().unwrap();
    let d = Daemon::start(&env);
    let enc: String = root
        .to_str()
        .unwrap()
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_./".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();

    // POST /api/agent/event, answered with the project's agent status.
    let body = format!(
        r#"{{"project":"{}","agent":"claude","state":"waiting","event":"PermissionRequest"}}"#,
        root.display()
    );
    let (code, v) = curl(
        &d.socket,
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data",
            &body,
            "http://localhost/api/agent/event",
        ],
    );
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["state"], "waiting");
    assert_eq!(v["agents"][0]["event"], "PermissionRequest");

    // GET /api/agent?project=ROOT — the same state, also what `agent status` shows.
    let (code, v) = curl(
        &d.socket,
        &[&format!("http://localhost/api/agent?project={enc}")],
    );
    assert_eq!(code, 200, "{v}");
    assert_eq!(
        (v["state"].as_str(), v["agent"].as_str()),
        (Some("waiting"), Some("claude"))
    );
    assert_eq!(env.json(&root, &["agent", "status"])["state"], "waiting");

    // The hook command goes through the daemon and stays silent.
    let out = run_hook(&env, &root, "patina agent event busy --agent codex", "");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "{out:?}"
    );
    let (_, v) = curl(
        &d.socket,
        &[&format!("http://localhost/api/agent?project={enc}")],
    );
    assert!(
        v["agents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["agent"] == "codex" && a["state"] == "busy"),
        "{v}"
    );

    // Bad input gets 400 with an error naming the problem; a missing project 400/404.
    let bad = format!(
        r#"{{"project":"{}","agent":"claude","state":"dancing"}}"#,
        root.display()
    );
    let (code, v) = curl(
        &d.socket,
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data",
            &bad,
            "http://localhost/api/agent/event",
        ],
    );
    assert_eq!(code, 400);
    // The state is a typed enum on the wire: serde names the value and the accepted ones.
    let e = v["error"].as_str().unwrap();
    assert!(e.contains("dancing") && e.contains("busy"), "{v}");
    let (code, _) = curl(&d.socket, &["http://localhost/api/agent"]);
    assert_eq!(code, 400);
}
