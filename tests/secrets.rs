//! `patina secrets` through the binary: vaults, identity, run (local and --ssh), the daemon cache,
//! and a leak check.
//!
//! Leak check design: every scenario runs through [`S`], which records every stdout and stderr
//! patina produced and knows every secret value (and identity key) the scenario used. When a
//! scenario ends, [`S::scan`] looks for each of them in the recorded output and in every file
//! under the scenario's temp root (PATINA_HOME with its logs, the project with its session log
//! and `.patina/`, HOME), except `inputs/`, where the test itself keeps values it feeds in and
//! what the fake ssh and the children captured. `no_secret_value_leaks_anywhere` runs all
//! scenarios again in one test and fails on any hit, listing what it scanned.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use age::secrecy::ExposeSecret;
use common::Env;

/// One scenario's world: isolated env, an identity, known secret values, recorded outputs.
struct S {
    env: Env,
    /// `AGE-SECRET-KEY-1…` used through PATINA_IDENTITY (unless a test removes it).
    key: String,
    recipient: String,
    /// Values that must never appear in any output.
    secrets: Vec<String>,
    /// (label, bytes) of every stdout/stderr patina produced.
    outputs: Vec<(String, Vec<u8>)>,
    scanned: bool,
}

struct Scan {
    outputs: usize,
    files: usize,
    bytes: usize,
    hits: Vec<String>,
}

impl S {
    fn new() -> S {
        let env = Env::new();
        let id = age::x25519::Identity::generate();
        let key = id.to_string().expose_secret().to_string();
        let recipient = id.to_public().to_string();
        std::fs::create_dir_all(env.root.path().join("inputs/bin")).unwrap();
        S {
            env,
            key: key.clone(),
            recipient,
            secrets: vec![key],
            outputs: vec![],
            scanned: false,
        }
    }

    fn root(&self) -> &Path {
        self.env.root.path()
    }

    /// Where the test keeps inputs and captures (excluded from the leak scan).
    fn inputs(&self) -> PathBuf {
        self.root().join("inputs")
    }

    fn home(&self) -> PathBuf {
        self.env.patina_home()
    }

    /// A fresh unique secret value, registered for the leak scan.
    fn value(&mut self, label: &str) -> String {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).unwrap();
        let v = format!("{label}-s3cr3t-{}", hex::encode(b));
        self.secrets.push(v.clone());
        v
    }

    /// patina with PATINA_IDENTITY set.
    fn cmd(&self, cwd: &Path, args: &[&str]) -> Command {
        let mut c = self.env.cmd(cwd);
        c.env("PATINA_IDENTITY", &self.key)
            .env_remove("PATINA_PASSPHRASE_FILE")
            .args(args);
        c
    }

    fn record(&mut self, args: &[&str], out: &Output) {
        let label = args.join(" ");
        self.outputs
            .push((format!("stdout of {label}"), out.stdout.clone()));
        self.outputs
            .push((format!("stderr of {label}"), out.stderr.clone()));
    }

    /// Run and record; stdin from `input` (or null).
    fn exec(&mut self, mut c: Command, args: &[&str], input: Option<&[u8]>) -> Output {
        let out = match input {
            None => c.output().unwrap(),
            Some(data) => {
                c.stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let mut child = c.spawn().unwrap();
                // patina may refuse before reading stdin (broken pipe is fine).
                let _ = child.stdin.take().unwrap().write_all(data);
                child.wait_with_output().unwrap()
            }
        };
        self.record(args, &out);
        out
    }

    fn run(&mut self, cwd: &Path, args: &[&str]) -> Output {
        let c = self.cmd(cwd, args);
        self.exec(c, args, None)
    }

    fn run_in(&mut self, cwd: &Path, args: &[&str], input: &[u8]) -> Output {
        let c = self.cmd(cwd, args);
        self.exec(c, args, Some(input))
    }

    fn ok(&mut self, cwd: &Path, args: &[&str]) -> String {
        let out = self.run(cwd, args);
        assert_ok(args, &out);
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&mut self, cwd: &Path, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.push("--json");
        let s = self.ok(cwd, &a);
        serde_json::from_str(&s).unwrap_or_else(|e| panic!("{args:?}: bad JSON {e}: {s}"))
    }

    /// `secrets add NAME --stdin [extra...]` with `value` piped in.
    fn add(&mut self, cwd: &Path, name: &str, value: &str, extra: &[&str]) {
        let mut args = vec!["secrets", "add", name, "--stdin"];
        args.extend_from_slice(extra);
        let out = self.run_in(cwd, &args, format!("{value}\n").as_bytes());
        assert_ok(&args, &out);
    }

    /// Put a fake `ssh` first on PATH: records argv and stdin under inputs/ssh/, then plays the
    /// remote side by running the remote command (`sh -s`) on the recorded stdin.
    fn fake_ssh(&self) -> PathBuf {
        let bin = self.inputs().join("bin");
        let script = format!(
            "#!/bin/sh\nd='{}'\nmkdir -p \"$d\"\nprintf '%s\\n' \"$@\" > \"$d/argv\"\ncat > \"$d/stdin\"\n\
             [ \"$1\" = -T ] && [ \"$2\" = -- ] || exit 250\nshift 3\nexec \"$@\" < \"$d/stdin\"\n",
            self.inputs().join("ssh").display()
        );
        let p = bin.join("ssh");
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin
    }

    fn path_with(&self, bin: &Path) -> String {
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// Look for every secret in the recorded outputs and in every file outside inputs/.
    fn scan(&mut self) -> Scan {
        self.scanned = true;
        let mut scan = Scan {
            outputs: 0,
            files: 0,
            bytes: 0,
            hits: vec![],
        };
        for (label, bytes) in &self.outputs {
            scan.outputs += 1;
            scan.bytes += bytes.len();
            for s in &self.secrets {
                if contains(bytes, s.as_bytes()) {
                    scan.hits.push(format!("{label} contains a secret"));
                }
            }
        }
        let mut stack = vec![self.root().to_path_buf()];
        let skip = self.inputs();
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p == skip {
                    continue;
                }
                let ft = e.file_type().unwrap();
                if ft.is_dir() {
                    stack.push(p);
                } else if ft.is_file() {
                    let Ok(bytes) = std::fs::read(&p) else {
                        continue;
                    };
                    scan.files += 1;
                    scan.bytes += bytes.len();
                    for s in &self.secrets {
                        if contains(&bytes, s.as_bytes()) {
                            scan.hits.push(format!("{} contains a secret", p.display()));
                        }
                    }
                }
            }
        }
        scan
    }

    /// Stop a daemon this scenario may have started (by its own CLI; never by name).
    fn stop_daemon(&mut self) {
        let _ = self.env.cmd(self.root()).args(["serve", "stop"]).output();
    }
}

