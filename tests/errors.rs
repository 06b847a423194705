//! Typed errors end to end: one real command per error kind through the binary (exit code and
//! the `--json` error shape), and the same kinds as HTTP statuses over a real daemon socket
//! (with `curl --unix-socket` too).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use common::{Env, stderr, stdout};

/// The `--json` error object of a failed command, checked against its exit code.
fn error_json(out: &Output) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&stdout(out)).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}\nstderr: {}",
            stdout(out),
            stderr(out)
        )
    });
    assert_eq!(
        v["exit_code"].as_i64(),
        out.status.code().map(i64::from),
        "exit_code field and real exit code differ: {v}"
    );
    assert!(v["error"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    v
}

#[track_caller]
fn expect_kind(out: &Output, kind: &str, code: i32) -> serde_json::Value {
    let v = error_json(out);
    assert_eq!(v["kind"], kind, "{v}");
    assert_eq!(out.status.code(), Some(code), "{v}");
    v
}

#[test]
fn every_kind_has_its_exit_code_through_the_binary() {
    let env = Env::new();
    let root = env.project("p");

    // usage (2): an empty note.
    let out = env.patina(&root, &["session", "note", "", "--json"]);
    let v = expect_kind(&out, "usage", 2);
    assert!(v["error"].as_str().unwrap().contains("empty"), "{v}");

    // conflict (3): a note with no active session.
    let out = env.patina(&root, &["session", "note", "hello", "--json"]);
    let v = expect_kind(&out, "conflict", 3);
    assert!(v["error"].as_str().unwrap().contains("no active session"));
    // Without --json: the same exit code, the message on stderr, nothing on stdout.
    let out = env.patina(&root, &["session", "note", "hello"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).starts_with("error: no active session"),
        "{}",
        stderr(&out)
    );

    // not_found (4): a belief that does not exist.
    let out = env.patina(&root, &["belief", "show", "nope", "--json"]);
    let v = expect_kind(&out, "not_found", 4);
    assert!(v["error"].as_str().unwrap().contains("nope"), "{v}");

    // invalid_input (2): a field value that is not allowed.
    let out = env.patina(
        &root,
        &[
            "belief",
            "new",
            "--id",
            "Bad Id",
            "--statement",
            "x",
            "--json",
        ],
    );
    let v = expect_kind(&out, "invalid_input", 2);
    assert!(v["error"].as_str().unwrap().contains("Bad Id"), "{v}");

    // unavailable (5): secrets need an identity nobody created.
    let out = env.patina(&root, &["secrets", "unlock", "--json"]);
    expect_kind(&out, "unavailable", 5);

    // not_in_project (6): a plain directory, neither patina nor git.
    let plain = env.work().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let out = env.patina(&plain, &["session", "status", "--json"]);
    let v = expect_kind(&out, "not_in_project", 6);
    assert!(v["error"].as_str().unwrap().contains("patina init"), "{v}");

    // io (1): the local state directory is a file, so nothing can be written under it.
    let broken = env.project("broken");
    std::fs::remove_dir_all(broken.join(".patina/local")).ok();
    std::fs::write(broken.join(".patina/local"), "not a directory").unwrap();
    let out = env.patina(&broken, &["session", "start", "x", "--json"]);
    expect_kind(&out, "io", 1);
}

#[test]
fn clap_usage_errors_have_the_json_shape_with_json_anywhere() {
    let env = Env::new();
    let root = env.project("p");
    for args in [
        &["--json", "belief", "list", "--bogus"][..],
        &["session", "--json", "nosuchcommand"],
        &["belief", "show", "--json"], // missing argument
        &["session", "status", "--bogus", "--json"],
        &["session", "--json"], // missing subcommand
    ] {
        let out = env.patina(&root, args);
        let v = expect_kind(&out, "usage", 2);
        assert!(stderr(&out).is_empty(), "{args:?}: {}", stderr(&out));
        assert!(!v["error"].as_str().unwrap().starts_with("error:"), "{v}");
    }
    // Without --json: clap's own text on stderr, exit 2.
    let out = env.patina(&root, &["belief", "list", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("--bogus"), "{}", stderr(&out));
    // `--json` after `--` belongs to the child command, not to patina.
    let out = env.patina(&root, &["belief", "list", "--bogus", "--", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    // Help and version are not errors.
    let out = env.patina(&root, &["--version", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("patina"));
}

/// A foreground daemon we started; SIGTERM + wait on drop (our own child, by its handle).
struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Daemon {
    fn start(env: &Env) -> Daemon {
        let mut child = env
            .cmd(&env.work())
            .args(["serve", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning patina serve");
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut text = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                let mut err = String::new();
                let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                panic!("patina serve exited before it was ready: {text}\n{err}");
            }
            text.push_str(&line);
            if line.starts_with('}') {
                break;
            }
        }
        let ready: serde_json::Value = serde_json::from_str(&text).unwrap();
        let socket = PathBuf::from(ready["socket"].as_str().unwrap());
        Daemon { child, socket }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// One request over the Unix socket; (status, JSON body).
fn call(socket: &Path, method: &str, target: &str, body: Option<&str>) -> (u16, serde_json::Value) {
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n");
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap())
}

fn enc(p: &Path) -> String {
    p.to_string_lossy().replace('/', "%2F")
}

#[test]
fn kinds_are_http_statuses_over_the_socket() {
    let env = Env::new();
    let root = env.project("p");
    let plain = env.work().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let d = Daemon::start(&env);
    let s = &d.socket;

    let cases: Vec<(String, &str, Option<String>, u16, &str)> = vec![
        // usage: a relative project path.
        (
            "/api/session?project=relative".into(),
            "GET",
            None,
            400,
            "usage",
        ),
        // not_found: nothing there.
        (
            "/api/session?project=%2Fno%2Fsuch%2Fdir".into(),
            "GET",
            None,
            404,
            "not_found",
        ),
        // not_in_project: a directory outside any project.
        (
            format!("/api/session?project={}", enc(&plain)),
            "GET",
            None,
            404,
            "not_in_project",
        ),
        // usage from the domain: an empty query.
        (
            "/api/scry".into(),
            "POST",
            Some(serde_json::json!({"project": root, "query": "  "}).to_string()),
            400,
            "usage",
        ),
        // locked: a vault the daemon does not hold.
        (
            "/secrets/resolve".into(),
            "POST",
            Some(r#"{"vault_id":"00","names":["a"],"requester":{"pid":1,"command":"t"}}"#.into()),
            423,
            "locked",
        ),
        // The protocol's own refusals carry a kind too.
        ("/api/nothing".into(), "GET", None, 404, "not_found"),
        ("/health".into(), "POST", Some("{}".into()), 405, "usage"),
    ];
    for (target, method, body, status, kind) in &cases {
        let (got, v) = call(s, method, target, body.as_deref());
        assert_eq!(
            (got, v["kind"].as_str()),
            (*status, Some(*kind)),
            "{method} {target}: {v}"
        );
        assert!(v["error"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    // A healthy project answers 200.
    let (got, v) = call(
        s,
        "GET",
        &format!("/api/session?project={}", enc(&root)),
        None,
    );
    assert_eq!(got, 200, "{v}");

    // The same answers seen by curl.
    if !common::require_tool("curl") {
        return;
    }
    let sock = s.to_string_lossy().to_string();
    let url = format!("http://localhost/api/session?project={}", enc(&plain));
    let out = std::process::Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "--unix-socket", &sock, &url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    assert_eq!(code, "404", "{text}");
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["kind"], "not_in_project", "{v}");
}

// ---------------------------------------------------------------------------------------------
// Config errors are loud: exit 2 naming file, key and value; the daemon refuses to start; the
// cockpit shows them and keeps its valid keys.
// ---------------------------------------------------------------------------------------------

fn user_config(env: &Env, text: &str) -> PathBuf {
    let dir = env.xdg().join("patina");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[track_caller]
fn expect_config_error(out: &Output, file: &Path, field: Option<&str>, value: &str) {
    let v = expect_kind(out, "invalid_input", 2);
    let msg = v["error"].as_str().unwrap();
    assert_eq!(v["file"], file.to_string_lossy().as_ref(), "{v}");
    assert!(
        msg.contains(&*file.to_string_lossy()),
        "names the file: {msg}"
    );
    if let Some(f) = field {
        assert_eq!(v["field"], f, "{v}");
        assert!(msg.contains(f), "names the key: {msg}");
    }
    assert!(msg.contains(value), "names the value {value}: {msg}");
}

#[test]
fn a_broken_project_config_stops_the_command_with_exit_2() {
    let env = Env::new();
    let root = env.project("p");
    let cfg = root.join(".patina/config.toml").canonicalize().unwrap();
    let good = std::fs::read_to_string(&cfg).unwrap();

    // Wrong type in a domain's section.
    std::fs::write(
        &cfg,
        good.replace("stale_hours = 8", "stale_hours = \"eight\""),
    )
    .unwrap();
    let out = env.patina(&root, &["session", "status", "--json"]);
    expect_config_error(&out, &cfg, Some("session.stale_hours"), "\"eight\"");
    // Human mode: the same on stderr.
    let out = env.patina(&root, &["session", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("session.stale_hours"),
        "{}",
        stderr(&out)
    );

    // Wrong type in [project], read by every command.
    std::fs::write(&cfg, good.replace("llm = \"claude\"", "llm = 3")).unwrap();
    let out = env.patina(&root, &["belief", "list", "--json"]);
    expect_config_error(&out, &cfg, Some("project.llm"), "3");

    // Not TOML at all: the line is named.
    std::fs::write(&cfg, "[project\nllm = \"claude\"\n").unwrap();
    let out = env.patina(&root, &["session", "status", "--json"]);
    expect_config_error(&out, &cfg, None, "line 1");

    // The daemon answers 422 for it, not 500.
    std::fs::write(&cfg, good.replace("stale_hours = 8", "stale_hours = []")).unwrap();
    let d = Daemon::start(&env);
    let (status, v) = call(
        &d.socket,
        "GET",
        &format!("/api/session?project={}", enc(&root)),
        None,
    );
    assert_eq!(
        (status, v["kind"].as_str()),
        (422, Some("invalid_input")),
        "{v}"
    );
    assert!(
        v["error"].as_str().unwrap().contains("session.stale_hours"),
        "{v}"
    );
}

#[test]
fn a_broken_user_config_stops_commands_and_the_daemon() {
    let env = Env::new();
    let root = env.project("p");
    let path = user_config(&env, "[secrets]\nconfirm = \"alwayz\"\n");

    // A command that reads [secrets].
    let out = env.patina(&root, &["secrets", "unlock", "--json"]);
    expect_config_error(&out, &path, Some("secrets.confirm"), "\"alwayz\"");

    // The daemon refuses to start in the foreground, before it binds anything...
    let out = env.patina(&env.work(), &["serve", "--json"]);
    expect_config_error(&out, &path, Some("secrets.confirm"), "\"alwayz\"");
    assert!(!env.patina_home().join("run/serve.sock").exists());
    // ...and in the background: the caller is told, with exit 2.
    let out = env.patina(&env.work(), &["serve", "--background", "--json"]);
    expect_config_error(&out, &path, Some("secrets.confirm"), "\"alwayz\"");
    let out = env.patina(&env.work(), &["serve", "status", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "no daemon runs: {}",
        stdout(&out)
    );

    // A wrong type in another section the daemon reads; then bad TOML.
    user_config(&env, "[scry]\nthreads = \"many\"\n");
    let out = env.patina(&env.work(), &["serve", "--json"]);
    expect_config_error(&out, &path, Some("scry.threads"), "\"many\"");
    let out = env.patina(&root, &["scry", "anything", "--json"]);
    expect_config_error(&out, &path, Some("scry.threads"), "\"many\"");
    user_config(&env, "[secrets]\nconfirm = always\n");
    let out = env.patina(&env.work(), &["serve", "--json"]);
    expect_config_error(&out, &path, None, "line 2");

    // Fixed: it starts.
    user_config(&env, "[secrets]\nconfirm = \"always\"\n");
    let _d = Daemon::start(&env);
}

#[test]
fn the_cockpit_shows_config_problems_and_keeps_the_default_quit_key() {
    if !common::require_tool("tmux") {
        return;
    }
    let env = Env::new();
    let root = env.project("p");
    // An invalid quit key, a key of the wrong type, and a broken theme file.
    user_config(
        &env,
        "[scry]\nauto_pull = false\n[keys]\nquit = \"ctrl-\"\nhelp = 5\n",
    );
    let themes = env.xdg().join("patina/themes");
    std::fs::create_dir_all(&themes).unwrap();
    std::fs::write(themes.join("mine.toml"), "[roles]\naccent = \"blurple\"\n").unwrap();

    let socket = format!("patina-err-{}", std::process::id());
    let tmux = |args: &[&str]| {
        std::process::Command::new("tmux")
            .args(["-L", &socket])
            .args(args)
            .output()
            .expect("running tmux")
    };
    struct Kill<'a>(&'a dyn Fn(&[&str]) -> Output);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            (self.0)(&["kill-server"]);
        }
    }
    let script = format!(
        "cd '{}' && env PATINA_HOME='{}' XDG_CONFIG_HOME='{}' HOME='{}' GIT_CONFIG_NOSYSTEM=1 \
         TERM=xterm-256color '{}' tui; echo EXIT=$?; exec sleep 600",
        root.display(),
        env.patina_home().display(),
        env.xdg().display(),
        env.home().display(),
        env!("CARGO_BIN_EXE_patina"),
    );
    let out = tmux(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "220",
        "-y",
        "50",
        &script,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let _kill = Kill(&tmux);
    let wait = |what: &str, pred: &dyn Fn(&str) -> bool| -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let s = stdout(&tmux(&["capture-pane", "-p", "-t", "t"]));
            if pred(&s) {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let screen = wait("the configuration popup", &|s| s.contains("Configuration"));
    assert!(screen.contains("quit: no valid key given"), "{screen}");
    assert!(screen.contains("keys.help"), "{screen}");
    assert!(
        screen.contains("mine.toml") && screen.contains("blurple"),
        "{screen}"
    );
    // Close the popup, then the default quit key still quits.
    tmux(&["send-keys", "-t", "t", "Enter"]);
    wait("the popup to close", &|s| !s.contains("Configuration"));
    tmux(&["send-keys", "-t", "t", "q"]);
    let screen = wait("the cockpit to exit", &|s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
    // The cockpit may have started a daemon: stop it (ours, through its own command).
    let _ = env.patina(&root, &["serve", "stop"]);
}
