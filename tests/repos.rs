//! Real repositories: what patina says about sessions, beliefs and git must be what the project's
//! history says. Every fixture is built here with the git CLI; every answer is cross-checked with it.

mod common;

use std::path::Path;

use common::{Env, stderr};

/// `git for-each-ref` on a tag: tagger name, email and date, as git reports them.
fn tagger(env: &Env, repo: &Path, tag: &str) -> String {
    env.git(
        repo,
        &[
            "for-each-ref",
            "--format=%(taggername)|%(taggeremail)|%(taggerdate:raw)",
            &format!("refs/tags/{tag}"),
        ],
    )
}

#[test]
fn tags_and_archive_commit_take_the_identity_from_the_environment_like_git() {
    let env = Env::new();
    let repo = env.project("ident");
    // An identity that exists only in the environment (the config says Test <test@example.com>).
    let ident = [
        ("GIT_AUTHOR_NAME", "Ada Author"),
        ("GIT_AUTHOR_EMAIL", "ada@example.org"),
        ("GIT_AUTHOR_DATE", "1700000000 +0130"),
        ("GIT_COMMITTER_NAME", "Cy Committer"),
        ("GIT_COMMITTER_EMAIL", "cy@example.org"),
        ("GIT_COMMITTER_DATE", "1700000100 -0500"),
    ];
    let run = |args: &[&str]| {
        let out = env.cmd(&repo).args(args).envs(ident).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let start: serde_json::Value =
        serde_json::from_str(&run(&["session", "start", "env identity", "--json"])).unwrap();
    let start_tag = start["start_tag"].as_str().unwrap().to_string();
    // The reference: `git tag -a` in the same environment.
    let git_tag = std::process::Command::new("git")
        .current_dir(&repo)
        .env("HOME", env.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .envs(ident)
        .args(["tag", "-a", "reference", "-m", "by git"])
        .status()
        .unwrap();
    assert!(git_tag.success());
    let expected = tagger(&env, &repo, "reference");
    assert_eq!(expected, "Cy Committer|<cy@example.org>|1700000100 -0500");
    assert_eq!(tagger(&env, &repo, &start_tag), expected);

    let end: serde_json::Value =
        serde_json::from_str(&run(&["session", "end", "--commit", "--json"])).unwrap();
    let end_tag = end["end_tag"].as_str().unwrap();
    assert_eq!(tagger(&env, &repo, end_tag), expected);
    // The archive commit: author and committer as git would write them.
    let who = env.git(
        &repo,
        &[
            "log",
            "-1",
            "--format=%an|%ae|%ad|%cn|%ce|%cd",
            "--date=raw",
        ],
    );
    assert_eq!(
        who,
        "Ada Author|ada@example.org|1700000000 +0130|Cy Committer|cy@example.org|1700000100 -0500"
    );
}

#[test]
fn a_bad_identity_date_is_named() {
    let env = Env::new();
    let repo = env.project("baddate");
    let out = env
        .cmd(&repo)
        .args(["session", "start", "bad date"])
        .env("GIT_COMMITTER_DATE", "the day after tomorrow")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("GIT_COMMITTER_DATE"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sparse_checkout_exclusions_are_not_changes() {
    let env = Env::new();
    let repo = env.repo("sparse");
    env.commit_file(&repo, "kept/a.txt", "a\n", "kept");
    env.commit_file(&repo, "away/b.txt", "b\n", "away");
    env.ok(&repo, &["init"]);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "patina init"]);
    env.git(
        &repo,
        &[
            "sparse-checkout",
            "set",
            "kept",
            ".patina",
            "layer",
            "sessions",
        ],
    );
    assert!(!repo.join("away/b.txt").exists(), "git excluded the dir");
    // git agrees nothing changed
    assert_eq!(env.git(&repo, &["status", "--porcelain"]), "");
    env.ok(&repo, &["session", "start", "sparse"]);
    // A plain skip-worktree file, deleted on disk, is not a change either (git says so).
    env.git(&repo, &["update-index", "--skip-worktree", "README.md"]);
    std::fs::remove_file(repo.join("README.md")).unwrap();
    assert_eq!(env.git(&repo, &["status", "--porcelain"]), "");
    let up = env.json(&repo, &["session", "update"]);
    assert_eq!(up["git"]["uncommitted"], serde_json::json!([]), "{up}");
    // A real change in the sparse cone still counts.
    std::fs::write(repo.join("kept/a.txt"), "changed\n").unwrap();
    let up = env.json(&repo, &["session", "update"]);
    let paths: Vec<&str> = up["git"]["uncommitted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["kept/a.txt"], "{up}");
}

#[test]
fn the_id_collision_check_covers_legacy_and_other_agents_tags() {
    let env = Env::new();
    let repo = env.project("collide");
    // Occupy the next few seconds with every tag form that names a session id.
    let now = chrono::Local::now();
    let ids: Vec<String> = (0..6)
        .map(|k| {
            (now + chrono::Duration::seconds(k))
                .format("%Y%m%d-%H%M%S")
                .to_string()
        })
        .collect();
    env.git(&repo, &["tag", &format!("session-{}-start", ids[0])]);
    env.git(&repo, &["tag", &format!("session-{}-gemini-start", ids[1])]);
    env.git(&repo, &["tag", &format!("session-{}-opencode-end", ids[2])]);
    env.git(
        &repo,
        &["tag", &format!("session-{}-460632000-codex-start", ids[3])],
    );
    env.git(&repo, &["tag", &format!("session-{}", ids[4])]);
    env.git(&repo, &["tag", &format!("session-{}-claude-start", ids[5])]);
    let start = env.json(
        &repo,
        &["session", "start", "after the tags", "--llm", "claude"],
    );
    let id = start["id"].as_str().unwrap();
    assert!(
        !ids.contains(&id.to_string()),
        "{id} collides with an existing tag"
    );
    assert!(id > ids[5].as_str(), "{id}");
}

#[test]
fn older_config_keys_name_the_default_agent_and_init_records_it() {
    for (section, key) in [("interfaces", "default"), ("adapters", "default")] {
        let env = Env::new();
        let repo = env.repo("legacy-llm");
        std::fs::create_dir_all(repo.join(".patina")).unwrap();
        let config = format!("# written by an older patina\n[{section}]\n{key} = \"gemini\"\n");
        std::fs::write(repo.join(".patina/config.toml"), &config).unwrap();
        let start = env.json(&repo, &["session", "start", "legacy agent"]);
        let tag = start["start_tag"].as_str().unwrap();
        assert!(tag.ends_with("-gemini-start"), "{section}.{key}: {tag}");
        env.ok(&repo, &["session", "abandon"]);
        env.ok(&repo, &["init"]);
        let after = std::fs::read_to_string(repo.join(".patina/config.toml")).unwrap();
        let parsed: toml::Table = toml::from_str(&after).unwrap();
        assert_eq!(parsed["project"]["llm"].as_str(), Some("gemini"), "{after}");
        assert!(
            after.starts_with(&config),
            "the user's text is kept: {after}"
        );
        // --llm still wins.
        let start = env.json(&repo, &["session", "start", "explicit", "--llm", "codex"]);
        assert!(
            start["start_tag"]
                .as_str()
                .unwrap()
                .ends_with("-codex-start")
        );
    }
}

#[test]
fn a_sessions_dir_outside_the_project_is_refused_naming_the_key() {
    let env = Env::new();
    let outside = env.work().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    for value in ["../../x", "/tmp/patina-elsewhere", "escape"] {
        let repo = env.project(&format!("p{}", value.len()));
        if value == "escape" {
            std::os::unix::fs::symlink(&outside, repo.join("escape")).unwrap();
        }
        let config = repo.join(".patina/config.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        let text = text.replace(
            "sessions_dir = \"sessions\"",
            &format!("sessions_dir = {value:?}"),
        );
        std::fs::write(&config, text).unwrap();
        let out = env.patina(&repo, &["session", "start", "outside"]);
        assert_eq!(out.status.code(), Some(2), "{value}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("project.sessions_dir"),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(value), "{}", stderr(&out));
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    }
}

/// `git commit` dated 2020 (author and committer); `--amend` rewrites HEAD with that date.
fn old_commit(env: &Env, repo: &Path, msg: &str) {
    let ok = std::process::Command::new("git")
        .current_dir(repo)
        .env("HOME", env.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", "1577880000 +0000")
        .env("GIT_COMMITTER_DATE", "1577880000 +0000")
        .args(if msg == "--amend" {
            vec![
                "commit",
                "-q",
                "--amend",
                "--reset-author",
                "-m",
                "initial + patina init",
            ]
        } else {
            vec!["commit", "-q", "-m", msg]
        })
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn an_unreachable_start_commit_does_not_lock_the_project() {
    for close in ["end", "recover", "abandon"] {
        let env = Env::new();
        let repo = env.project("gone");
        env.git(&repo, &["add", "-A"]);
        // Commits from before the session, dated in the past so that counting by time is exact.
        old_commit(&env, &repo, "--amend");
        std::fs::write(repo.join("doomed.txt"), "x\n").unwrap();
        env.git(&repo, &["add", "-A"]);
        old_commit(&env, &repo, "doomed");
        let start = env.json(&repo, &["session", "start", "doomed start"]);
        let sha = start["starting_commit"].as_str().unwrap().to_string();
        let tag = start["start_tag"].as_str().unwrap().to_string();
        env.git(&repo, &["reset", "-q", "--hard", "HEAD~1"]);
        env.git(&repo, &["tag", "-d", &tag]);
        env.git(&repo, &["reflog", "expire", "--expire=now", "--all"]);
        env.git(&repo, &["gc", "-q", "--prune=now"]);
        let cat = std::process::Command::new("git")
            .current_dir(&repo)
            .args(["cat-file", "-e", &sha])
            .status()
            .unwrap();
        assert!(!cat.success(), "git still has {sha}");
        env.commit_file(&repo, "after.txt", "y\n", "after the reset");
        // A second start explains itself and names the way out.
        let again = env.patina(&repo, &["session", "start", "blocked?"]);
        assert_eq!(again.status.code(), Some(3));
        assert!(stderr(&again).contains("recover"), "{}", stderr(&again));
        let out = env.patina(&repo, &["session", close, "--json"]);
        assert!(out.status.success(), "{close}: {}", stderr(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let warnings = report["warnings"].to_string();
        assert!(warnings.contains(&sha), "{close}: {warnings}");
        assert!(warnings.contains("active-session.md"), "{warnings}");
        let head = env.git(&repo, &["rev-parse", "HEAD"]);
        let end_tag = report["end_tag"].as_str().unwrap();
        assert_eq!(
            env.git(&repo, &["rev-parse", &format!("{end_tag}^{{commit}}")]),
            head
        );
        // The commit made after the start counts; the project can start again.
        assert_eq!(report["classification"]["commits"], 1, "{report}");
        env.ok(&repo, &["session", "start", "next"]);
    }
}

#[test]
fn newer_adapter_commands_are_aliased_or_reported() {
    let env = Env::new();
    let repo = env.project("newer");
    // A newer patina's adapter calls `patina ai session …`: accepted as `patina session …`.
    let start = env.json(&repo, &["ai", "session", "start", "from a newer adapter"]);
    assert!(start["id"].is_string());
    env.ok(&repo, &["ai", "session", "note", "still works"]);
    env.ok(&repo, &["ai", "session", "end"]);
    // A command file calling something this binary lacks is reported by init, with file:line.
    let cmd_dir = repo.join(".claude/commands");
    std::fs::create_dir_all(&cmd_dir).unwrap();
    std::fs::write(
        cmd_dir.join("wrap-up.md"),
        "---\ndescription: wrap up\n---\nRun !`patina ai session end --commit`\nthen `patina session finalize --all`\n",
    )
    .unwrap();
    let out = env.patina(&repo, &["init"]);
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(".claude/commands/wrap-up.md:5") && err.contains("patina session finalize"),
        "{err}"
    );
    assert!(!err.contains("ai session end"), "the alias is known: {err}");
    // One of patina's own adapter files from another version is replaced on request.
    std::fs::remove_file(cmd_dir.join("wrap-up.md")).unwrap();
    let ours = cmd_dir.join("session-end.md");
    std::fs::write(
        &ours,
        "---\ndescription: end\n---\nRun `patina session finalize`\n",
    )
    .unwrap();
    let err = stderr(&env.patina(&repo, &["init"]));
    assert!(
        err.contains(".claude/commands/session-end.md:4") && err.contains("--force"),
        "{err}"
    );
    let plain = env.json(&repo, &["adapter", "install", "claude"]);
    assert!(
        plain.to_string().contains("kept"),
        "an edited file is kept without --force: {plain}"
    );
    assert!(std::fs::read_to_string(&ours).unwrap().contains("finalize"));
    env.ok(&repo, &["adapter", "install", "claude", "--force"]);
    let text = std::fs::read_to_string(&ours).unwrap();
    assert!(
        !text.contains("finalize") && text.contains("patina session end"),
        "{text}"
    );
    // patina's own files for every agent name only commands this binary has.
    for agent in ["codex", "gemini", "opencode"] {
        env.ok(&repo, &["adapter", "install", agent]);
    }
    let out = env.patina(&repo, &["init"]);
    assert!(
        !stderr(&out).contains("does not have"),
        "nothing stale left: {}",
        stderr(&out)
    );
}

/// An archived session file in the 0.11 shape (YAML header, no `ended`), written by hand.
fn archived_session(repo: &Path, id: &str, status: &str, start_sha: &str, activity: &str) {
    let dir = repo.join("sessions");
    std::fs::create_dir_all(&dir).unwrap();
    // created = the id's time in UTC (the id is local time; these tests run in UTC or not, the
    // heading times use the header's offset either way)
    let created = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &id[0..4],
        &id[4..6],
        &id[6..8],
        &id[9..11],
        &id[11..13],
        &id[13..15]
    );
    let text = format!(
        "---\ntype: session\nid: {id}\ntitle: archived {id}\nstatus: {status}\nllm: claude\n\
         created: {created}\ngit:\n  branch: main\n  starting_commit: {start_sha}\n---\n\n\
         ## Activity Log\n\n### {activity} - Note\nworked\n"
    );
    std::fs::write(dir.join(format!("{id}.md")), text).unwrap();
}

#[test]
fn archived_sessions_take_their_end_from_git_tags_and_unterminated_ones_can_be_closed() {
    let env = Env::new();
    let repo = env.project("archive");
    env.git(&repo, &["add", "-A"]);
    old_commit(&env, &repo, "--amend");
    let base = env.git(&repo, &["rev-parse", "HEAD"]);
    // Session A (current tag form) and B (legacy form without an agent): end tags in git only.
    archived_session(
        &repo,
        "20200101-100000",
        "archived",
        &base,
        "2020-01-01 10:30",
    );
    archived_session(
        &repo,
        "20200102-100000",
        "archived",
        &base,
        "2020-01-02 10:30",
    );
    std::fs::write(repo.join("work.txt"), "a\n").unwrap();
    env.git(&repo, &["add", "-A"]);
    old_commit(&env, &repo, "work during A");
    let a_end = env.git(&repo, &["rev-parse", "HEAD"]);
    let tag_env = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .current_dir(&repo)
            .env("HOME", env.home())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_COMMITTER_DATE", "1577890000 +0100")
            .args(args)
            .status()
            .unwrap();
        assert!(ok.success());
    };
    tag_env(&[
        "tag",
        "-a",
        "session-20200101-100000-claude-end",
        "-m",
        "end A",
    ]);
    tag_env(&["tag", "session-20200102-100000-end"]); // lightweight, legacy name
    // Session C: left active in the archive by a crash; its range has one commit.
    archived_session(
        &repo,
        "20200103-100000",
        "active",
        &a_end,
        "2020-01-03 10:30",
    );
    std::fs::write(repo.join("work.txt"), "c\n").unwrap();
    env.git(&repo, &["add", "-A"]);
    let ok = std::process::Command::new("git")
        .current_dir(&repo)
        .env("HOME", env.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", "2020-01-03T10:20:00Z")
        .env("GIT_COMMITTER_DATE", "2020-01-03T10:20:00Z")
        .args(["commit", "-q", "-m", "work during C"])
        .status()
        .unwrap();
    assert!(ok.success());
    let c_last = env.git(&repo, &["rev-parse", "HEAD"]);
    env.commit_file(&repo, "later.txt", "later\n", "much later, not C's");

    let list = env.json(&repo, &["session", "list"]);
    let by_id = |id: &str| {
        list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing: {list}"))
            .clone()
    };
    let a = by_id("20200101-100000");
    assert_eq!(a["end_source"], "tag", "{a}");
    assert_eq!(a["end_tag"], "session-20200101-100000-claude-end");
    assert_eq!(a["end_commit"], a_end.as_str());
    assert_eq!(a["ended"], "2020-01-01T15:46:40+01:00", "tagger time: {a}");
    let b = by_id("20200102-100000");
    assert_eq!(b["end_tag"], "session-20200102-100000-end");
    assert_eq!(b["end_source"], "tag");
    assert!(
        b["ended"].is_string(),
        "lightweight tag: the commit's time: {b}"
    );
    let c = by_id("20200103-100000");
    assert_eq!(c["status"], "unterminated", "{c}");
    assert!(c["ended"].is_null());
    // `session status` agrees that nothing is active.
    let status = env.json(&repo, &["session", "status"]);
    assert!(
        status["active"] == false || status["id"].is_null(),
        "{status}"
    );

    // recover <id> closes it in place: end tag on the last commit of its own range.
    let rec = env.json(&repo, &["session", "recover", "20200103-100000"]);
    assert_eq!(rec["status"], "recovered", "{rec}");
    let tag = rec["end_tag"].as_str().unwrap();
    assert_eq!(
        env.git(&repo, &["rev-parse", &format!("{tag}^{{commit}}")]),
        c_last,
        "{rec}"
    );
    let list = env.json(&repo, &["session", "list"]);
    let c = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "20200103-100000")
        .unwrap()
        .clone();
    assert_eq!(c["status"], "recovered");
    assert_eq!(c["end_source"], "file");
    // Closing it again is a conflict naming the state; an unknown id is not found.
    let again = env.patina(&repo, &["session", "abandon", "20200103-100000"]);
    assert_eq!(again.status.code(), Some(3), "{}", stderr(&again));
    let none = env.patina(&repo, &["session", "recover", "19990101-000000"]);
    assert_eq!(none.status.code(), Some(4), "{}", stderr(&none));
    // An unterminated session with an end tag already (tagged, then the file was never closed)
    // keeps that tag.
    archived_session(
        &repo,
        "20200104-100000",
        "active",
        &c_last,
        "2020-01-04 10:30",
    );
    env.git(
        &repo,
        &["tag", "session-20200104-100000-claude-end", &a_end],
    );
    let rec = env.json(&repo, &["session", "abandon", "20200104-100000"]);
    assert_eq!(rec["end_tag"], "session-20200104-100000-claude-end");
    assert_eq!(rec["end_commit"], a_end.as_str());
}

#[test]
fn beliefs_captured_counts_this_sessions_beliefs_only() {
    let env = Env::new();
    let repo = env.project("captured");
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "patina init"]);
    // Session 1 captures two beliefs; only one is committed afterwards.
    env.ok(&repo, &["session", "start", "one"]);
    env.ok(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "kept-one",
            "--statement",
            "Kept and committed",
        ],
    );
    env.ok(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "left-over",
            "--statement",
            "Never committed",
        ],
    );
    let one = env.json(&repo, &["session", "end"]);
    assert_eq!(one["classification"]["beliefs_captured"], 2, "{one}");
    env.git(
        &repo,
        &[
            "add",
            "sessions",
            "layer/surface/epistemic/beliefs/kept-one.md",
        ],
    );
    env.git(&repo, &["commit", "-q", "-m", "session one"]);
    // Session 2 captures one belief that supports kept-one: kept-one only gains a back-reference.
    env.ok(&repo, &["session", "start", "two"]);
    env.ok(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "fresh",
            "--statement",
            "Made in two",
            "--supports",
            "kept-one",
        ],
    );
    let kept =
        std::fs::read_to_string(repo.join("layer/surface/epistemic/beliefs/kept-one.md")).unwrap();
    assert!(
        kept.contains("[[fresh]]"),
        "the back-reference was written: {kept}"
    );
    let two = env.json(&repo, &["session", "end"]);
    let ids: Vec<&str> = two["beliefs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["fresh"], "{two}");
    assert_eq!(two["classification"]["beliefs_captured"], 1);
    let archive = std::fs::read_to_string(two["path"].as_str().unwrap()).unwrap();
    assert!(archive.contains("## Beliefs Captured: 1"), "{archive}");
}

/// A minimal archived session file with a nanosecond id (the newer patina layout).
fn nanosecond_session(repo: &Path, id: &str) {
    let dir = repo.join("sessions");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{id}.md")),
        format!("---\ntype: session\nid: {id}\ntitle: s {id}\nstatus: archived\n---\n"),
    )
    .unwrap();
}