impl Drop for S {
    fn drop(&mut self) {
        self.stop_daemon();
        if !self.scanned && !std::thread::panicking() {
            let scan = self.scan();
            assert!(scan.hits.is_empty(), "secret leaked: {:#?}", scan.hits);
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn assert_ok(args: &[&str], out: &Output) {
    assert!(
        out.status.success(),
        "patina {args:?} failed ({:?})\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

// ---------------------------------------------------------------------------------------------
// Scenarios (each a plain function so the leak test can run them all again)

fn scenario_add_list_run(s: &mut S) {
    let work = s.env.work();
    let gh = s.value("gh");
    let db = s.value("db");
    s.add(&work, "github-token", &gh, &[]);
    s.add(&work, "db-pass", &db, &["--env", "DATABASE_PASSWORD"]);

    // Files: 0600 from creation, registry lists names and vars only.
    let vault = s.home().join("vault.age");
    let reg = s.home().join("secrets.toml");
    assert_eq!(mode(&vault), 0o600);
    assert_eq!(mode(&reg), 0o600);
    let reg_text = std::fs::read_to_string(&reg).unwrap();
    assert!(reg_text.contains("DATABASE_PASSWORD"), "{reg_text}");

    let list = s.json(&work, &["secrets", "list"]);
    let v = &list["vaults"][0];
    assert_eq!(v["vault"], "global");
    assert_eq!(v["state"], "ok");
    let names: Vec<(&str, &str)> = v["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["env"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("db-pass", "DATABASE_PASSWORD"),
            ("github-token", "GITHUB_TOKEN")
        ]
    );
    let human = s.ok(&work, &["secrets", "list"]);
    assert!(human.contains("$GITHUB_TOKEN"), "{human}");

    // run: the child sees the variables, not the identity, passphrase or token variables.
    let envfile = s.inputs().join("child-env");
    let script = format!("env > '{}'", envfile.display());
    let mut c = s.cmd(&work, &["secrets", "run", "--", "sh", "-c", &script]);
    c.env("PATINA_PASSPHRASE_FILE", "/nonexistent")
        .env("PATINA_TOKEN", "tok-123")
        .env("PATINA_MOTHER_TOKEN", "tok-456")
        .env("KEEP_ME", "yes");
    let out = s.exec(c, &["secrets", "run", "env"], None);
    assert_ok(&["run"], &out);
    let child = std::fs::read_to_string(&envfile).unwrap();
    assert!(
        child.contains(&format!("GITHUB_TOKEN={gh}\n")),
        "child env lacks GITHUB_TOKEN"
    );
    assert!(child.contains(&format!("DATABASE_PASSWORD={db}\n")));
    assert!(child.contains("KEEP_ME=yes\n"));
    for withheld in [
        "PATINA_IDENTITY",
        "PATINA_PASSPHRASE_FILE",
        "PATINA_TOKEN",
        "PATINA_MOTHER_TOKEN",
    ] {
        assert!(
            !child
                .lines()
                .any(|l| l.starts_with(&format!("{withheld}="))),
            "{withheld} reached the child"
        );
    }
    // Status lines on stderr; stdout is the child's alone (empty here).
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr(&out).contains("$GITHUB_TOKEN"), "{}", stderr(&out));

    // --only releases just that one.
    let script = format!("env > '{}'", envfile.display());
    s.ok(
        &work,
        &[
            "secrets", "run", "--only", "db-pass", "--", "sh", "-c", &script,
        ],
    );
    let child = std::fs::read_to_string(&envfile).unwrap();
    assert!(child.contains("DATABASE_PASSWORD="));
    assert!(!child.contains("GITHUB_TOKEN="));
    let out = s.run(&work, &["secrets", "run", "--only", "nope", "--", "true"]);
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));

    // Replace, then remove.
    let gh2 = s.value("gh2");
    s.add(&work, "github-token", &gh2, &[]);
    let script = format!("printenv GITHUB_TOKEN > '{}'", envfile.display());
    s.ok(&work, &["secrets", "run", "--", "sh", "-c", &script]);
    assert_eq!(
        std::fs::read_to_string(&envfile).unwrap(),
        format!("{gh2}\n")
    );
    s.json(&work, &["secrets", "rm", "github-token"]);
    let out = s.run(&work, &["secrets", "rm", "github-token"]);
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    let list = s.json(&work, &["secrets", "list"]);
    assert_eq!(list["vaults"][0]["secrets"].as_array().unwrap().len(), 1);
}

fn scenario_values_never_as_arguments(s: &mut S) {
    let work = s.env.work();
    let v = s.value("argv");
    let out = s.run(&work, &["secrets", "add", "token", &v]);
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("never accepted as an argument"),
        "{}",
        stderr(&out)
    );
    // Piped input without --stdin: refused, nothing read or written.
    let out = s.run_in(&work, &["secrets", "add", "token"], v.as_bytes());
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--stdin"), "{}", stderr(&out));
    assert!(!s.home().join("vault.age").exists());
    // Empty value refused.
    let out = s.run_in(&work, &["secrets", "add", "token", "--stdin"], b"\n");
    assert_ne!(code(&out), Some(0));
}

