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
    /// A PATINA_HOME other than the env's (one that patina has to create itself).
    home_override: Option<PathBuf>,
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
            home_override: None,
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
        self.home_override
            .clone()
            .unwrap_or_else(|| self.env.patina_home())
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
            .env("PATINA_HOME", self.home())
            // The agents' logs are test input (they hold values by design): under inputs/.
            .env("CLAUDE_CONFIG_DIR", self.inputs().join("agents/claude"))
            .env("CODEX_HOME", self.inputs().join("agents/codex"))
            .env_remove("GEMINI_CLI_HOME")
            .env_remove("XDG_DATA_HOME")
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
        let _ = self
            .env
            .cmd(self.root())
            .env("PATINA_HOME", self.home())
            .args(["serve", "stop"])
            .output();
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
// Archives are redacted whatever the daemon holds (fingerprints), the oracle is gone

/// One Claude history line (format: docs/transcripts.md, as tests/fixtures/transcripts/claude)
/// and one Codex rollout (as tests/fixtures/transcripts/codex) saying `text` now, in `root`,
/// where `S::cmd` points CLAUDE_CONFIG_DIR and CODEX_HOME (under inputs/: they hold the values).
fn agents_say(s: &S, root: &Path, text: &str) {
    let now = chrono::Utc::now();
    let claude = s.inputs().join("agents/claude");
    std::fs::create_dir_all(&claude).unwrap();
    let line = serde_json::json!({"display": text, "pastedContents": {},
        "timestamp": now.timestamp_millis(), "project": root});
    let mut h = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(claude.join("history.jsonl"))
        .unwrap();
    h.write_all(format!("{line}\n").as_bytes()).unwrap();
    let day = s
        .inputs()
        .join("agents/codex/sessions")
        .join(now.format("%Y/%m/%d").to_string());
    std::fs::create_dir_all(&day).unwrap();
    let ts = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let rollout = format!(
        "{}\n{}\n",
        serde_json::json!({"timestamp": ts, "type": "session_meta", "payload": {"id": "c", "cwd": root}}),
        serde_json::json!({"timestamp": ts, "type": "event_msg",
            "payload": {"type": "user_message", "message": format!("codex: {text}")}}),
    );
    std::fs::write(
        day.join(format!(
            "rollout-{}-cccc.jsonl",
            now.format("%Y-%m-%dT%H-%M-%S")
        )),
        rollout,
    )
    .unwrap();
}

fn scenario_archive_redacted_after_serve_stop(s: &mut S) {
    let proj = s.env.project("p").canonicalize().unwrap();
    let deploy = s.value("deploy");
    let team = s.value("team");
    s.add(&proj, "deploy-key", &deploy, &[]);
    s.add(&proj, "team-token", &team, &["--project"]);
    // A value too short to fingerprint is listed and the user is told.
    let pin = "48213";
    let out = s.run_in(&proj, &["secrets", "add", "pin", "--stdin"], b"48213\n");
    assert_ok(&["add pin"], &out);
    assert!(
        stderr(&out).contains("pin") && stderr(&out).contains("cannot be redacted"),
        "{}",
        stderr(&out)
    );
    let list = s.json(&proj, &["secrets", "list"]);
    assert_eq!(list["unredactable"][0]["name"], "pin", "{list}");
    assert!(
        s.ok(&proj, &["secrets", "list"])
            .contains("cannot be redacted")
    );

    s.ok(&proj, &["session", "start", "redaction after stop"]);
    // The daemon held the values once, then went away: nothing holds plaintext now.
    s.json(&proj, &["secrets", "unlock"]);
    s.ok(&proj, &["serve", "stop"]);
    agents_say(
        s,
        &proj,
        &format!("deploy with {deploy} and the team's \"{team}\" pls"),
    );
    s.ok(
        &proj,
        &["session", "note", &format!("used {deploy} for the deploy")],
    );
    // The live transcript is redacted too.
    let t = s.json(&proj, &["session", "transcript"]);
    let text = t.to_string();
    assert!(text.contains("[redacted: deploy-key]"), "{text}");
    let end = s.json(&proj, &["session", "end"]);
    let archive = proj.join(end["path"].as_str().unwrap_or("missing"));
    let archived = std::fs::read_to_string(&archive)
        .unwrap_or_else(|e| panic!("no archive at {} ({e}): {end}", archive.display()));
    for (what, needle) in [
        (
            "claude prompt",
            "deploy with [redacted: deploy-key] and the team's \"[redacted: team-token]\" pls",
        ),
        ("codex prompt", "codex: deploy with [redacted: deploy-key]"),
        ("note", "used [redacted: deploy-key] for the deploy"),
    ] {
        assert!(
            archived.contains(needle),
            "{what} not redacted in the archive:\n{archived}"
        );
    }
    assert!(!archived.contains(&deploy) && !archived.contains(&team));
    // The fingerprint files are private and hold no value (the leak scan checks every file).
    assert_eq!(mode(&s.home().join("fingerprints.json")), 0o600);
    assert_eq!(mode(&s.home().join("fingerprint.key")), 0o600);
    let _ = pin;
}