#[test]
fn links_reach_nanosecond_sessions_by_their_seconds_id_and_any_layer_file() {
    let env = Env::new();
    let repo = env.project("links");
    nanosecond_session(&repo, "20260709-091408-460632000");
    nanosecond_session(&repo, "20260710-100000-000000001");
    nanosecond_session(&repo, "20260710-100000-000000002");
    let write = |rel: &str, text: &str| {
        let p = repo.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "layer/slate/plan-alpha.md",
        "---\nid: plan-alpha\n---\n# Plan alpha\n",
    );
    write(
        "layer/work/items/wi-42.toml",
        "[item]\nid = \"wi-42\"\ntitle = \"Make links resolve\"\n",
    );
    // Layer documents of other folders are listed with their own kind.
    let docs = env.json(&repo, &["belief", "docs"]);
    let kinds: Vec<(String, String)> = docs
        .as_array()
        .unwrap_or_else(|| panic!("documents: {docs}"))
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().to_string(),
                d["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for id in ["plan-alpha", "wi-42"] {
        assert!(
            kinds.contains(&(id.to_string(), "layer".to_string())),
            "{id} in {kinds:?}"
        );
    }
    // `belief new --supports` accepts a slate document and a TOML work item.
    env.ok(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "links-resolve",
            "--statement",
            "Links resolve like the history says",
            "--supports",
            "plan-alpha",
        ],
    );
    env.ok(
        &repo,
        &["belief", "link", "links-resolve", "supports", "wi-42"],
    );
    // A seconds-only session id names its nanosecond file; git agrees the file is there.
    env.ok(
        &repo,
        &[
            "belief",
            "link",
            "links-resolve",
            "supports",
            "session-20260709-091408",
        ],
    );
    assert!(
        env.git(&repo, &["ls-files", "--others", "sessions"])
            .contains("20260709-091408-460632000.md")
    );
    // Two sessions share a seconds id: refused, naming both, nothing written.
    let path = repo.join("layer/surface/epistemic/beliefs/links-resolve.md");
    let before = std::fs::read_to_string(&path).unwrap();
    let out = env.patina(
        &repo,
        &[
            "belief",
            "link",
            "links-resolve",
            "supports",
            "session-20260710-100000",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("session-20260710-100000-000000001")
            && err.contains("session-20260710-100000-000000002"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    // `belief check`: the resolved links are clean; a hand-written ambiguous link is reported.
    let check = env.json(&repo, &["belief", "check"]);
    assert_eq!(check["counts"].get("dangling_link"), None, "{check}");
    std::fs::write(
        &path,
        before.replace(
            "## Evidence",
            "## Evidence\n\n- [[session-20260710-100000]]: which one?",
        ),
    )
    .unwrap();
    let out = env.patina(&repo, &["belief", "check", "--json"]);
    let check: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(check["counts"]["ambiguous_link"], 1, "{check}");
    assert_eq!(check["counts"].get("dangling_link"), None, "{check}");
}
