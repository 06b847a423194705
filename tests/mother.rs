//! Mother through the real binary: the registry (`mother add/rm/list`), federated scry
//! (`scry --all`) over local projects and remote daemons, partial results, and tokens that
//! never reach a host they were not issued for.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::{Env, stderr, stdout};
use serde_json::Value;

/// A test env whose per-source deadline is generous: a loaded CI machine may take seconds to
/// build a first index; the tests that are about deadlines set their own per remote.
fn env() -> Env {
    let env = Env::new();
    let dir = env.xdg().join("patina");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), "[mother]\ntimeout_ms = 60000\n").unwrap();
    env
}

fn registry_path(env: &Env) -> std::path::PathBuf {
    env.patina_home().join("mother").join("registry.toml")
}

fn sources_of(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["source"].as_str().unwrap().to_string())
        .collect()
}

/// Two projects with commits and code about stale sockets.
fn two_projects(env: &Env) -> (std::path::PathBuf, std::path::PathBuf) {
    let a = env.project("alpha");
    env.commit_file(
        &a,
        "src/sock.rs",
        "fn reconnect_stale_socket() { /* alpha retries stale sockets */ }\n",
        "alpha: handle stale sockets",
    );
    let b = env.project("beta");
    env.commit_file(
        &b,
        "net/socket.py",
        "def drop_stale_socket():\n    # beta removes stale sockets\n    pass\n",
        "beta: remove stale sockets on start",
    );
    (a, b)
}