/// A vault value pasted into a session note: `scry` (in-process, which builds the index) shows
/// it only as `[redacted: NAME]`, and no index file holds it.
fn scenario_scry_shows_no_vault_value(s: &mut S) {
    let proj = s.env.project("p").canonicalize().unwrap();
    let v = s.value("scried");
    s.add(&proj, "api-key", &v, &[]);
    // A commit message that carries the value in its body (git keeps it; scry must not show it).
    s.env.commit_file(
        &proj,
        "ROTATION.md",
        "rotation notes\n",
        &format!("zebracorn rotation\n\nthe new key is {v}"),
    );
    // git's own copy of the last message is not ours to scan.
    std::fs::remove_file(proj.join(".git/COMMIT_EDITMSG")).unwrap();
    s.ok(&proj, &["session", "start", "key rotation"]);
    let note = format!("rotated the zebracorn key to {v} today");
    let out = s.run(&proj, &["session", "note", &note]);
    assert_ok(&["session", "note"], &out);
    assert!(
        stderr(&out).contains("api-key was redacted from the note"),
        "{}",
        stderr(&out)
    );
    // Not even the live session file holds it.
    let live = std::fs::read_to_string(proj.join(".patina/local/active-session.md")).unwrap();
    assert!(
        live.contains("rotated the zebracorn key to [redacted: api-key] today"),
        "{live}"
    );
    let ans = s.json(&proj, &["scry", "zebracorn rotated", "--no-daemon"]);
    let text = ans.to_string();
    assert!(
        text.contains("zebracorn") && text.contains("[redacted: api-key]"),
        "{text}"
    );
    assert!(!text.contains(&v), "scry showed the value");
    let kinds: Vec<&str> = ans["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.to_string().contains("[redacted: api-key]"))
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"session") && kinds.contains(&"commit"),
        "{kinds:?}: {text}"
    );
    let index = proj.join(".patina/local/index");
    let mut stack = vec![index.clone()];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                files += 1;
                assert!(
                    !contains(&bytes, v.as_bytes()),
                    "{} holds the value",
                    p.display()
                );
            }
        }
    }
    assert!(files > 0, "no index under {}", index.display());
}

fn scenario_no_redaction_oracle(s: &mut S) {
    if !common::require_tool("curl") {
        return;
    }
    let work = s.env.work();
    let v = s.value("oracle");
    s.add(&work, "guessed", &v, &[]);
    s.json(&work, &["secrets", "unlock"]);
    // No endpoint answers "is this text a secret" for arbitrary text.
    let body = serde_json::json!({ "text": format!("a {v} b") }).to_string();
    let (code_, resp) = curl(s, "POST", "/secrets/redact", Some(&body), true);
    assert_eq!(code_, 404, "{resp}");
    assert!(!resp.contains("REDACTED"), "{resp}");
}

// ---------------------------------------------------------------------------------------------
// Project vaults cannot take over the child; new recipients are confirmed