fn scenario_name_validation(s: &mut S) {
    let work = s.env.work();
    let v = s.value("names");
    for bad in ["Token", "1abc", "a--b", "a_b", "-x", "a-", "x;rm"] {
        let out = s.run_in(&work, &["secrets", "add", bad, "--stdin"], v.as_bytes());
        assert_eq!(code(&out), Some(2), "{bad}: {}", stderr(&out));
        if !bad.starts_with('-') {
            assert!(
                stderr(&out).contains("invalid secret name"),
                "{bad}: {}",
                stderr(&out)
            );
        }
    }
    for bad in ["lower", "1A", "A-B", "A;B", "$(id)"] {
        let out = s.run_in(
            &work,
            &["secrets", "add", "ok", "--env", bad, "--stdin"],
            v.as_bytes(),
        );
        assert_eq!(code(&out), Some(2), "{bad}: {}", stderr(&out));
    }
    s.add(&work, "one", &v, &["--env", "SHARED"]);
    let out = s.run_in(
        &work,
        &["secrets", "add", "two", "--env", "SHARED", "--stdin"],
        v.as_bytes(),
    );
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));

    // A registry edited to carry an injectable variable name is refused on load.
    let reg = s.home().join("secrets.toml");
    let text = std::fs::read_to_string(&reg).unwrap();
    std::fs::write(&reg, text.replace("\"SHARED\"", "\"X;touch /tmp/pwn\"")).unwrap();
    let out = s.run(&work, &["secrets", "list"]);
    assert_eq!(code(&out), Some(1));
    assert!(
        stderr(&out).contains("invalid environment variable name"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("secrets.toml"), "{}", stderr(&out));
    let out = s.run(&work, &["secrets", "run", "--", "true"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
}

fn scenario_exit_codes(s: &mut S) {
    let work = s.env.work();
    let v = s.value("exit");
    s.add(&work, "k", &v, &[]);
    let out = s.run(&work, &["secrets", "run", "--", "sh", "-c", "exit 7"]);
    assert_eq!(code(&out), Some(7));
    let out = s.run(
        &work,
        &["secrets", "run", "--", "sh", "-c", "kill -TERM $$"],
    );
    assert_eq!(code(&out), Some(128 + 15), "{}", stderr(&out));
    let out = s.run(
        &work,
        &["secrets", "run", "--", "sh", "-c", "kill -KILL $$"],
    );
    assert_eq!(code(&out), Some(128 + 9));
    let out = s.run(
        &work,
        &["secrets", "run", "--", "definitely-not-a-command-xyz"],
    );
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    let out = s.run(&work, &["secrets", "run"]);
    assert_eq!(code(&out), Some(2));
    // stdout of the child passes through untouched.
    let out = s.run(&work, &["secrets", "run", "--", "echo", "hello"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
}

fn scenario_ssh(s: &mut S) {
    let work = s.env.work();
    let nasty = format!("{}'$(touch pwned)\"`x`;\n|&", s.value("ssh"));
    s.secrets.push(nasty.clone());
    s.add(&work, "deploy-key", &nasty, &[]);
    let bin = s.fake_ssh();
    let out_file = s.inputs().join("remote-out");
    let remote_script = format!(
        "printenv DEPLOY_KEY > '{}'; echo \"$1\" >> '{}'; exit 42",
        out_file.display(),
        out_file.display()
    );
    let args = [
        "secrets",
        "run",
        "--ssh",
        "deploy@example.com",
        "--",
        "sh",
        "-c",
        &remote_script,
        "sh",
        "arg with 'quotes' and $HOME",
    ];
    let mut c = s.cmd(&work, &args);
    c.env("PATH", s.path_with(&bin));
    let out = s.exec(c, &args, None);
    assert_eq!(code(&out), Some(42), "{}", stderr(&out));
    let argv = std::fs::read_to_string(s.inputs().join("ssh/argv")).unwrap();
    assert_eq!(argv, "-T\n--\ndeploy@example.com\nsh\n-s\n");
    let stdin = std::fs::read_to_string(s.inputs().join("ssh/stdin")).unwrap();
    assert!(stdin.contains("export DEPLOY_KEY="), "{stdin}");
    assert!(!stdin.contains("PATINA_IDENTITY"));
    // The remote command arrived quoted: the value and the argument survive intact.
    let got = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(got, format!("{nasty}\narg with 'quotes' and $HOME\n"));
    assert!(!s.env.work().join("pwned").exists());
    // Option injection through the host is refused before ssh runs.
    let out = s.run(
        &work,
        &["secrets", "run", "--ssh", "-oProxyCommand=x", "--", "true"],
    );
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
}

fn scenario_tampered_vault(s: &mut S) {
    let work = s.env.work();
    let v = s.value("tamper");
    s.add(&work, "k", &v, &[]);
    let vault = s.home().join("vault.age");
    let reg = s.home().join("secrets.toml");
    let text = std::fs::read_to_string(&vault).unwrap();
    // Flip one base64 character in the middle of the armored body.
    let lines: Vec<&str> = text.lines().collect();
    let mid = lines.len() / 2;
    let mut l: Vec<char> = lines[mid].chars().collect();
    let i = l.len() / 2;
    l[i] = if l[i] == 'A' { 'B' } else { 'A' };
    let mut tampered: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    tampered[mid] = l.into_iter().collect();
    let tampered = tampered.join("\n") + "\n";
    std::fs::write(&vault, &tampered).unwrap();
    let reg_before = std::fs::read(&reg).unwrap();

    let w = s.value("tamper2");
    for args in [
        vec!["secrets", "run", "--", "true"],
        vec!["secrets", "rm", "k"],
    ] {
        let out = s.run(&work, &args);
        assert_eq!(code(&out), Some(1), "{args:?}: {}", stderr(&out));
        let e = stderr(&out);
        assert!(
            e.contains("vault.age") && (e.contains("tampered") || e.contains("corrupted")),
            "{e}"
        );
    }
    let out = s.run_in(&work, &["secrets", "add", "other", "--stdin"], w.as_bytes());
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    // Nothing overwritten.
    assert_eq!(std::fs::read_to_string(&vault).unwrap(), tampered);
    assert_eq!(std::fs::read(&reg).unwrap(), reg_before);
    // list (no decryption) says the registry no longer matches the file.
    let out = s.run(&work, &["secrets", "list", "--json"]);
    assert_ok(&["list"], &out);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["vaults"][0]["state"], "out_of_sync");
    assert!(
        stderr(&out).contains("changed outside patina"),
        "{}",
        stderr(&out)
    );
}

fn scenario_age_cli_interop(s: &mut S) {
    if !common::require_tool("age") {
        return;
    }
    let work = s.env.work();
    let v = s.value("interop");
    s.add(&work, "api-key", &v, &[]);
    // patina → age CLI
    let keyfile = s.inputs().join("key.txt");
    s.ok(
        &work,
        &["secrets", "export-key", "--out", keyfile.to_str().unwrap()],
    );
    assert_eq!(mode(&keyfile), 0o600);
    let plain = s.inputs().join("plain.toml");
    let st = Command::new("age")
        .args(["-d", "-i"])
        .arg(&keyfile)
        .arg("-o")
        .arg(&plain)
        .arg(s.home().join("vault.age"))
        .status()
        .unwrap();
    assert!(st.success());
    let text = std::fs::read_to_string(&plain).unwrap();
    assert!(
        text.contains(&format!("api-key = \"{v}\"")),
        "age -d output is not the vault TOML"
    );
    assert!(text.contains("[meta]"));

    // age CLI → patina: a vault written by `age -r` (no registry) is read, the registry rebuilt.
    let w = s.value("fromage");
    std::fs::write(
        &plain,
        format!("[meta.env]\nfrom-age = \"FROM_AGE\"\n\n[values]\nfrom-age = \"{w}\"\nplain-default = \"{w}x\"\n"),
    )
    .unwrap();
    s.secrets.push(format!("{w}x"));
    std::fs::remove_file(s.home().join("secrets.toml")).unwrap();
    let st = Command::new("age")
        .args(["-r", &s.recipient, "-o"])
        .arg(s.home().join("vault.age"))
        .arg(&plain)
        .stderr(Stdio::null())
        .status();
    // age refuses to overwrite? it truncates; make sure it worked.
    assert!(st.unwrap().success());
    let list = s.json(&work, &["secrets", "list"]);
    assert_eq!(list["vaults"][0]["state"], "out_of_sync");
    let envfile = s.inputs().join("child-env");
    let script = format!("printenv FROM_AGE PLAIN_DEFAULT > '{}'", envfile.display());
    let out = s.run(&work, &["secrets", "run", "--", "sh", "-c", &script]);
    assert_ok(&["run"], &out);
    assert!(
        stderr(&out).contains("rebuilt it from the vault"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&envfile).unwrap(),
        format!("{w}\n{w}x\n")
    );
    let list = s.json(&work, &["secrets", "list"]);
    assert_eq!(list["vaults"][0]["state"], "ok");
    assert_eq!(list["vaults"][0]["secrets"].as_array().unwrap().len(), 2);
}

fn scenario_identity_file_and_passphrase(s: &mut S) {
    let work = s.env.work();
    let pp = s.inputs().join("pp");
    let pass = s.value("pass");
    std::fs::write(&pp, format!("{pass}\n")).unwrap();
    let init = |s: &mut S, args: &[&str]| {
        let mut c = s.env.cmd(&work);
        c.env("PATINA_PASSPHRASE_FILE", &pp).args(args);
        s.exec(c, args, None)
    };
    let out = init(s, &["secrets", "init", "--json"]);
    assert_ok(&["init"], &out);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let recipient = j["recipient"].as_str().unwrap().to_string();
    assert!(recipient.starts_with("age1"));
    let id = s.home().join("identity.age");
    assert_eq!(mode(&id), 0o600);
    assert!(
        std::fs::read_to_string(&id)
            .unwrap()
            .starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
    );
    assert_eq!(
        std::fs::read_to_string(s.home().join("recipient.txt"))
            .unwrap()
            .trim(),
        recipient
    );
    let before = std::fs::read(&id).unwrap();
    let out = init(s, &["secrets", "init"]);
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert_eq!(std::fs::read(&id).unwrap(), before);

    // add + run with the passphrase file; the vault is encrypted to recipient.txt's key.
    let v = s.value("pp-secret");
    let args = ["secrets", "add", "k", "--stdin"];
    let mut c = s.env.cmd(&work);
    c.env("PATINA_PASSPHRASE_FILE", &pp).args(args);
    let out = s.exec(c, &args, Some(v.as_bytes()));
    assert_ok(&args, &out);
    let envfile = s.inputs().join("child-env");
    let script = format!("printenv K > '{}'", envfile.display());
    let args = ["secrets", "run", "--", "sh", "-c", &script];
    let mut c = s.env.cmd(&work);
    c.env("PATINA_PASSPHRASE_FILE", &pp).args(args);
    let out = s.exec(c, &args, None);
    assert_ok(&args, &out);
    assert_eq!(std::fs::read_to_string(&envfile).unwrap(), format!("{v}\n"));

    // Wrong passphrase: a clear error, nothing changed.
    let bad = s.inputs().join("bad-pp");
    std::fs::write(&bad, "wrong\n").unwrap();
    let args = ["secrets", "run", "--", "true"];
    let mut c = s.env.cmd(&work);
    c.env("PATINA_PASSPHRASE_FILE", &bad).args(args);
    let out = s.exec(c, &args, None);
    assert_eq!(code(&out), Some(1));
    assert!(
        stderr(&out).contains("wrong passphrase"),
        "{}",
        stderr(&out)
    );

    // No passphrase source and no terminal: exit 5 with what to set.
    let mut c = s.env.cmd(&work);
    c.args(args);
    // setsid: make sure there is no controlling terminal to prompt on.
    let mut c2 = Command::new("setsid");
    c2.arg(c.get_program());
    c2.args(c.get_args());
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => c2.env(k, v),
            None => c2.env_remove(k),
        };
    }
    c2.current_dir(&work).stdin(Stdio::null());
    let out = s.exec(c2, &args, None);
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("PATINA_PASSPHRASE_FILE"),
        "{}",
        stderr(&out)
    );

    // export-key with the passphrase, then PATINA_IDENTITY_FILE with the plain key works
    // without any passphrase; export refuses to overwrite.
    let key = s.inputs().join("exported.key");
    let args = ["secrets", "export-key", "--out", key.to_str().unwrap()];
    let mut c = s.env.cmd(&work);
    c.env("PATINA_PASSPHRASE_FILE", &pp).args(args);
    let out = s.exec(c, &args, None);
    assert_ok(&args, &out);
    assert_eq!(mode(&key), 0o600);
    let exported = std::fs::read_to_string(&key).unwrap();
    let secret_line = exported
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    s.secrets.push(secret_line.to_string());
    let mut c = s.env.cmd(&work);
    c.env("PATINA_PASSPHRASE_FILE", &pp).args(args);
    let out = s.exec(c, &args, None);
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), exported);
    let args = ["secrets", "run", "--", "sh", "-c", &script];
    let mut c = s.env.cmd(&work);
    c.env("PATINA_IDENTITY_FILE", &key).args(args);
    let out = s.exec(c, &args, None);
    assert_ok(&args, &out);

    // status names the identity source and recipient, never the key.
    let st = s.json(&work, &["secrets", "status"]);
    assert_eq!(st["identity"]["source"]["kind"], "env");
}

