//! The agent's side through the real binary: adapters (`init --llm`, `adapter install`), hooks
//! that really run `patina agent event` the way the agent would, agent state, and the context
//! bundle.

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::Env;
use serde_json::Value;

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

/// Every file under `dirs` (bytes), skipping git's object store and patina's own local state:
/// what "the user's files" are for the byte-identical uninstall check.
fn snapshot(dirs: &[&Path]) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(d: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name();
            if name == "objects" || name == "logs" || p.ends_with(".patina/local") {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                out.insert(p.clone(), b"<dir>".to_vec());
                walk(&p, out);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    for d in dirs {
        walk(d, &mut out);
    }
    out
}

/// YAML frontmatter of a markdown file, parsed strictly.
fn frontmatter(text: &str) -> serde_yaml::Mapping {
    let rest = text
        .strip_prefix("---\n")
        .expect("frontmatter opens the file");
    let (front, _) = rest.split_once("\n---\n").expect("frontmatter closes");
    serde_yaml::from_str(front).unwrap_or_else(|e| panic!("bad YAML frontmatter ({e}):\n{front}"))
}

/// JSON with comments (what the agents accept), parsed strictly otherwise.
fn jsonc(text: &str) -> Value {
    let opts = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_extended_string_escapes: false,
        allow_non_finite_numbers: false,
    };
    jsonc_parser::parse_to_serde_value::<Value>(text, &opts)
        .unwrap_or_else(|e| panic!("bad JSONC ({e}):\n{text}"))
}

/// Parse every file an install reports with the strict parser of its format.
fn parse_installed(env: &Env, root: &Path, report: &Value) {
    for f in report["files"].as_array().unwrap() {
        let rel = f["path"].as_str().unwrap();
        let path = match rel.strip_prefix("~/") {
            Some(r) => env.home().join(r),
            None => root.join(rel),
        };
        let text = read(&path);
        if rel.ends_with(".md") && f["role"] == "command" {
            let fm = frontmatter(&text);
            assert!(
                fm.get("description").and_then(|d| d.as_str()).is_some(),
                "{rel}"
            );
        } else if rel.ends_with(".toml") {
            let _: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        } else if rel.ends_with(".json") && !text.contains("//") && !text.contains("/*") {
            let _: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        } else if rel.ends_with(".json") || rel.ends_with(".jsonc") {
            jsonc(&text);
        } else if rel.ends_with(".md") {
            assert_eq!(text.matches("<!-- patina:begin -->").count(), 1, "{rel}");
        }
    }
}

/// The user's own files before any install, per agent (comments included where the format
/// allows them).
fn existing_user_files(env: &Env, root: &Path, agent: &str) {
    let w = |p: PathBuf, t: &str| {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    };
    match agent {
        "claude" => {
            w(root.join("CLAUDE.md"), "# House rules\n\nRun the tests.\n");
            w(
                root.join(".mcp.json"),
                "{\n  \"mcpServers\": {\n    \"db\": { \"command\": \"db-mcp\", \"args\": [] }\n  }\n}\n",
            );
            w(
                root.join(".claude/settings.local.json"),
                "{\n  \"permissions\": { \"allow\": [\"Bash(ls:*)\"] },\n  \"hooks\": {\n    \"Stop\": [ { \"hooks\": [ { \"type\": \"command\", \"command\": \"notify-send done\" } ] } ]\n  }\n}\n",
            );
        }
        "codex" => {
            w(root.join("AGENTS.md"), "# Agents\n\nBe brief.\n");
            w(
                env.home().join(".codex/config.toml"),
                "# my codex config\nmodel = \"gpt-5\" # pinned\n\n[mcp_servers.other]\ncommand = \"other-mcp\"\n",
            );
            w(
                env.home().join(".codex/hooks.json"),
                "{\"hooks\": {\"Stop\": [{\"hooks\": [{\"type\": \"command\", \"command\": \"say done\"}]}]}}\n",
            );
        }
        "gemini" => {
            w(root.join("GEMINI.md"), "Use tabs.\n");
            w(
                root.join(".gemini/settings.json"),
                "{\n  // my theme\n  \"theme\": \"GitHub\",\n  /* servers */\n  \"mcpServers\": {\n    \"other\": { \"command\": \"x\" }, // trailing comma next\n  },\n}\n",
            );
            w(
                env.home().join(".gemini/settings.json"),
                "{\n  // user-wide\n  \"hooks\": { \"AfterAgent\": [ { \"hooks\": [ { \"type\": \"command\", \"command\": \"beep\" } ] } ] }\n}\n",
            );
        }
        _ => {
            w(root.join("AGENTS.md"), "# Agents\n\nBe brief.\n");
            w(
                root.join("opencode.jsonc"),
                "{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  // models\n  \"model\": \"anthropic/claude-sonnet-4\",\n}\n",
            );
        }
    }
}