/// Replace the project vault by one a "teammate" made: `meta.env` maps `name` to `var`.
fn teammates_vault(s: &S, proj: &Path, name: &str, var: &str, value: &str) {
    let recipient: age::x25519::Recipient = s.recipient.parse().unwrap();
    let plain = format!(
        "[meta]\nversion = 1\n[meta.env]\n{name} = \"{var}\"\n[values]\n{name} = \"{value}\"\n"
    );
    let enc = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        .unwrap();
    let mut out = vec![];
    let armor =
        age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor).unwrap();
    let mut w = enc.wrap_output(armor).unwrap();
    w.write_all(plain.as_bytes()).unwrap();
    w.finish().unwrap().finish().unwrap();
    std::fs::write(proj.join(".patina/vault.age"), out).unwrap();
}

fn scenario_project_env_guard(s: &mut S) {
    let proj = s.env.project("p");
    let v = s.value("preload");
    // Adding it ourselves is refused too (a committed mapping would hit every teammate).
    let out = s.run_in(
        &proj,
        &[
            "secrets",
            "add",
            "hook",
            "--project",
            "--env",
            "LD_PRELOAD",
            "--stdin",
        ],
        format!("{v}\n").as_bytes(),
    );
    assert_eq!(code(&out), Some(8), "{}", stderr(&out));
    assert!(stderr(&out).contains("LD_PRELOAD"), "{}", stderr(&out));
    // The global vault is the user's own: any variable.
    s.add(&proj, "mine", &v, &["--env", "BASH_ENV"]);
    s.ok(&proj, &["secrets", "rm", "mine"]);
    // A teammate's commit maps a project value to LD_PRELOAD: `run` refuses, naming it, and the
    // child never starts.
    let fine = s.value("fine");
    s.add(&proj, "ok-one", &fine, &["--project"]);
    teammates_vault(s, &proj, "hook", "LD_PRELOAD", &v);
    let marker = s.inputs().join("child-ran");
    let script = format!("touch '{}'", marker.display());
    let out = s.run(&proj, &["secrets", "run", "--", "sh", "-c", &script]);
    assert_eq!(code(&out), Some(8), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("LD_PRELOAD")
            && err.contains("allow_project_env")
            && err.contains("vault.age"),
        "{err}"
    );
    assert!(!marker.exists(), "the child ran with a hostile mapping");
    let out = s.run(&proj, &["secrets", "unlock"]);
    assert_eq!(code(&out), Some(8), "{}", stderr(&out));
    // The user may allow a variable by name in their own config.
    teammates_vault(s, &proj, "hook", "BASH_ENV", &v);
    let out = s.run(&proj, &["secrets", "run", "--", "true"]);
    assert_eq!(
        code(&out),
        Some(8),
        "BASH_ENV refused too: {}",
        stderr(&out)
    );
    let cfg = s.env.xdg().join("patina");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        "[secrets]\nallow_project_env = [\"BASH_ENV\"]\n",
    )
    .unwrap();
    let envfile = s.inputs().join("child-env");
    let script = format!("printenv BASH_ENV > '{}'", envfile.display());
    let out = s.run(&proj, &["secrets", "run", "--", "sh", "-c", &script]);
    assert_ok(&["run allowed"], &out);
    assert_eq!(std::fs::read_to_string(&envfile).unwrap(), format!("{v}\n"));
}

