//! The session engine through the real binary, in real git repos.

mod common;

use std::path::Path;

use common::Env;

fn active(repo: &Path) -> String {
    std::fs::read_to_string(repo.join(".patina/local/active-session.md")).unwrap()
}

#[test]
fn lifecycle_tags_counts_and_archive() {
    let env = Env::new();
    let repo = env.project("p");
    let start = env.json(
        &repo,
        &["session", "start", "first session", "--llm", "claude"],
    );
    let id = start["id"].as_str().unwrap().to_string();
    let start_tag = format!("session-{id}-claude-start");
    assert_eq!(start["start_tag"], start_tag.as_str());
    // the tag is annotated and points at the starting commit
    assert_eq!(env.git(&repo, &["cat-file", "-t", &start_tag]), "tag");
    let head0 = env.git(&repo, &["rev-parse", "HEAD"]);
    assert_eq!(
        env.git(&repo, &["rev-parse", &format!("{start_tag}^{{commit}}")]),
        head0
    );
    assert_eq!(start["starting_commit"], head0.as_str());

    env.ok(&repo, &["session", "note", "looked at the parser"]);
    env.commit_file(&repo, "src/a.rs", "fn a() {}\n", "add a");
    env.commit_file(&repo, "src/b.rs", "fn b() {}\n", "add b");
    env.git(&repo, &["mv", "README.md", "READ.md"]);
    env.git(&repo, &["commit", "-q", "-m", "rename"]);
    env.git(&repo, &["rm", "-q", "src/a.rs"]);
    env.git(&repo, &["commit", "-q", "-m", "delete a"]);
    std::fs::write(repo.join("wip.txt"), "wip").unwrap();

    let up = env.json(&repo, &["session", "update"]);
    let commits: usize = env
        .git(&repo, &["rev-list", "--count", &format!("{head0}..HEAD")])
        .parse()
        .unwrap();
    assert_eq!(up["git"]["commits"], commits);
    let name_status = env.git(&repo, &["diff", "--name-status", &head0, "HEAD"]);
    let files = up["git"]["files"].as_array().unwrap();
    assert_eq!(files.len(), name_status.lines().count(), "{name_status}");
    let statuses: Vec<char> = files
        .iter()
        .map(|f| f["status"].as_str().unwrap().chars().next().unwrap())
        .collect();
    assert!(statuses.contains(&'R') && statuses.contains(&'A'), "{up}");
    assert!(
        up["git"]["uncommitted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "wip.txt"),
        "{up}"
    );

    let end = env.json(&repo, &["session", "end"]);
    let end_tag = format!("session-{id}-claude-end");
    assert_eq!(end["end_tag"], end_tag.as_str());
    assert_eq!(env.git(&repo, &["cat-file", "-t", &end_tag]), "tag");
    let head = env.git(&repo, &["rev-parse", "HEAD"]);
    assert_eq!(
        env.git(&repo, &["rev-parse", &format!("{end_tag}^{{commit}}")]),
        head
    );
    let tags = env.git(&repo, &["tag", "-l", &format!("session-{id}-*")]);
    assert_eq!(tags.lines().count(), 2, "{tags}");
    assert_eq!(end["classification"]["commits"], commits);
    assert_eq!(
        end["classification"]["files_changed"],
        name_status.lines().count()
    );
    assert_eq!(end["status"], "archived");
    assert!(!repo.join(".patina/local/active-session.md").exists());
    let archived = repo.join(format!("sessions/{id}.md"));
    let text = std::fs::read_to_string(&archived).unwrap();
    for needle in [
        "status: archived",
        "end_tag: session-",
        "end_commit:",
        "classification:",
        "## Beliefs Captured: 0",
        "## Session Classification",
        "- Work Type: feature",
        "- Session Tags: session-",
        "Session End",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    // show reads the archive back
    let shown = env.json(&repo, &["session", "show", &id]);
    assert_eq!(shown["status"], "archived");
    assert_eq!(shown["classification"]["work_type"], "feature");
    // the next session gets real previous context
    env.json(&repo, &["session", "start", "second"]);
    let a = active(&repo);
    assert!(a.contains("Last session: **first session**"), "{a}");
    assert!(a.contains("Classification: feature"), "{a}");
}

#[test]
fn start_refuses_when_active_and_nothing_is_lost() {
    let env = Env::new();
    let repo = env.project("p");
    env.ok(&repo, &["session", "start", "one"]);
    env.ok(&repo, &["session", "note", "keep me"]);
    let before = active(&repo);
    let out = env.patina(&repo, &["session", "start", "two"]);
    assert_eq!(out.status.code(), Some(3));
    let err = common::stderr(&out);
    assert!(
        err.contains("already active") && err.contains("session end") && err.contains("recover"),
        "{err}"
    );
    assert_eq!(active(&repo), before);
    // JSON error shape
    let out = env.patina(&repo, &["session", "start", "two", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exit_code"], 3);
}

#[test]
fn subdirectory_run_acts_on_root() {
    let env = Env::new();
    let repo = env.project("p");
    let deep = repo.join("src/deep");
    std::fs::create_dir_all(&deep).unwrap();
    env.ok(&deep, &["session", "start", "from below"]);
    env.ok(&deep, &["session", "note", "n"]);
    env.ok(&deep, &["session", "end"]);
    assert_eq!(std::fs::read_dir(&deep).unwrap().count(), 0);
    assert_eq!(
        std::fs::read_dir(repo.join("sessions"))
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "md"))
            .count(),
        1
    );
}

#[test]
fn notes_goals_and_stdin() {
    let env = Env::new();
    let repo = env.project("p");
    env.ok(&repo, &["session", "start", "goals"]);
    // empty note is refused and writes nothing
    let before = active(&repo);
    let out = env.patina(&repo, &["session", "note", "   "]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert_eq!(active(&repo), before);
    // stdin
    let mut c = env.cmd(&repo);
    c.args(["session", "note", "-"])
        .stdin(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all("multi\nline ünïcode\n## not a section".as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    env.ok(&repo, &["session", "goal", "add", "write tests"]);
    env.ok(&repo, &["session", "goal", "add", "update docs"]);
    env.ok(&repo, &["session", "goal", "done", "docs"]);
    env.ok(&repo, &["session", "goal", "done", "1"]);
    let st = env.json(&repo, &["session", "status"]);
    let goals = st["goals"].as_array().unwrap();
    assert_eq!(goals.len(), 3);
    assert_eq!(
        goals
            .iter()
            .map(|g| g["done"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [true, false, true]
    );
    let shown = env.json(&repo, &["session", "show"]);
    let acts = shown["activity"].as_array().unwrap();
    assert_eq!(
        acts.last().unwrap()["body"],
        "multi\nline ünïcode\n## not a section"
    );
    assert_eq!(shown["sections"].as_array().unwrap().len(), 3, "{shown}");
    let out = env.patina(&repo, &["session", "goal", "done", "42"]);
    assert_eq!(out.status.code(), Some(4));
}