#[test]
fn every_adapter_parses_and_uninstalls_byte_identically() {
    for agent in ["claude", "codex", "gemini", "opencode"] {
        for existing in [false, true] {
            let env = Env::new();
            let root = env.project("app");
            if existing {
                existing_user_files(&env, &root, agent);
            }
            let dirs = [root.as_path(), &env.home(), &env.xdg()];
            let before = snapshot(&dirs);
            let v = env.json(&root, &["adapter", "install", agent]);
            let what = format!("{agent} (existing files: {existing})");
            assert!(
                actions(&v)
                    .iter()
                    .all(|(_, a)| a == "created" || a == "updated"),
                "{what}: {v:#}"
            );
            parse_installed(&env, &root, &v);
            let st = env.json(&root, &["adapter", "status", agent]);
            assert_eq!(st["installed"], true, "{what}: {st:#}");
            // The instruction block says when to use what.
            let md = match agent {
                "claude" => "CLAUDE.md",
                "gemini" => "GEMINI.md",
                _ => "AGENTS.md",
            };
            let block = read(&root.join(md));
            assert!(
                block.contains("scry")
                    && block.contains("session_note")
                    && block.contains("belief_capture"),
                "{block}"
            );
            // Again: nothing changes.
            let after_install = snapshot(&dirs);
            let again = env.json(&root, &["adapter", "install", agent]);
            assert!(
                actions(&again).iter().all(|(_, a)| a == "unchanged"),
                "{what}: {again:#}"
            );
            assert_eq!(
                snapshot(&dirs),
                after_install,
                "{what}: a second install changed files"
            );
            // Uninstall gives back exactly what was there.
            let u = env.json(&root, &["adapter", "uninstall", agent]);
            let after = snapshot(&dirs);
            let changed: Vec<_> = before
                .keys()
                .chain(after.keys())
                .filter(|k| before.get(*k) != after.get(*k))
                .collect();
            assert!(
                changed.is_empty(),
                "{what}: uninstall left {changed:?}\n{u:#}"
            );
            assert_eq!(
                env.json(&root, &["adapter", "status", agent])["installed"],
                false
            );
        }
    }
}

#[test]
fn comments_survive_and_later_edits_are_kept_on_uninstall() {
    let env = Env::new();
    let root = env.project("app");
    existing_user_files(&env, &root, "gemini");
    env.json(&root, &["adapter", "install", "gemini", "--shared"]);
    let settings = root.join(".gemini/settings.json");
    let text = read(&settings);
    for keep in ["// my theme", "/* servers */", "// trailing comma next"] {
        assert!(text.contains(keep), "{keep} lost:\n{text}");
    }
    let v = jsonc(&text);
    assert_eq!(v["mcpServers"]["patina"]["command"], "patina");
    assert_eq!(v["mcpServers"]["other"]["command"], "x");
    assert_eq!(v["hooks"]["BeforeAgent"][0]["hooks"][0]["timeout"], 2000);
    // The user edits the file after install; uninstall takes out only patina's parts.
    std::fs::write(
        &settings,
        text.replace("\"theme\": \"GitHub\"", "\"theme\": \"Dracula\""),
    )
    .unwrap();
    let u = env.json(&root, &["adapter", "uninstall", "gemini"]);
    assert!(
        actions(&u).contains(&(".gemini/settings.json".into(), "cleaned".into())),
        "{u:#}"
    );
    let back = read(&settings);
    assert!(
        back.contains("Dracula") && back.contains("// my theme"),
        "{back}"
    );
    let v = jsonc(&back);
    assert!(
        v["mcpServers"].get("patina").is_none() && v.get("hooks").is_none(),
        "{back}"
    );
    assert_eq!(v["mcpServers"]["other"]["command"], "x");
}

#[test]
fn a_broken_settings_file_stops_the_install_before_anything_is_written() {
    let env = Env::new();
    let root = env.project("app");
    let before = snapshot(&[root.as_path(), &env.home()]);
    std::fs::create_dir_all(root.join(".gemini")).unwrap();
    std::fs::write(root.join(".gemini/settings.json"), "{ \"theme\": ").unwrap();
    let before_broken = snapshot(&[root.as_path(), &env.home()]);
    assert_ne!(before, before_broken);
    let out = env.patina(&root, &["init", "--llm", "gemini"]);
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains(".gemini/settings.json"),
        "{}",
        common::stderr(&out)
    );
    assert_eq!(
        snapshot(&[root.as_path(), &env.home()]),
        before_broken,
        "half-installed"
    );
}

