//! Shared harness for the integration tests: every test gets its own `PATINA_HOME`,
//! `XDG_CONFIG_HOME` and `HOME` in temp dirs (nothing touches the real home), real git repos
//! made with the `git` CLI, and the real `patina` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

pub struct Env {
    pub root: TempDir,
}

impl Env {
    pub fn new() -> Env {
        let root = tempfile::Builder::new()
            .prefix("patina-test")
            .tempdir()
            .unwrap();
        for d in ["home", "patina-home", "xdg", "work"] {
            std::fs::create_dir_all(root.path().join(d)).unwrap();
        }
        Env { root }
    }

    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    pub fn patina_home(&self) -> PathBuf {
        self.root.path().join("patina-home")
    }

    pub fn xdg(&self) -> PathBuf {
        self.root.path().join("xdg")
    }

    pub fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    /// A `patina` command with this env's isolated environment, run in `cwd`.
    pub fn cmd(&self, cwd: &Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_patina"));
        c.current_dir(cwd)
            .env("PATINA_HOME", self.patina_home())
            .env("XDG_CONFIG_HOME", self.xdg())
            .env("HOME", self.home())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("PATINA_IDENTITY")
            .env_remove("PATINA_IDENTITY_FILE")
            .env_remove("PATINA_PASSPHRASE_FILE")
            .env_remove("PATINA_LOG")
            .stdin(Stdio::null());
        c
    }

    /// Run `patina args...` in `cwd` and return its output.
    pub fn patina(&self, cwd: &Path, args: &[&str]) -> Output {
        self.cmd(cwd).args(args).output().expect("running patina")
    }

    /// Run patina and require success; returns stdout.
    pub fn ok(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.patina(cwd, args);
        assert!(
            out.status.success(),
            "patina {args:?} failed ({:?})\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run patina with `--json` and parse stdout (success required).
    pub fn json(&self, cwd: &Path, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.push("--json");
        let s = self.ok(cwd, &a);
        serde_json::from_str(&s).unwrap_or_else(|e| panic!("patina {args:?}: bad JSON ({e}):\n{s}"))
    }

    /// Run the git CLI in `cwd` (isolated from the user's git config); returns trimmed stdout.
    pub fn git(&self, cwd: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(cwd)
            .env("HOME", self.home())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .args(args)
            .output()
            .expect("running git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// A new git repo under `work/<name>` with user config and one commit.
    pub fn repo(&self, name: &str) -> PathBuf {
        let dir = self.work().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        self.git(&dir, &["init", "-q", "-b", "main"]);
        self.git(&dir, &["config", "user.name", "Test"]);
        self.git(&dir, &["config", "user.email", "test@example.com"]);
        std::fs::write(dir.join("README.md"), "# test\n").unwrap();
        self.git(&dir, &["add", "."]);
        self.git(&dir, &["commit", "-q", "-m", "initial"]);
        dir
    }

    /// A git repo initialised as a patina project.
    pub fn project(&self, name: &str) -> PathBuf {
        let dir = self.repo(name);
        self.ok(&dir, &["init"]);
        dir
    }

    /// Commit a file change with the git CLI; returns the new HEAD sha.
    pub fn commit_file(&self, repo: &Path, rel: &str, content: &str, msg: &str) -> String {
        let p = repo.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        self.git(repo, &["add", "-A"]);
        self.git(repo, &["commit", "-q", "-m", msg]);
        self.git(repo, &["rev-parse", "HEAD"])
    }
}

/// True when `tool` is on PATH. When it is not: under `CI=true` the test fails; otherwise it
/// prints `SKIPPED: <reason>` and the caller returns early.
pub fn require_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("required tool `{tool}` is missing (CI=true: .ci/run must install it)");
        }
        eprintln!("SKIPPED: `{tool}` is not installed");
    }
    found
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
