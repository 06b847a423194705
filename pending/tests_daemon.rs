
// ---------------------------------------------------------------------------------------------
// With the daemon

/// `curl --unix-socket` against this scenario's daemon: (status, body). Not recorded for the
/// leak scan when `record` is false (a resolve answer carries values by design).
fn curl(s: &mut S, method: &str, path: &str, body: Option<&str>, record: bool) -> (u16, String) {
    let sock = s.home().join("run/serve.sock");
    let mut c = Command::new("curl");
    c.args(["-sS", "--max-time", "30", "-o", "-", "-w", "\n%{http_code}", "--unix-socket"])
        .arg(&sock)
        .args(["-X", method]);
    if let Some(b) = body {
        c.args(["-H", "Content-Type: application/json", "--data-binary", b]);
    }
    c.arg(format!("http://localhost{path}"));
    let out = c.output().unwrap();
    if record {
        s.record(&["curl", method, path], &out);
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (status.trim().parse().unwrap_or(0), body.to_string())
}

/// patina without any identity: only the daemon can supply values.
fn no_identity(s: &S, cwd: &Path, args: &[&str]) -> Command {
    let mut c = s.env.cmd(cwd);
    c.args(args);
    c
}

fn vault_id(s: &mut S, cwd: &Path) -> String {
    let l = s.json(cwd, &["secrets", "list"]);
    l["vaults"][0]["vault_id"].as_str().unwrap().to_string()
}

fn scenario_daemon_cache(s: &mut S) {
    if !common::require_tool("curl") {
        return;
    }
    let proj = s.env.project("p");
    let a = s.value("daemon-a");
    let b = s.value("daemon-b");
    s.add(&proj, "alpha", &a, &[]);
    s.add(&proj, "beta", &b, &[]);

    // Without a daemon and without an identity, run cannot get values.
    let args = ["secrets", "run", "--", "true"];
    let c = no_identity(s, &proj, &args);
    let out = s.exec(c, &args, None);
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));

    // unlock starts the daemon and caches the vault.
    let j = s.json(&proj, &["secrets", "unlock", "--ttl", "600"]);
    assert_eq!(j["vaults"][0]["names"], serde_json::json!(["alpha", "beta"]));
    assert!(s.home().join("run/serve.sock").exists());
    let st = s.json(&proj, &["secrets", "status"]);
    assert_eq!(st["daemon"]["running"], true);
    assert_eq!(st["vaults"][0]["locked"], false);
    let exp = st["vaults"][0]["expires_in_secs"].as_u64().unwrap();
    assert!(exp > 0 && exp <= 600, "{st}");
    assert!(st["vaults"][0]["max_expires_in_secs"].as_u64().unwrap() <= 7200);

    // run with no identity at all: the values come from the daemon.
    let envfile = s.inputs().join("child-env");
    let script = format!("printenv ALPHA BETA > '{}'", envfile.display());
    let args = ["secrets", "run", "--", "sh", "-c", &script];
    let c = no_identity(s, &proj, &args);
    let out = s.exec(c, &args, None);
    assert_ok(&args, &out);
    assert!(stderr(&out).contains("from the daemon"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&envfile).unwrap(), format!("{a}\n{b}\n"));

    // The wire: status has names only; resolve releases exactly the names asked for.
    let id = vault_id(s, &proj);
    let (code_, body) = curl(s, "GET", "/secrets/status", None, true);
    assert_eq!(code_, 200, "{body}");
    assert!(body.contains("alpha") && body.contains(&id), "{body}");
    let req = format!(
        r#"{{"vault_id":"{id}","names":["alpha"],"requester":{{"pid":1,"command":"test"}}}}"#
    );
    let (code_, body) = curl(s, "POST", "/secrets/resolve", Some(&req), false);
    assert_eq!(code_, 200, "{body}");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["env"].as_object().unwrap().len(), 1, "released more than asked");
    assert_eq!(j["env"]["ALPHA"], a.as_str());
    let bad = format!(r#"{{"vault_id":"{id}","names":["nope"],"requester":{{"pid":1,"command":"t"}}}}"#);
    let (code_, _) = curl(s, "POST", "/secrets/resolve", Some(&bad), true);
    assert_eq!(code_, 400);
    // Redaction happens inside the daemon.
    let text = serde_json::json!({ "text": format!("token={a} end") }).to_string();
    let (code_, body) = curl(s, "POST", "/secrets/redact", Some(&text), true);
    assert_eq!(code_, 200, "{body}");
    assert!(body.contains("[REDACTED:alpha]"), "{body}");

    // A changed vault is never resolved from the old cache: add → new id, old id dropped.
    let c2 = s.value("daemon-c");
    s.add(&proj, "gamma", &c2, &[]);
    let (code_, _) = curl(s, "POST", "/secrets/resolve", Some(&req), true);
    assert_eq!(code_, 404, "old vault id still resolvable");
    let st = s.json(&proj, &["secrets", "status"]);
    assert_eq!(st["vaults"][0]["locked"], true, "{st}");

    // lock zeroizes: resolve fails afterwards, run without identity fails.
    s.json(&proj, &["secrets", "unlock"]);
    let new_id = vault_id(s, &proj);
    let req2 = req.replace(&id, &new_id);
    let (code_, _) = curl(s, "POST", "/secrets/resolve", Some(&req2), false);
    assert_eq!(code_, 200);
    let j = s.json(&proj, &["secrets", "lock"]);
    assert_eq!(j["daemon"], true);
    let (code_, body) = curl(s, "POST", "/secrets/resolve", Some(&req2), true);
    assert_eq!(code_, 404, "{body}");
    let args = ["secrets", "run", "--", "true"];
    let c = no_identity(s, &proj, &args);
    let out = s.exec(c, &args, None);
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));
    let st = s.json(&proj, &["secrets", "status"]);
    assert_eq!(st["vaults"][0]["locked"], true);
}