#[test]
fn session_end_frontmatter_is_valid_yaml_with_its_description() {
    let env = Env::new();
    let root = env.project("app");
    for agent in ["claude", "opencode"] {
        env.json(&root, &["adapter", "install", agent]);
    }
    for f in [
        ".claude/commands/session-end.md",
        ".opencode/commands/session-end.md",
    ] {
        let fm = frontmatter(&read(&root.join(f)));
        assert_eq!(
            fm["description"].as_str(),
            Some("End the patina session (classify, tag and archive it)"),
            "{f}"
        );
    }
    let edited = root.join(".claude/commands/session-end.md");
    std::fs::write(&edited, "my own end command\n").unwrap();
    let v = env.json(&root, &["adapter", "install", "claude"]);
    assert!(actions(&v).contains(&(".claude/commands/session-end.md".into(), "kept".into())));
    assert_eq!(read(&edited), "my own end command\n");
    let v = env.json(&root, &["adapter", "install", "claude", "--force"]);
    assert!(actions(&v).contains(&(".claude/commands/session-end.md".into(), "updated".into())));
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
    // Hooks go to the per-user, git-ignored file.
    let settings: Value =
        serde_json::from_str(&read(&root.join(".claude/settings.local.json"))).unwrap();
    assert!(!root.join(".claude/settings.json").exists());
    let ignored = env.git(&root, &["check-ignore", ".claude/settings.local.json"]);
    assert_eq!(ignored, ".claude/settings.local.json");
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

    // A second Claude window is a second badge; its end removes only that badge.
    let second = |event: &str, extra: &str| payload(event, extra).replace("\"s-1\"", "\"s-2\"");
    let out = run_hook(
        &env,
        &root,
        &hook("PermissionRequest"),
        &second("PermissionRequest", ""),
    );
    assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty());
    let st = env.json(&root, &["agent", "status"]);
    assert_eq!(
        (st["state"].as_str(), st["waiting"].as_u64()),
        (Some("waiting"), Some(1))
    );
    assert_eq!(st["agents"].as_array().unwrap().len(), 2, "{st:#}");
    let out = run_hook(
        &env,
        &root,
        &hook("SessionEnd"),
        &second("SessionEnd", r#","reason":"exit""#),
    );
    assert!(out.status.success() && out.stdout.is_empty());
    let st = env.json(&root, &["agent", "status"]);
    assert_eq!(st["agents"].as_array().unwrap().len(), 1, "{st:#}");
    assert_eq!(st["agents"][0]["session_id"], "s-1");

    // Without patina on PATH the hook is silent and succeeds (a teammate without patina).
    let out = Command::new("sh")
        .args(["-c", &hook("UserPromptSubmit")])
        .current_dir(&root)
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "{out:?}"
    );

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
    assert!(v["error"].as_str().unwrap().contains("dancing"), "{v}");
    let (code, _) = curl(&d.socket, &["http://localhost/api/agent"]);
    assert_eq!(code, 400);
}

/// `.git` read-only for real (Codex's workspace-write sandbox): a private mount namespace with a
/// read-only bind mount of `.git` (permission bits do not stop root). start, note and end still
/// work; the tags wait in `.patina/local/pending-tags.json` and the next command that can write
/// `.git` creates them, saying so.
#[test]
fn a_read_only_git_defers_session_tags_until_git_is_writable() {
    if !common::require_tool("unshare") {
        return;
    }
    let env = Env::new();
    let root = env.project("app");
    let bin = env!("CARGO_BIN_EXE_patina");
    let in_sandbox = |args: &str| {
        let script =
            format!("mount --bind .git .git && mount -o remount,ro,bind .git .git && {bin} {args}");
        Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .current_dir(&root)
            .env("PATINA_HOME", env.patina_home())
            .env("XDG_CONFIG_HOME", env.xdg())
            .env("HOME", env.home())
            .output()
            .unwrap()
    };
    let probe = Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount --bind .git .git && mount -o remount,ro,bind .git .git && ! touch .git/x",
        ])
        .current_dir(&root)
        .output()
        .unwrap();
    if !probe.status.success() {
        let why = format!(
            "cannot mount .git read-only here: {}",
            common::stderr(&probe)
        );
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{why}");
        }
        eprintln!("SKIPPED: {why}");
        return;
    }
    let out = in_sandbox("session start sandboxed");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let err = common::stderr(&out);
    assert!(
        err.contains("could not write tag session-") && err.contains("pending-tags.json"),
        "{err}"
    );
    assert_eq!(
        env.git(&root, &["tag", "-l", "session-*"]),
        "",
        "no tag could be written"
    );
    assert!(root.join(".patina/local/pending-tags.json").exists());
    // Still read-only: the note works and says the tag still waits.
    let out = in_sandbox("session note 'inside the sandbox'");
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("still pending"),
        "{}",
        common::stderr(&out)
    );
    // Writable again: the next command creates it and says so.
    let out = env.patina(&root, &["session", "note", "outside"]);
    assert!(out.status.success());
    assert!(
        common::stderr(&out).contains("created the pending tag session-"),
        "{}",
        common::stderr(&out)
    );
    let tags = env.git(&root, &["tag", "-l", "session-*"]);
    assert!(tags.ends_with("-start"), "{tags}");
    assert!(!root.join(".patina/local/pending-tags.json").exists());
    // An end inside the sandbox defers the end tag too; the next start creates it.
    let out = in_sandbox("session end");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let out = env.patina(&root, &["session", "start", "next"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        env.git(&root, &["tag", "-l", "session-*-end"])
            .ends_with("-end")
    );
}