fn scenario_new_recipients_are_confirmed(s: &mut S) {
    let proj = s.env.project("p");
    let first = s.value("first");
    s.add(&proj, "one", &first, &["--project"]);
    // A commit adds a key to recipients.txt.
    let intruder = age::x25519::Identity::generate();
    s.secrets
        .push(intruder.to_string().expose_secret().to_string());
    let intruder_r = intruder.to_public().to_string();
    let rfile = proj.join(".patina/recipients.txt");
    let mut text = std::fs::read_to_string(&rfile).unwrap();
    text.push_str(&format!("{intruder_r}\n"));
    std::fs::write(&rfile, text).unwrap();
    let before = std::fs::read(proj.join(".patina/vault.age")).unwrap();
    // Non-interactive (no terminal): refused with the key named; nothing encrypted to it.
    let second = s.value("second");
    let args = ["secrets", "add", "two", "--project", "--stdin"];
    let mut c = s.cmd(&proj, &args);
    c.stdin(Stdio::piped());
    // No controlling terminal for the prompt (setsid), like CI.
    unsafe {
        use std::os::unix::process::CommandExt;
        c.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let out = s.exec(c, &args, Some(format!("{second}\n").as_bytes()));
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&intruder_r) && stderr(&out).contains("--confirm-recipients"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(proj.join(".patina/vault.age")).unwrap(),
        before
    );
    // With the flag: encrypted to them too (the intruder's key decrypts it now) and remembered.
    s.add(
        &proj,
        "two",
        &second,
        &["--project", "--confirm-recipients"],
    );
    let bytes = std::fs::read(proj.join(".patina/vault.age")).unwrap();
    let d = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(&bytes[..])).unwrap();
    assert!(
        d.decrypt(std::iter::once(&intruder as &dyn age::Identity))
            .is_ok()
    );
    let third = s.value("third");
    s.add(&proj, "three", &third, &["--project"]);
}

// ---------------------------------------------------------------------------------------------
// The client verifies the daemon before it sends anything

/// A fake daemon of ours on `sock`: accepts for `secs` seconds and counts the bytes it gets.
struct Recorder {
    got: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Recorder {
    fn listen(sock: &Path) -> Recorder {
        use std::sync::atomic::Ordering;
        let listener = std::os::unix::net::UnixListener::bind(sock).unwrap();
        listener.set_nonblocking(true).unwrap();
        let got = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (g, a, st) = (got.clone(), accepted.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut c, _)) => {
                        a.fetch_add(1, Ordering::SeqCst);
                        c.set_nonblocking(false).unwrap();
                        c.set_read_timeout(Some(std::time::Duration::from_millis(500)))
                            .unwrap();
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = std::io::Read::read(&mut c, &mut buf) {
                            if n == 0 {
                                break;
                            }
                            g.fetch_add(n, Ordering::SeqCst);
                        }
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
                }
            }
        });
        Recorder {
            got,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    /// (connections accepted, bytes received)
    fn finish(mut self) -> (usize, usize) {
        use std::sync::atomic::Ordering;
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap();
        (
            self.accepted.load(Ordering::SeqCst),
            self.got.load(Ordering::SeqCst),
        )
    }
}

/// `secrets unlock` (which hands every value to the daemon) against a planted daemon: refused
/// with the path and the reason, and not one byte sent.
fn unlock_refused(s: &mut S, work: &Path, path_named: &Path, reason: &str) {
    let out = s.run(work, &["secrets", "unlock"]);
    let err = stderr(&out);
    assert_eq!(code(&out), Some(8), "{err}");
    assert!(
        err.contains("refusing to talk to the daemon")
            && err.contains(&path_named.display().to_string())
            && err.contains(reason)
            && err.contains("nothing was sent"),
        "expected {reason:?} about {}: {err}",
        path_named.display()
    );
}

fn scenario_untrusted_socket_dirs(s: &mut S) {
    let work = s.env.work();
    let v = s.value("planted");
    s.add(&work, "victim", &v, &[]);
    let home = s.home();
    let run = home.join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
    let sock = run.join("serve.sock");

    // PATINA_HOME writable by others (umask 000 made it so in the past): someone could swap run/.
    let rec = Recorder::listen(&sock);
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).unwrap();
    unlock_refused(s, &work, &home, "mode 777");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    // run/ open to others.
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
    unlock_refused(s, &work, &run, "mode 755");
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(
        rec.finish(),
        (0, 0),
        "the client connected to a planted socket"
    );
    // run/ a symlink to a directory of the attacker's choosing (private, with a socket in it).
    std::fs::remove_file(&sock).unwrap();
    std::fs::remove_dir(&run).unwrap();
    let elsewhere = s.inputs().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o700)).unwrap();
    let rec = Recorder::listen(&elsewhere.join("serve.sock"));
    std::os::unix::fs::symlink(&elsewhere, &run).unwrap();
    unlock_refused(s, &work, &run, "is a symlink");
    let out = s.run(&work, &["serve", "stop"]);
    assert_ne!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(
        rec.finish(),
        (0, 0),
        "the client connected through a symlinked run/"
    );
}