fn scenario_daemon_ttl_expiry(s: &mut S) {
    if !common::require_tool("curl") {
        return;
    }
    let work = s.env.work();
    let v = s.value("ttl");
    s.add(&work, "short-lived", &v, &[]);
    s.json(&work, &["secrets", "unlock", "--ttl", "1"]);
    let id = vault_id(s, &work);
    // Poll (no timing assertion): the sweeper drops it within a few seconds of expiry.
    let mut locked = false;
    for _ in 0..100 {
        let st = s.json(&work, &["secrets", "status"]);
        if st["vaults"][0]["locked"] == true {
            locked = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(locked, "the 1 s TTL never expired");
    let req = format!(r#"{{"vault_id":"{id}","names":["short-lived"],"requester":{{"pid":1,"command":"t"}}}}"#);
    let (code_, _) = curl(s, "POST", "/secrets/resolve", Some(&req), true);
    assert_eq!(code_, 404);
    // A huge TTL is clamped to the cap, not overflowed.
    let j = s.json(&work, &["secrets", "unlock", "--ttl", "18446744073709551615"]);
    assert_eq!(j["ttl_secs"], 7200);
}

fn scenario_daemon_cockpit_confirm(s: &mut S) {
    if !common::require_tool("curl") {
        return;
    }
    let cfg = s.env.xdg().join("patina");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        "[secrets]\nconfirm = \"always\"\nconfirm_timeout_secs = 3\n",
    )
    .unwrap();
    let work = s.env.work();
    let v = s.value("confirm");
    s.add(&work, "guarded", &v, &[]);
    s.json(&work, &["secrets", "unlock"]);
    // No cockpit polling yet: released without asking.
    let args = ["secrets", "run", "--", "true"];
    let c = no_identity(s, &work, &args);
    let out = s.exec(c, &args, None);
    assert_ok(&args, &out);

    // A "cockpit" attaches by polling /secrets/pending.
    let (code_, body) = curl(s, "GET", "/secrets/pending", None, true);
    assert_eq!(code_, 200, "{body}");
    let st = s.json(&work, &["secrets", "status"]);
    assert_eq!(st["daemon"]["cockpit_attached"], true);
    assert_eq!(st["daemon"]["confirm"], "always");

    for (answer, expect_ok) in [(Some(true), true), (Some(false), false), (None, false)] {
        let mut c = no_identity(s, &work, &args);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = c.spawn().unwrap();
        // Wait for the release to show up, then answer it (or not).
        let mut id = None;
        for _ in 0..100 {
            let (_, body) = curl(s, "GET", "/secrets/pending", None, true);
            let j: serde_json::Value = serde_json::from_str(&body).unwrap();
            if let Some(p) = j["pending"].as_array().and_then(|a| a.first()) {
                assert_eq!(p["names"], serde_json::json!(["guarded"]));
                assert!(p["requester"]["command"].as_str().unwrap().contains("secrets run"), "{p}");
                id = p["id"].as_u64();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let id = id.expect("the release never appeared in /secrets/pending");
        if let Some(allow) = answer {
            let (code_, body) = curl(
                s,
                "POST",
                &format!("/secrets/pending/{id}"),
                Some(&format!(r#"{{"allow":{allow}}}"#)),
                true,
            );
            assert_eq!(code_, 200, "{body}");
        }
        let out = child.wait_with_output().unwrap();
        s.record(&["secrets", "run", "(confirm)"], &out);
        if expect_ok {
            assert_ok(&["run after allow"], &out);
        } else {
            assert_eq!(code(&out), Some(1), "{}", stderr(&out));
            assert!(stderr(&out).contains("refused"), "{}", stderr(&out));
        }
    }
}