#[test]
fn registry_add_list_rm_is_private_validated_and_never_prints_tokens() {
    let env = env();
    let (a, b) = two_projects(&env);
    let work = env.work();

    // Paths are canonicalized (relative, through a subdirectory, with ..).
    let added = env.json(&work, &["mother", "add", "alpha/src/../src"]);
    assert_eq!(added["entry"]["name"], "alpha");
    assert_eq!(
        added["entry"]["path"].as_str().unwrap(),
        a.canonicalize().unwrap().to_str().unwrap()
    );
    env.ok(
        &work,
        &["mother", "add", b.to_str().unwrap(), "--name", "be.ta"],
    );

    // 0600 from creation, inside a 0700 directory.
    let reg = registry_path(&env);
    let mode = std::fs::metadata(&reg).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "registry mode {mode:o}");
    let dmode = std::fs::metadata(reg.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dmode, 0o700);

    // Duplicates (same path, same name) → conflict (3); bad names → usage (2).
    let dup = env.patina(&work, &["mother", "add", "alpha"]);
    assert_eq!(dup.status.code(), Some(3), "{}", stderr(&dup));
    let dup = env.patina(&work, &["mother", "add", "beta", "--name", "alpha"]);
    assert_eq!(dup.status.code(), Some(3), "{}", stderr(&dup));
    let bad = env.patina(&work, &["mother", "add", "alpha", "--name", "Bad/Name"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    let bad = env.patina(&work, &["mother", "add", "x", "--remote", "https://h:1"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));

    // A remote with its token on stdin: stored in the registry, never printed.
    let secret = "tok-A-7f3a9c1e5b2d4f60";
    let mut child = env
        .cmd(&work)
        .args([
            "mother",
            "add",
            "box",
            "--remote",
            "http://127.0.0.1:7420",
            "--token-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{secret}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains(secret) && !stderr(&out).contains(secret));

    // A remote with a token file: the path is printed, the token is not.
    let tf = env.home().join("box2.token");
    std::fs::write(&tf, "tok-B-0a1b2c3d4e5f\n").unwrap();
    std::fs::set_permissions(&tf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = env.ok(
        &work,
        &[
            "mother",
            "add",
            "box2",
            "--remote",
            "127.0.0.1:7421",
            "--token-file",
            tf.to_str().unwrap(),
        ],
    );
    assert!(
        out.contains(tf.to_str().unwrap()) && !out.contains("tok-B"),
        "{out}"
    );
    // The same URL twice is refused.
    let dup = env.patina(
        &work,
        &["mother", "add", "box3", "--remote", "http://127.0.0.1:7421"],
    );
    assert_eq!(dup.status.code(), Some(3));

    let list = env.json(&work, &["mother", "list"]);
    let text = list.to_string();
    assert!(!text.contains(secret) && !text.contains("tok-B"), "{text}");
    let names: Vec<&str> = list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "be.ta", "box", "box2"]);
    assert_eq!(list["entries"][2]["token"], "stored");
    assert_eq!(
        list["entries"][3]["token_file"],
        tf.canonicalize().unwrap().to_str().unwrap()
    );
    let human = env.ok(&work, &["mother", "list"]);
    assert!(!human.contains(secret) && human.contains("box2"), "{human}");
    // The stored token really is in the (private) registry.
    assert!(std::fs::read_to_string(&reg).unwrap().contains(secret));

    // rm by name and by path; unknown → not found (4).
    env.ok(&work, &["mother", "rm", "box"]);
    env.ok(&a, &["mother", "rm", "."]);
    let gone = env.patina(&work, &["mother", "rm", "nope"]);
    assert_eq!(gone.status.code(), Some(4));
    let list = env.json(&work, &["mother", "list"]);
    assert_eq!(list["entries"].as_array().unwrap().len(), 2);
    assert!(!std::fs::read_to_string(&reg).unwrap().contains(secret));

    // A registry others can read is refused (it may hold tokens).
    std::fs::set_permissions(&reg, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = env.patina(&work, &["mother", "list"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("chmod 600"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn scry_all_fuses_local_projects_and_names_each_hit() {
    let env = env();
    let (a, b) = two_projects(&env);
    let here = env.project("gamma");
    env.commit_file(
        &here,
        "g.rs",
        "// gamma: stale sockets here too\n",
        "gamma: stale sockets",
    );
    env.ok(&here, &["mother", "add", a.to_str().unwrap()]);
    env.ok(&here, &["mother", "add", b.to_str().unwrap()]);

    let ans = env.json(&here, &["scry", "--all", "stale sockets", "-n", "20"]);
    assert_eq!(ans["scope"], "all");
    assert_eq!(
        ans["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| !e["source"].as_str().unwrap().ends_with(": semantic"))
            .count(),
        0,
        "{ans}"
    );
    let sources = sources_of(&ans);
    for s in ["alpha", "beta", "gamma"] {
        assert!(sources.iter().any(|x| x == s), "{s} missing: {sources:?}");
    }
    // Every hit names its project: the source's canonical root.
    for h in ans["results"].as_array().unwrap() {
        let root = match h["source"].as_str().unwrap() {
            "alpha" => a.canonicalize().unwrap(),
            "beta" => b.canonicalize().unwrap(),
            "gamma" => here.canonicalize().unwrap(),
            other => panic!("unexpected source {other}"),
        };
        assert_eq!(h["project"].as_str().unwrap(), root.to_str().unwrap());
        assert!(
            Path::new(h["project"].as_str().unwrap())
                .join(".patina")
                .is_dir()
                || h["kind"] == "commit"
        );
    }
    // RRF across sources: the first hits are each source's rank 1.
    let firsts: Vec<u64> = ans["results"].as_array().unwrap()[..3]
        .iter()
        .map(|h| h["source_rank"].as_u64().unwrap())
        .collect();
    assert_eq!(firsts, [1, 1, 1]);
    // Deterministic: the same query gives the same order.
    let again = env.json(&here, &["scry", "--all", "stale sockets", "-n", "20"]);
    let ids = |v: &Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| format!("{}|{}", h["source"], h["doc_id"]))
            .collect()
    };
    assert_eq!(ids(&ans), ids(&again));
    // The limit applies to the fused list.
    let two = env.json(&here, &["scry", "--all", "stale sockets", "-n", "2"]);
    assert_eq!(two["results"].as_array().unwrap().len(), 2);

    // Human output names the source of each hit.
    let human = env.ok(&here, &["scry", "--all", "stale sockets"]);
    assert!(
        human.contains("[alpha]") && human.contains("[beta]"),
        "{human}"
    );

    // From outside any project, only the registry is searched.
    let outside = env.json(&env.home(), &["scry", "--all", "stale sockets"]);
    let srcs = sources_of(&outside);
    assert!(srcs.iter().all(|s| s == "alpha" || s == "beta"), "{srcs:?}");
    // With nothing registered and no project: not found (4).
    env.ok(&here, &["mother", "rm", "alpha"]);
    env.ok(&here, &["mother", "rm", "beta"]);
    let none = env.patina(&env.home(), &["scry", "--all", "x"]);
    assert_eq!(none.status.code(), Some(4), "{}", stderr(&none));
}

#[test]
fn a_missing_project_is_an_error_entry_not_a_failure() {
    let env = env();
    let (a, b) = two_projects(&env);
    env.ok(&a, &["mother", "add", b.to_str().unwrap()]);
    std::fs::rename(&b, env.work().join("beta-moved")).unwrap();
    let ans = env.json(&a, &["scry", "--all", "stale sockets"]);
    assert!(sources_of(&ans).iter().any(|s| s == "alpha"));
    let err = ans["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == "beta")
        .unwrap_or_else(|| panic!("no error for beta: {ans}"));
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("no longer exists"),
        "{err}"
    );
}

// ---- remotes -------------------------------------------------------------------------------

/// A tiny HTTP server that records every request's head and answers each with `body`.
struct Recorder {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn start(body: String) -> Recorder {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let heads = Arc::new(Mutex::new(vec![]));
        let h = heads.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(s) = s else { continue };
                let head = serve_one(s, &body);
                h.lock().unwrap().push(head);
            }
        });
        Recorder { port, heads }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn serve_one(s: TcpStream, body: &str) -> String {
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut head = String::new();
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut b = vec![0u8; len];
    let _ = r.read_exact(&mut b);
    let mut s = s;
    let _ = write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Patina-Protocol: 1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    head
}

fn remote_answer(project: &str, title: &str) -> String {
    serde_json::json!({
        "query_id": "r", "took_ms": 1, "mode": "hybrid", "scope": "all",
        "results": [{
            "source": "proj", "doc_id": format!("code:{title}:1"), "kind": "code",
            "project": project, "path": format!("{title}.rs"), "title": title,
            "line_start": 1, "line_end": 2, "snippet": "stale sockets \u{1b}]0;pwned\u{7}", "score": 0.03,
            "ranks": {"semantic": 1, "lexical": 1}
        }],
        "errors": [], "sources": []
    })
    .to_string()
}

fn add_remote_with_token(env: &Env, cwd: &Path, name: &str, url: &str, token: &str) {
    let f = env.home().join(format!("{name}.token"));
    std::fs::write(&f, format!("{token}\n")).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    env.ok(
        cwd,
        &[
            "mother",
            "add",
            name,
            "--remote",
            url,
            "--token-file",
            f.to_str().unwrap(),
        ],
    );
}

#[test]
fn each_remote_gets_only_its_own_token() {
    let env = env();
    let (a, _) = two_projects(&env);
    let host_a = Recorder::start(remote_answer("/srv/a", "from_a"));
    let host_b = Recorder::start(remote_answer("/srv/b", "from_b"));
    let tok_a = "tokenAAAA1111";
    let tok_b = "tokenBBBB2222";
    add_remote_with_token(&env, &a, "host-a", &host_a.url(), tok_a);
    add_remote_with_token(&env, &a, "host-b", &host_b.url(), tok_b);
    // A third host with no token of its own gets none.
    let host_c = Recorder::start(remote_answer("/srv/c", "from_c"));
    env.ok(&a, &["mother", "add", "host-c", "--remote", &host_c.url()]);

    let ans = env.json(&a, &["scry", "--all", "stale sockets"]);
    let sources = sources_of(&ans);
    for s in ["alpha", "host-a/proj", "host-b/proj", "host-c/proj"] {
        assert!(
            sources.iter().any(|x| x == s),
            "{s} missing: {sources:?} {ans}"
        );
    }
    let hit_b = ans["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["source"] == "host-b/proj")
        .unwrap();
    assert_eq!(hit_b["project"], "/srv/b");

    let (ha, hb, hc) = (host_a.heads(), host_b.heads(), host_c.heads());
    assert_eq!(
        (ha.len(), hb.len(), hc.len()),
        (1, 1, 1),
        "{ha:?} {hb:?} {hc:?}"
    );
    assert!(ha[0].starts_with("POST /api/scry "), "{}", ha[0]);
    let auth = |h: &str| -> Vec<String> {
        h.lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("authorization:"))
            .map(|l| l.trim().to_string())
            .collect()
    };
    assert_eq!(auth(&ha[0]), [format!("Authorization: Bearer {tok_a}")]);
    assert_eq!(auth(&hb[0]), [format!("Authorization: Bearer {tok_b}")]);
    assert!(auth(&hc[0]).is_empty(), "{}", hc[0]);
    for h in ha.iter().chain(&hb).chain(&hc) {
        let other = |t: &str| h.contains(t);
        if h == &ha[0] {
            assert!(!other(tok_b));
        } else if h == &hb[0] {
            assert!(!other(tok_a));
        } else {
            assert!(!other(tok_a) && !other(tok_b));
        }
    }
    // Tokens never reach stdout/stderr.
    let out = env.patina(&a, &["scry", "--all", "stale sockets"]);
    assert!(!stdout(&out).contains(tok_a) && !stderr(&out).contains(tok_b));
    // A remote's text reaches the terminal without its escape sequences.
    assert!(stdout(&out).contains("[host-a/proj]"), "{}", stdout(&out));
    assert!(!stdout(&out).contains('\u{1b}'));
}

#[test]
fn a_dead_remote_gives_partial_results_and_an_error_within_the_timeout() {
    let env = env();
    let (a, _) = two_projects(&env);
    // Refused: a port nobody listens on any more.
    let refused_port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    env.ok(
        &a,
        &[
            "mother",
            "add",
            "gone",
            "--remote",
            &format!("http://127.0.0.1:{refused_port}"),
        ],
    );
    // Silent: accepts the connection and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(vec![]));
    let h = held.clone();
    std::thread::spawn(move || {
        for s in silent.incoming().flatten() {
            h.lock().unwrap().push(s);
        }
    });
    env.ok(
        &a,
        &[
            "mother",
            "add",
            "hung",
            "--remote",
            &format!("http://127.0.0.1:{silent_port}"),
            "--timeout-ms",
            "400",
        ],
    );

    let ans = env.json(&a, &["scry", "--all", "stale sockets"]);
    assert!(sources_of(&ans).iter().all(|s| s == "alpha"));
    assert!(!ans["results"].as_array().unwrap().is_empty());
    let errors = ans["errors"].as_array().unwrap();
    let msg = |name: &str| -> String {
        errors
            .iter()
            .find(|e| e["source"] == name)
            .unwrap_or_else(|| panic!("no error entry for {name}: {ans}"))["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(!msg("gone").is_empty());
    let hung = msg("hung");
    assert!(hung.contains("400 ms"), "{hung}");
    let st: Vec<(String, String)> = ans["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().into(),
                s["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(st.contains(&("alpha".into(), "ok".into())), "{st:?}");
    assert!(st.iter().any(|(n, s)| n == "hung" && s != "ok"), "{st:?}");
}

/// `patina serve [--listen 127.0.0.1:0 --expose P…]` in `env`; returns the child and its TCP port
/// (0 without). Over TCP a daemon serves only the projects its owner exposed.
fn start_daemon(env: &Env, tcp_exposing: Option<&[&Path]>) -> (std::process::Child, u16) {
    let mut args: Vec<String> = vec!["serve".into(), "--json".into()];
    if let Some(exposed) = tcp_exposing {
        args.extend(["--listen".into(), "127.0.0.1:0".into()]);
        for p in exposed {
            args.extend(["--expose".into(), p.display().to_string()]);
        }
    }
    let mut child = env
        .cmd(&env.home())
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut r = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    loop {
        let mut line = String::new();
        assert!(r.read_line(&mut line).unwrap() > 0, "daemon exited: {text}");
        text.push_str(&line);
        if line.starts_with('}') {
            break;
        }
    }
    let started: Value = serde_json::from_str(&text).unwrap();
    let port = started["listen"]
        .as_str()
        .map(|l| l.rsplit(':').next().unwrap().parse().unwrap())
        .unwrap_or(0);
    // Keep draining stdout so the daemon never blocks on a full pipe.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut r, &mut std::io::sink());
    });
    (child, port)
}

fn stop_daemon(mut child: std::process::Child) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[test]
fn two_local_projects_and_a_second_daemon_over_tcp_with_its_own_token() {
    // Host B: its own PATINA_HOME, one registered project, a daemon on TCP with its own token,
    // and a remote of its own that a query arriving over TCP must never reach.
    let host_b = env();
    let delta = host_b.project("delta");
    host_b.commit_file(
        &delta,
        "NOTES.md",
        "# delta\nWe fixed stale sockets by probing before unlink.\n",
        "delta: probe stale sockets before unlink",
    );
    host_b.ok(&delta, &["mother", "add", "."]);
    let onward = Recorder::start(remote_answer("/srv/onward", "onward"));
    host_b.ok(
        &delta,
        &["mother", "add", "onward", "--remote", &onward.url()],
    );
    let (daemon, port) = start_daemon(&host_b, Some(&[delta.as_path()]));

    // Host A: two local projects and B.
    let env = env();
    let (a, b) = two_projects(&env);
    env.ok(&a, &["mother", "add", "."]);
    env.ok(&a, &["mother", "add", b.to_str().unwrap()]);
    let token_b = host_b.patina_home().join("run").join("serve.token");
    let url_b = format!("http://127.0.0.1:{port}");
    env.ok(
        &a,
        &[
            "mother",
            "add",
            "hostb",
            "--remote",
            &url_b,
            "--token-file",
            token_b.to_str().unwrap(),
        ],
    );
    // The same daemon under another name with a wrong token: refused (401), a partial failure.
    let wrong = env.home().join("wrong.token");
    std::fs::write(&wrong, "0000000000000000\n").unwrap();
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    env.ok(
        &a,
        &[
            "mother",
            "add",
            "hostb-wrong",
            "--remote",
            &format!("http://localhost:{port}"),
            "--token-file",
            wrong.to_str().unwrap(),
        ],
    );

    let ans = env.json(&env.home(), &["scry", "--all", "stale sockets", "-n", "20"]);

    // The same through host A's own daemon: `scope: "all"` on its Unix socket (curl) and
    // `scry --all` (which uses the daemon when it answers) include B's projects too.
    let (daemon_a, _) = start_daemon(&env, None);
    let mut via_daemon = None;
    if common::require_tool("curl") {
        let sock = env.patina_home().join("run").join("serve.sock");
        let out = std::process::Command::new("curl")
            .args([
                "-sS",
                "--unix-socket",
                sock.to_str().unwrap(),
                "-H",
                "Content-Type: application/json",
            ])
            .args([
                "-d",
                r#"{"project":"","query":"stale sockets","limit":20,"scope":"all"}"#,
            ])
            .arg("http://localhost/api/scry")
            .output()
            .unwrap();
        via_daemon = Some(
            serde_json::from_slice::<Value>(&out.stdout)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout))),
        );
    }
    let cli_via_daemon = env.json(&env.home(), &["scry", "--all", "stale sockets", "-n", "20"]);
    stop_daemon(daemon_a);
    stop_daemon(daemon);
    for v in via_daemon.iter().chain([&cli_via_daemon]) {
        let s = sources_of(v);
        for want in ["alpha", "beta", "hostb/delta"] {
            assert!(
                s.iter().any(|x| x == want),
                "{want} missing via the daemon: {v}"
            );
        }
        assert_eq!(v["scope"], "all");
    }

    let sources = sources_of(&ans);
    for s in ["alpha", "beta", "hostb/delta"] {
        assert!(
            sources.iter().any(|x| x == s),
            "{s} missing: {sources:?}\n{ans}"
        );
    }
    let remote_hit = ans["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["source"] == "hostb/delta")
        .unwrap();
    assert_eq!(
        remote_hit["project"].as_str().unwrap(),
        delta.canonicalize().unwrap().to_str().unwrap()
    );
    let wrong_err = ans["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == "hostb-wrong")
        .unwrap_or_else(|| panic!("no error for the wrong token: {ans}"));
    assert!(
        wrong_err["message"].as_str().unwrap().contains("401"),
        "{wrong_err}"
    );
    // B searched only its own projects for a query that came over TCP: nothing went onward.
    assert!(onward.heads().is_empty(), "{:?}", onward.heads());
    assert!(!sources.iter().any(|s| s.contains("onward")));
    let token_value = std::fs::read_to_string(&token_b).unwrap();
    assert!(!ans.to_string().contains(token_value.trim()));
}