/// A symlink or a hard link planted at `logs/patina.log` or `logs/serve.log` (pointing at a file
/// of the attacker's choosing): patina never writes through it. Commands still work (logging is
/// off, and says why); `serve start` refuses, naming the log.
fn scenario_planted_log_links(s: &mut S) {
    let work = s.env.work();
    let v = s.value("logged");
    s.add(&work, "victim", &v, &[]);
    let logs = s.home().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::create_dir_all(s.inputs()).unwrap();
    let target = s.inputs().join("their-file");
    std::fs::write(&target, "theirs\n").unwrap();
    let log = logs.join("patina.log");
    let _ = std::fs::remove_file(&log);
    for how in ["symlink", "hard link"] {
        if how == "symlink" {
            std::os::unix::fs::symlink(&target, &log).unwrap();
        } else {
            std::fs::hard_link(&target, &log).unwrap();
        }
        let out = s.run(&work, &["secrets", "list"]);
        assert_ok(&["secrets", "list", how], &out);
        assert!(
            stderr(&out).contains("not logging") && stderr(&out).contains("patina.log"),
            "{how}: {}",
            stderr(&out)
        );
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "theirs\n",
            "{how}: patina wrote through a planted logs/patina.log"
        );
        std::fs::remove_file(&log).unwrap();
    }
    let serve_log = logs.join("serve.log");
    std::os::unix::fs::symlink(&target, &serve_log).unwrap();
    let out = s.run(&work, &["serve", "start"]);
    assert_ne!(code(&out), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("serve.log"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "theirs\n");
    std::fs::remove_file(&serve_log).unwrap();
}

/// Running as root: a throwaway user (useradd) plays the other local user. Otherwise SKIPPED
/// (a failure under CI=true).
struct OtherUser {
    name: String,
    uid: u32,
}

impl OtherUser {
    fn create() -> Option<OtherUser> {
        if unsafe { libc::getuid() } != 0 {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI runs as root: this test needs a second uid (useradd)");
            }
            eprintln!("SKIPPED: not root, cannot create a second user");
            return None;
        }
        if !common::require_tool("useradd") {
            return None;
        }
        let mut b = [0u8; 4];
        getrandom::fill(&mut b).unwrap();
        let name = format!("ptest{}", hex::encode(b));
        let out = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                &name,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "useradd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = Command::new("id").args(["-u", &name]).output().unwrap();
        let uid = String::from_utf8_lossy(&id.stdout).trim().parse().unwrap();
        Some(OtherUser { name, uid })
    }
}

impl Drop for OtherUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).output();
    }
}

/// Helper for [`a_daemon_of_another_uid_gets_nothing`]: run as the other user, it listens on
/// $PATINA_FAKE_SOCKET and appends what it receives to $PATINA_FAKE_LOG.
#[test]
#[ignore = "helper process started by a_daemon_of_another_uid_gets_nothing"]
fn fake_daemon_of_another_uid() {
    let (Some(sock), Some(log)) = (
        std::env::var_os("PATINA_FAKE_SOCKET"),
        std::env::var_os("PATINA_FAKE_LOG"),
    ) else {
        return;
    };
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(format!("{}.ready", log.to_string_lossy()), "").unwrap();
    for c in listener.incoming() {
        let Ok(mut c) = c else { continue };
        c.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let mut got = Vec::new();
        let _ = std::io::Read::read_to_end(&mut c, &mut got);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&log)
            .unwrap();
        f.write_all(format!("connection: {} bytes\n", got.len()).as_bytes())
            .unwrap();
        f.write_all(&got).unwrap();
    }
}