fn scenario_project_vault_and_recipients(s: &mut S) {
    let proj = s.env.project("p");
    let sub = proj.join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let g = s.value("global");
    let p = s.value("project");
    s.add(&proj, "shared", &g, &[]);
    s.add(&sub, "shared", &p, &["--project"]);
    s.add(&proj, "team-only", &p, &["--project", "--env", "TEAM"]);
    assert!(proj.join(".patina/vault.age").is_file());
    assert!(
        !sub.join(".patina").exists(),
        "created files in a subdirectory"
    );
    let recips = s.json(&proj, &["secrets", "recipients", "list"]);
    assert_eq!(recips["recipients"], serde_json::json!([s.recipient]));

    let list = s.json(&sub, &["secrets", "list"]);
    assert_eq!(list["vaults"].as_array().unwrap().len(), 2);
    assert_eq!(list["vaults"][1]["vault"], "project");

    // The project's value wins for the same variable, and stderr says so.
    let envfile = s.inputs().join("child-env");
    let script = format!("printenv SHARED TEAM > '{}'", envfile.display());
    let out = s.run(&proj, &["secrets", "run", "--", "sh", "-c", &script]);
    assert_ok(&["run"], &out);
    assert_eq!(
        std::fs::read_to_string(&envfile).unwrap(),
        format!("{p}\n{p}\n")
    );
    assert!(stderr(&out).contains("overrides"), "{}", stderr(&out));
    // An in-process release is logged in the active session too.
    s.ok(&proj, &["session", "start", "project secrets"]);
    s.ok(
        &proj,
        &["secrets", "run", "--only", "team-only", "--", "true"],
    );
    let log = std::fs::read_to_string(proj.join(".patina/local/active-session.md")).unwrap();
    assert!(
        log.contains("Secrets released")
            && log.contains("`team-only`")
            && log.contains("in-process"),
        "{log}"
    );

    // A teammate: after `recipients add`, their key decrypts the project vault too.
    let mate = age::x25519::Identity::generate();
    let mate_key = mate.to_string().expose_secret().to_string();
    s.secrets.push(mate_key.clone());
    let mate_r = mate.to_public().to_string();
    let before = std::fs::read(proj.join(".patina/vault.age")).unwrap();
    let r = s.json(&proj, &["secrets", "recipients", "add", &mate_r]);
    assert_eq!(r["reencrypted"], true);
    assert_eq!(r["recipients"].as_array().unwrap().len(), 2);
    assert_ne!(
        std::fs::read(proj.join(".patina/vault.age")).unwrap(),
        before
    );
    let out = s.run(&proj, &["secrets", "recipients", "add", &mate_r]);
    assert_eq!(code(&out), Some(3));
    let team_script = format!("printenv TEAM > '{}'", envfile.display());
    let args = [
        "secrets",
        "run",
        "--only",
        "team-only",
        "--",
        "sh",
        "-c",
        &team_script,
    ];
    let mut c = s.env.cmd(&proj);
    c.env("PATINA_IDENTITY", &mate_key).args(args);
    // The teammate has no global vault of their own: point PATINA_HOME elsewhere.
    c.env("PATINA_HOME", s.inputs().join("mate-home"));
    let out = s.exec(c, &args, None);
    assert_ok(&args, &out);
    assert_eq!(std::fs::read_to_string(&envfile).unwrap(), format!("{p}\n"));
    // Removing them re-encrypts; they are locked out; the last recipient cannot go.
    s.json(&proj, &["secrets", "recipients", "rm", &mate_r]);
    let mut c = s.env.cmd(&proj);
    c.env("PATINA_IDENTITY", &mate_key)
        .env("PATINA_HOME", s.inputs().join("mate-home"))
        .args(args);
    let out = s.exec(c, &args, None);
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("recipients add"), "{}", stderr(&out));
    let out = s.run(
        &proj,
        &["secrets", "recipients", "rm", &s.recipient.clone()],
    );
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("last recipient"), "{}", stderr(&out));
    let out = s.run(&proj, &["secrets", "recipients", "add", "age1notakey"]);
    assert_ne!(code(&out), Some(0));
}

