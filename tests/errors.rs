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