fn scenario_daemon_of_another_uid(s: &mut S) {
    let Some(other) = OtherUser::create() else {
        return;
    };
    let work = s.env.work();
    let v = s.value("other-uid");
    s.add(&work, "victim", &v, &[]);
    // The other user's corner: a world-traversable dir of theirs, with a copy of this test
    // binary (the fake daemon) they can run.
    let corner = tempfile::Builder::new()
        .prefix("patina-other")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(corner.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let theirs = corner.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    let chown = |p: &Path, uid: u32| {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(
            unsafe { libc::lchown(c.as_ptr(), uid, uid) },
            0,
            "chown {}",
            p.display()
        );
    };
    chown(&theirs, other.uid);
    let exe = corner.path().join("fake");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let fake_sock = theirs.join("fake.sock");
    let log = theirs.join("got");
    // Another test thread may fork while the copy's write descriptor is still open; that child
    // holds it until its exec, and exec of the copy fails with ETXTBSY meanwhile: retry.
    let spawn_fake = || {
        use std::os::unix::process::CommandExt;
        Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "fake_daemon_of_another_uid",
                "--test-threads",
                "1",
            ])
            .env("PATINA_FAKE_SOCKET", &fake_sock)
            .env("PATINA_FAKE_LOG", &log)
            .current_dir(corner.path())
            .uid(other.uid)
            .gid(other.uid)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    };
    let mut fake = {
        let mut tries = 0;
        loop {
            match spawn_fake() {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                other => break other.unwrap(),
            }
        }
    };
    let ready = theirs.join("got.ready");
    for _ in 0..200 {
        if ready.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(ready.exists(), "the fake daemon never listened");
    // Our run/ is private and ours; their socket appears in it under the right name, owned by
    // us (root can make it so; the kernel still knows who listens).
    let run = s.home().join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
    let sock = run.join("serve.sock");
    std::fs::hard_link(&fake_sock, &sock).unwrap();
    chown(&sock, 0);
    unlock_refused(
        s,
        &work,
        &sock,
        &format!("served by a process of uid {}", other.uid),
    );
    // serve stop sends no signal and no request to it either.
    let out = s.run(&work, &["serve", "stop"]);
    assert_ne!(code(&out), Some(0), "{}", stderr(&out));
    // The socket file owned by them: refused before connecting.
    chown(&sock, other.uid);
    unlock_refused(s, &work, &sock, &format!("is owned by uid {}", other.uid));
    let _ = fake.kill();
    let _ = fake.wait();
    // It saw the connections the SO_PEERCRED check needs, and not one byte on them.
    let got = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        got.lines().all(|l| l == "connection: 0 bytes"),
        "the fake daemon of another uid received: {got}"
    );
    assert!(got.lines().count() >= 2, "{got}");
    assert!(fake_sock.exists());
}

// ---------------------------------------------------------------------------------------------
// umask 000: every path patina creates has its documented mode