fn scenario_registry_rebuilt_after_loss(s: &mut S) {
    let work = s.env.work();
    let v = s.value("rebuild");
    s.add(&work, "a", &v, &[]);
    s.add(&work, "b", &v, &[]);
    // A registry lost (or left behind by an interrupted write) is detected, never trusted, and
    // rebuilt from the vault by the next command that decrypts.
    std::fs::remove_file(s.home().join("secrets.toml")).unwrap();
    let list = s.json(&work, &["secrets", "list"]);
    assert_eq!(list["vaults"][0]["state"], "out_of_sync");
    s.ok(&work, &["secrets", "run", "--", "true"]);
    let list = s.json(&work, &["secrets", "list"]);
    assert_eq!(list["vaults"][0]["state"], "ok");
    assert_eq!(list["vaults"][0]["secrets"].as_array().unwrap().len(), 2);
    // No stray temp files next to the vault.
    let stray: Vec<_> = std::fs::read_dir(s.home())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty());
}

fn scenario_masked_prompt_on_a_terminal(s: &mut S) {
    if !common::require_tool("tmux") {
        return;
    }
    let work = s.env.work();
    let v = s.value("typed");
    let keyfile = s.inputs().join("id.key");
    std::fs::write(&keyfile, format!("{}\n", s.key)).unwrap();
    let done = s.inputs().join("done");
    // The pane runs patina with a real terminal; the identity comes from a file, not argv.
    let script = s.inputs().join("pane.sh");
    std::fs::write(
        &script,
        format!(
            "export PATINA_HOME='{}' XDG_CONFIG_HOME='{}' HOME='{}' PATINA_IDENTITY_FILE='{}'\n\
             unset PATINA_IDENTITY PATINA_PASSPHRASE_FILE\n\
             cd '{}'\n'{}' secrets add typed-secret --env TYPED\necho \"rc=$?\" > '{}'\nsleep 30\n",
            s.home().display(),
            s.env.xdg().display(),
            s.env.home().display(),
            keyfile.display(),
            work.display(),
            env!("CARGO_BIN_EXE_patina"),
            done.display()
        ),
    )
    .unwrap();
    let mut r = [0u8; 4];
    getrandom::fill(&mut r).unwrap();
    let sock = format!("patina-secrets-{}-{}", std::process::id(), hex::encode(r));
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &sock])
            .args(args)
            .output()
            .unwrap()
    };
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("tmux")
                .args(["-L", &self.0, "kill-server"])
                .output();
        }
    }
    let _kill = Kill(sock.clone());
    let out = tmux(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "120",
        "-y",
        "20",
        "sh",
        script.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let capture = |s: &mut S| {
        let out = tmux(&["capture-pane", "-p", "-t", "t"]);
        s.record(&["tmux capture-pane"], &out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut screen = String::new();
    for _ in 0..100 {
        screen = capture(s);
        if screen.contains("Value for typed-secret:") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        screen.contains("Value for typed-secret:"),
        "no prompt:\n{screen}"
    );
    tmux(&["send-keys", "-t", "t", "-l", &v]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let typed = capture(s);
    assert!(typed.contains("****"), "input not masked:\n{typed}");
    tmux(&["send-keys", "-t", "t", "Enter"]);
    for _ in 0..100 {
        if done.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let screen = capture(s);
    assert_eq!(
        std::fs::read_to_string(&done).unwrap().trim(),
        "rc=0",
        "{screen}"
    );
    assert!(screen.contains("added typed-secret"), "{screen}");
    let envfile = s.inputs().join("child-env");
    let sh = format!("printenv TYPED > '{}'", envfile.display());
    s.ok(&work, &["secrets", "run", "--", "sh", "-c", &sh]);
    assert_eq!(std::fs::read_to_string(&envfile).unwrap(), format!("{v}\n"));
}

fn scenario_concurrent_writers_lose_nothing(s: &mut S) {
    let work = s.env.work();
    let v = s.value("concurrent");
    // Writers serialise on the vault lock: every add survives.
    let mut children = Vec::new();
    for i in 0..4 {
        let name = format!("c{i}");
        let args = ["secrets", "add", name.as_str(), "--stdin"];
        let mut c = s.cmd(&work, &args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{v}{i}").as_bytes())
            .unwrap();
        s.secrets.push(format!("{v}{i}"));
        children.push(child);
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        s.record(&["secrets", "add", "(concurrent)"], &out);
        assert_ok(&["concurrent add"], &out);
    }
    let list = s.json(&work, &["secrets", "list"]);
    assert_eq!(list["vaults"][0]["state"], "ok");
    assert_eq!(
        list["vaults"][0]["secrets"].as_array().unwrap().len(),
        4,
        "{list}"
    );
}

// ---------------------------------------------------------------------------------------------
// With the daemon

/// `curl --unix-socket` against this scenario's daemon: (status, body). Not recorded for the
/// leak scan when `record` is false (a resolve answer carries values by design).
fn curl(s: &mut S, method: &str, path: &str, body: Option<&str>, record: bool) -> (u16, String) {
    let sock = s.home().join("run/serve.sock");
    let mut c = Command::new("curl");
    c.args([
        "-sS",
        "--max-time",
        "30",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        "--unix-socket",
    ])
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
    s.ok(&proj, &["session", "start", "secrets release log"]);

    // Without a daemon and without an identity, run cannot get values.
    let args = ["secrets", "run", "--", "true"];
    let c = no_identity(s, &proj, &args);
    let out = s.exec(c, &args, None);
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));

    // unlock starts the daemon and caches the vault.
    let j = s.json(&proj, &["secrets", "unlock", "--ttl", "600"]);
    assert_eq!(
        j["vaults"][0]["names"],
        serde_json::json!(["alpha", "beta"])
    );
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
    assert_eq!(
        std::fs::read_to_string(&envfile).unwrap(),
        format!("{a}\n{b}\n")
    );
    // The release is in the session's activity log: names and requester, never values.
    let log = std::fs::read_to_string(proj.join(".patina/local/active-session.md")).unwrap();
    let entry = log
        .split("### ")
        .find(|e| e.contains("Secrets released"))
        .unwrap_or_else(|| panic!("no release entry in the session log:\n{log}"));
    assert!(
        entry.contains("`alpha`") && entry.contains("`beta`"),
        "{entry}"
    );
    assert!(
        entry.contains("via daemon") && entry.contains("secrets run"),
        "{entry}"
    );

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
    assert_eq!(
        j["env"].as_object().unwrap().len(),
        1,
        "released more than asked"
    );
    assert_eq!(j["env"]["ALPHA"], a.as_str());
    let bad =
        format!(r#"{{"vault_id":"{id}","names":["nope"],"requester":{{"pid":1,"command":"t"}}}}"#);
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
    assert_eq!(code_, 423, "old vault id still resolvable");
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
    assert_eq!(code_, 423, "{body}");
    assert!(body.contains(r#""kind":"locked""#), "{body}");
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
    let req = format!(
        r#"{{"vault_id":"{id}","names":["short-lived"],"requester":{{"pid":1,"command":"t"}}}}"#
    );
    let (code_, _) = curl(s, "POST", "/secrets/resolve", Some(&req), true);
    assert_eq!(code_, 423);
    // A huge TTL is clamped to the cap, not overflowed.
    let j = s.json(
        &work,
        &["secrets", "unlock", "--ttl", "18446744073709551615"],
    );
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
                assert!(
                    p["requester"]["command"]
                        .as_str()
                        .unwrap()
                        .contains("secrets run"),
                    "{p}"
                );
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
            assert_eq!(code(&out), Some(8), "denied: {}", stderr(&out));
            assert!(stderr(&out).contains("refused"), "{}", stderr(&out));
        }
    }
}

fn scenario_daemon_confirm_first(s: &mut S) {
    if !common::require_tool("curl") {
        return;
    }
    let cfg = s.env.xdg().join("patina");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("config.toml"), "[secrets]\nconfirm = \"first\"\n").unwrap();
    let work = s.env.work();
    let v = s.value("first");
    s.add(&work, "once", &v, &[]);
    s.json(&work, &["secrets", "unlock"]);
    curl(s, "GET", "/secrets/pending", None, true);
    let args = ["secrets", "run", "--", "true"];
    // The first release waits for the cockpit; allow it.
    let mut c = no_identity(s, &work, &args);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    let mut answered = false;
    for _ in 0..100 {
        let (_, body) = curl(s, "GET", "/secrets/pending", None, true);
        let j: serde_json::Value = serde_json::from_str(&body).unwrap();
        if let Some(id) = j["pending"][0]["id"].as_u64() {
            let (code_, _) = curl(
                s,
                "POST",
                &format!("/secrets/pending/{id}"),
                Some(r#"{"allow":true}"#),
                true,
            );
            assert_eq!(code_, 200);
            answered = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(answered, "the first release never waited for the cockpit");
    let out = child.wait_with_output().unwrap();
    s.record(&["secrets", "run", "(first)"], &out);
    assert_ok(&["first run"], &out);
    // Later releases from the same unlock go through without asking (nobody answers here).
    curl(s, "GET", "/secrets/pending", None, true);
    let out = s.exec(no_identity(s, &work, &args), &args, None);
    assert_ok(&["second run"], &out);
}

fn scenario_identity_decrypts_with_age_cli(s: &mut S) {
    if !common::require_tool("age")
        || !common::require_tool("tmux")
        || !common::require_tool("age-keygen")
    {
        return;
    }
    let work = s.env.work();
    let pass = s.value("agepass");
    let pp = s.inputs().join("pp");
    std::fs::write(&pp, format!("{pass}\n")).unwrap();
    let args = ["secrets", "init"];
    let mut c = s.env.cmd(&work);
    c.env("PATINA_PASSPHRASE_FILE", &pp).args(args);
    let out = s.exec(c, &args, None);
    assert_ok(&args, &out);
    // The age CLI asks for the passphrase on a terminal: give it one (tmux).
    let plain = s.inputs().join("identity.txt");
    let done = s.inputs().join("done");
    let script = s.inputs().join("age.sh");
    std::fs::write(
        &script,
        format!(
            "age -d -o '{}' '{}'\necho \"rc=$?\" > '{}'\nsleep 30\n",
            plain.display(),
            s.home().join("identity.age").display(),
            done.display()
        ),
    )
    .unwrap();
    let mut r = [0u8; 4];
    getrandom::fill(&mut r).unwrap();
    let sock = format!(
        "patina-secrets-age-{}-{}",
        std::process::id(),
        hex::encode(r)
    );
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &sock])
            .args(args)
            .output()
            .unwrap()
    };
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("tmux")
                .args(["-L", &self.0, "kill-server"])
                .output();
        }
    }
    let _kill = Kill(sock.clone());
    let out = tmux(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "120",
        "-y",
        "20",
        "sh",
        script.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut screen = String::new();
    for _ in 0..100 {
        let out = tmux(&["capture-pane", "-p", "-t", "t"]);
        s.record(&["tmux capture-pane (age)"], &out);
        screen = String::from_utf8_lossy(&out.stdout).into_owned();
        if screen.to_lowercase().contains("passphrase") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        screen.to_lowercase().contains("passphrase"),
        "age never asked:\n{screen}"
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    tmux(&["send-keys", "-t", "t", "-l", &pass]);
    tmux(&["send-keys", "-t", "t", "Enter"]);
    for _ in 0..300 {
        if done.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = tmux(&["capture-pane", "-p", "-t", "t"]);
    s.record(&["tmux capture-pane (age done)"], &out);
    assert_eq!(
        std::fs::read_to_string(&done).unwrap_or_default().trim(),
        "rc=0",
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = std::fs::read_to_string(&plain).unwrap();
    let key = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .expect("no key in identity.age");
    s.secrets.push(key.to_string());
    let derived = Command::new("age-keygen")
        .arg("-y")
        .arg(&plain)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&derived.stdout).trim(),
        std::fs::read_to_string(s.home().join("recipient.txt"))
            .unwrap()
            .trim()
    );
}

// ---------------------------------------------------------------------------------------------
// The tests

#[test]
fn add_list_run() {
    scenario_add_list_run(&mut S::new());
}

#[test]
fn values_never_as_arguments() {
    scenario_values_never_as_arguments(&mut S::new());
}

#[test]
fn name_validation() {
    scenario_name_validation(&mut S::new());
}

#[test]
fn exit_codes() {
    scenario_exit_codes(&mut S::new());
}

#[test]
fn ssh_values_on_stdin_never_argv() {
    scenario_ssh(&mut S::new());
}

#[test]
fn tampered_vault() {
    scenario_tampered_vault(&mut S::new());
}

#[test]
fn age_cli_interop() {
    scenario_age_cli_interop(&mut S::new());
}

#[test]
fn identity_file_and_passphrase() {
    scenario_identity_file_and_passphrase(&mut S::new());
}

#[test]
fn project_vault_and_recipients() {
    scenario_project_vault_and_recipients(&mut S::new());
}

#[test]
fn registry_rebuilt_after_loss() {
    scenario_registry_rebuilt_after_loss(&mut S::new());
}

#[test]
fn masked_prompt_on_a_terminal() {
    scenario_masked_prompt_on_a_terminal(&mut S::new());
}

#[test]
fn concurrent_writers_lose_nothing() {
    scenario_concurrent_writers_lose_nothing(&mut S::new());
}

#[test]
fn daemon_cache() {
    scenario_daemon_cache(&mut S::new());
}

#[test]
fn daemon_ttl_expiry() {
    scenario_daemon_ttl_expiry(&mut S::new());
}

#[test]
fn daemon_cockpit_confirm() {
    scenario_daemon_cockpit_confirm(&mut S::new());
}

#[test]
fn daemon_confirm_first() {
    scenario_daemon_confirm_first(&mut S::new());
}

#[test]
fn identity_decrypts_with_age_cli() {
    scenario_identity_decrypts_with_age_cli(&mut S::new());
}

type Scenario = (&'static str, fn(&mut S));

const SCENARIOS: &[Scenario] = &[
    ("add_list_run", scenario_add_list_run),
    (
        "values_never_as_arguments",
        scenario_values_never_as_arguments,
    ),
    ("name_validation", scenario_name_validation),
    ("exit_codes", scenario_exit_codes),
    ("ssh", scenario_ssh),
    ("tampered_vault", scenario_tampered_vault),
    ("age_cli_interop", scenario_age_cli_interop),
    (
        "identity_file_and_passphrase",
        scenario_identity_file_and_passphrase,
    ),
    (
        "project_vault_and_recipients",
        scenario_project_vault_and_recipients,
    ),
    (
        "registry_rebuilt_after_loss",
        scenario_registry_rebuilt_after_loss,
    ),
    (
        "masked_prompt_on_a_terminal",
        scenario_masked_prompt_on_a_terminal,
    ),
    (
        "concurrent_writers_lose_nothing",
        scenario_concurrent_writers_lose_nothing,
    ),
    (
        "identity_decrypts_with_age_cli",
        scenario_identity_decrypts_with_age_cli,
    ),
    ("daemon_cache", scenario_daemon_cache),
    ("daemon_ttl_expiry", scenario_daemon_ttl_expiry),
    ("daemon_cockpit_confirm", scenario_daemon_cockpit_confirm),
    ("daemon_confirm_first", scenario_daemon_confirm_first),
];

/// Runs every scenario and scans everything each one produced: all stdout and stderr of every
/// patina invocation, and every file under its temp root (PATINA_HOME incl. logs/patina.log,
/// the project incl. its session log and .patina/, HOME, XDG config) except inputs/.
#[test]
fn no_secret_value_leaks_anywhere() {
    let mut report = Vec::new();
    let mut hits = Vec::new();
    for (name, scenario) in SCENARIOS {
        let mut s = S::new();
        scenario(&mut s);
        s.stop_daemon();
        let scan = s.scan();
        report.push(format!(
            "{name}: {} outputs, {} files, {} bytes, {} secrets",
            scan.outputs,
            scan.files,
            scan.bytes,
            s.secrets.len()
        ));
        assert!(
            scan.outputs > 0 && scan.files > 0,
            "{name}: nothing scanned"
        );
        hits.extend(scan.hits.into_iter().map(|h| format!("{name}: {h}")));
    }
    eprintln!("leak scan:\n  {}", report.join("\n  "));
    assert!(
        hits.is_empty(),
        "secret values leaked:\n{}",
        hits.join("\n")
    );
}
