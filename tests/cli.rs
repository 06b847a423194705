//! Project-level CLI behaviour: init, root discovery, help, completions.

mod common;

use common::Env;

#[test]
fn init_is_idempotent_and_never_overwrites() {
    let env = Env::new();
    let repo = env.repo("p");
    let first = env.json(&repo, &["init", "--llm", "gemini"]);
    assert!(first["created"].as_array().unwrap().len() >= 4, "{first}");
    for d in [
        "layer/core",
        "layer/surface/epistemic/beliefs",
        "sessions",
        ".patina/local",
    ] {
        assert!(repo.join(d).is_dir(), "{d} missing");
    }
    let cfg = std::fs::read_to_string(repo.join(".patina/config.toml")).unwrap();
    assert!(cfg.contains("llm = \"gemini\""), "{cfg}");
    // user edits survive a second init
    std::fs::write(
        repo.join(".patina/config.toml"),
        "# mine\n[project]\nllm = \"codex\"\n",
    )
    .unwrap();
    let second = env.json(&repo, &["init"]);
    assert!(second["created"].as_array().unwrap().is_empty(), "{second}");
    assert_eq!(
        std::fs::read_to_string(repo.join(".patina/config.toml")).unwrap(),
        "# mine\n[project]\nllm = \"codex\"\n"
    );
    let gi = std::fs::read_to_string(repo.join(".gitignore")).unwrap();
    assert_eq!(gi.matches(".patina/local/").count(), 1, "{gi}");
    // git agrees the local dir is ignored
    std::fs::write(repo.join(".patina/local/x"), "x").unwrap();
    let status = env.git(&repo, &["status", "--porcelain", "--untracked-files=all"]);
    assert!(!status.contains(".patina/local"), "{status}");
}

#[test]
fn init_keeps_legacy_layer_sessions() {
    let env = Env::new();
    let repo = env.repo("legacy");
    std::fs::create_dir_all(repo.join("layer/sessions")).unwrap();
    let r = env.json(&repo, &["init"]);
    assert!(
        r["sessions_dir"]
            .as_str()
            .unwrap()
            .ends_with("layer/sessions"),
        "{r}"
    );
    assert!(!repo.join("sessions").exists());
}

#[test]
fn init_from_subdirectory_acts_on_root() {
    let env = Env::new();
    let repo = env.repo("sub");
    let deep = repo.join("src/deep");
    std::fs::create_dir_all(&deep).unwrap();
    env.ok(&deep, &["init"]);
    assert!(repo.join(".patina/config.toml").is_file());
    assert_eq!(
        std::fs::read_dir(&deep).unwrap().count(),
        0,
        "nothing created in the subdir"
    );
}

#[test]
fn outside_git_says_what_is_needed() {
    let env = Env::new();
    let dir = env.work().join("plain");
    std::fs::create_dir_all(&dir).unwrap();
    let out = env.patina(&dir, &["init"]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "not in a project has its own exit code"
    );
    assert!(
        common::stderr(&out).contains("git init"),
        "{}",
        common::stderr(&out)
    );
    let out = env.patina(&dir, &["init", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["error"].as_str().unwrap().contains("not inside"), "{v}");
    assert_eq!(v["kind"], "not_in_project", "{v}");
    assert_eq!(v["exit_code"], 6, "{v}");
}

#[test]
fn completions_for_each_shell() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let s = env.ok(&env.work(), &["completions", shell]);
        assert!(s.contains("session"), "{shell}: {s}");
    }
}