/// `patina args` under `umask 000`.
fn under_umask_000(s: &mut S, cwd: &Path, args: &[&str], input: Option<&[u8]>) -> Output {
    let mut c = s.cmd(cwd, args);
    unsafe {
        use std::os::unix::process::CommandExt;
        c.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    let out = s.exec(c, args, input);
    assert_ok(args, &out);
    out
}

fn scenario_umask_000(s: &mut S) {
    // PATINA_HOME does not exist yet: patina creates it (and everything in it).
    let home = s.root().join("fresh-home");
    s.home_override = Some(home.clone());
    let proj = s.env.repo("p");
    let v = s.value("umask");
    under_umask_000(s, &proj, &["init"], None);
    under_umask_000(
        s,
        &proj,
        &["secrets", "add", "a-secret", "--stdin"],
        Some(format!("{v}\n").as_bytes()),
    );
    under_umask_000(
        s,
        &proj,
        &["secrets", "add", "b-secret", "--project", "--stdin"],
        Some(format!("{v}\n").as_bytes()),
    );
    under_umask_000(s, &proj, &["session", "start", "umask"], None);
    under_umask_000(s, &proj, &["session", "note", "a note"], None);
    under_umask_000(s, &proj, &["secrets", "unlock"], None);
    under_umask_000(s, &proj, &["scry", "umask", "--no-daemon"], None);
    under_umask_000(s, &proj, &["mother", "add", "."], None);
    under_umask_000(s, &proj, &["serve", "stop"], None);
    under_umask_000(
        s,
        &proj,
        &["serve", "--background", "--listen", "127.0.0.1:0"],
        None,
    );
    under_umask_000(s, &proj, &["serve", "stop"], None);
    under_umask_000(s, &proj, &["session", "end"], None);

    // The documented modes (docs/ARCHITECTURE.md, "File modes").
    let mut seen = Vec::new();
    let mut bad = Vec::new();
    let mut walk = vec![home.clone(), proj.clone()];
    while let Some(d) = walk.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.starts_with(proj.join(".git")) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let m = meta.permissions().mode() & 0o777;
            let private = p.starts_with(&home) || p.starts_with(proj.join(".patina/local"));
            let want = if meta.is_dir() {
                walk.push(p.clone());
                if private { 0o700 } else { 0o755 }
            } else if std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) {
                0o600
            } else if p == home.join("recipient.txt") || (!private && !is_private_name(&p)) {
                0o644
            } else {
                0o600
            };
            seen.push(p.clone());
            if m != want {
                bad.push(format!("{} is {m:o}, documented {want:o}", p.display()));
            }
        }
    }
    for must in [
        home.join("run"),
        home.join("logs/patina.log"),
        home.join("logs/serve.log"),
        home.join("run/serve.token"),
        home.join("mother/registry.toml"),
        home.join("fingerprints.json"),
        proj.join(".patina/local/index"),
        proj.join("layer/core"),
    ] {
        assert!(seen.contains(&must), "{} was not created", must.display());
    }
    eprintln!("umask 000: {} paths checked", seen.len());
    assert!(
        bad.is_empty(),
        "wrong modes under umask 000:\n{}",
        bad.join("\n")
    );
    assert_eq!(mode(&home), 0o700);
}

/// Tracked project files that hold secrets (encrypted or names): 0600 like the global ones.
fn is_private_name(p: &Path) -> bool {
    matches!(
        p.file_name().and_then(|n| n.to_str()),
        Some("vault.age" | "secrets.toml")
    )
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

#[test]
fn session_end_after_serve_stop_redacts_vault_values_from_claude_and_codex_prompts() {
    scenario_archive_redacted_after_serve_stop(&mut S::new());
}

#[test]
fn scry_and_its_index_never_hold_a_vault_value() {
    scenario_scry_shows_no_vault_value(&mut S::new());
}

#[test]
fn planted_log_links_are_never_written_through() {
    scenario_planted_log_links(&mut S::new());
}

#[test]
fn no_endpoint_answers_whether_a_text_holds_a_secret() {
    scenario_no_redaction_oracle(&mut S::new());
}

#[test]
fn ld_preload_in_a_project_mapping_is_refused() {
    scenario_project_env_guard(&mut S::new());
}

#[test]
fn planted_socket_dirs_are_refused_and_get_nothing() {
    scenario_untrusted_socket_dirs(&mut S::new());
}

#[test]
fn a_daemon_of_another_uid_gets_nothing() {
    scenario_daemon_of_another_uid(&mut S::new());
}

#[test]
fn umask_000_every_created_path_has_its_documented_mode() {
    scenario_umask_000(&mut S::new());
}

#[test]
fn add_project_confirms_recipients_added_since_last_time() {
    scenario_new_recipients_are_confirmed(&mut S::new());
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
    (
        "archive_redacted_after_serve_stop",
        scenario_archive_redacted_after_serve_stop,
    ),
    ("no_redaction_oracle", scenario_no_redaction_oracle),
    (
        "scry_shows_no_vault_value",
        scenario_scry_shows_no_vault_value,
    ),
    ("project_env_guard", scenario_project_env_guard),
    ("untrusted_socket_dirs", scenario_untrusted_socket_dirs),
    ("daemon_of_another_uid", scenario_daemon_of_another_uid),
    ("umask_000", scenario_umask_000),
    (
        "new_recipients_are_confirmed",
        scenario_new_recipients_are_confirmed,
    ),
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
