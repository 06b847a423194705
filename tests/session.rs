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
    let n = env.json(
        &repo,
        &["session", "note", "- a bullet that starts with a dash"],
    );
    assert!(n["heading"].as_str().unwrap().starts_with("Note"));
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
        acts[acts.len() - 2]["body"],
        "multi\nline ünïcode\n## not a section"
    );
    assert_eq!(
        acts.last().unwrap()["body"],
        "- a bullet that starts with a dash"
    );
    assert_eq!(shown["sections"].as_array().unwrap().len(), 3, "{shown}");
    let out = env.patina(&repo, &["session", "goal", "done", "42"]);
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn eight_writers_times_200_notes_lose_nothing() {
    let env = std::sync::Arc::new(Env::new());
    let repo = env.project("p");
    env.ok(&repo, &["session", "start", "concurrency"]);
    let mut handles = Vec::new();
    for w in 0..8 {
        let env = env.clone();
        let repo = repo.clone();
        handles.push(std::thread::spawn(move || {
            for i in 0..200 {
                env.ok(&repo, &["session", "note", &format!("writer {w} note {i}")]);
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    let shown = env.json(&repo, &["session", "show"]);
    let notes: Vec<&str> = shown["activity"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["heading"].as_str().unwrap().starts_with("Note"))
        .map(|e| e["body"].as_str().unwrap())
        .collect();
    assert_eq!(notes.len(), 1600);
    let mut uniq: Vec<&str> = notes.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), 1600, "every note exactly once");
    // each writer's notes are in its own order
    for w in 0..8 {
        let mine: Vec<usize> = notes
            .iter()
            .filter_map(|n| n.strip_prefix(&format!("writer {w} note ")))
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(mine, (0..200).collect::<Vec<_>>());
    }
}

#[test]
fn sigkilled_writers_leave_a_parsable_file() {
    let env = Env::new();
    let repo = env.project("p");
    env.ok(&repo, &["session", "start", "kill"]);
    let big = "x".repeat(64 * 1024);
    let mut ok = 0;
    for i in 0..40u64 {
        let mut child = env
            .cmd(&repo)
            .args(["session", "note", &format!("{i} {big}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(i % 12));
        // SIGKILL: no destructor, no cleanup, possibly mid-write
        let _ = child.kill();
        if child.wait().unwrap().success() {
            ok += 1;
        }
        // after every kill the session still parses
        let v = env.json(&repo, &["session", "show"]);
        assert_eq!(v["id"].as_str().unwrap().len(), 15);
    }
    let v = env.json(&repo, &["session", "show"]);
    let notes = v["activity"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["heading"].as_str().unwrap().starts_with("Note"))
        .count();
    assert!(notes >= ok, "{notes} notes, {ok} writers reported success");
    // and it keeps working
    env.ok(&repo, &["session", "note", "after the kills"]);
    env.ok(&repo, &["session", "end"]);
    // temp files of killed writers are swept under the lock
    let litter: Vec<_> = std::fs::read_dir(repo.join(".patina/local"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(litter.is_empty(), "{litter:?}");
}

/// The append path (a note only extends the file: O_APPEND + fdatasync) under SIGKILL with
/// multi-byte text. The kill is sent as soon as the file starts growing, i.e. during the
/// write(2), which a fatal signal stops at a page boundary, possibly inside a character. Every
/// kill leaves a file that parses and keeps all earlier text, and the next note repairs the tail.
#[test]
fn sigkilled_appends_of_multibyte_notes_keep_earlier_text_and_parse() {
    use std::io::Write as _;
    let env = Env::new();
    let repo = env.project("p");
    env.ok(&repo, &["session", "start", "kill é"]);
    env.ok(&repo, &["session", "note", "first ✓ before the kills"]);
    let path = repo.join(".patina/local/active-session.md");
    let big = "é✓".repeat(400 * 1024); // 2 MB: its write(2) lasts long enough to be cut
    for i in 0..8 {
        let before = std::fs::read(&path).unwrap();
        let mut child = env
            .cmd(&repo)
            .args(["session", "note", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let text = format!("{i} {big}");
        let feeder = std::thread::spawn(move || {
            let _ = stdin.write_all(text.as_bytes());
        });
        // SIGKILL as soon as the append has begun (or the writer is done)
        while std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) <= before.len() as u64
            && child.try_wait().unwrap().is_none()
        {}
        let _ = child.kill();
        let _ = child.wait();
        feeder.join().unwrap();
        let after = std::fs::read(&path).unwrap();
        // nothing written before is lost: the file grew from the old bytes, or (when the old
        // bytes ended in a torn character) it was rewritten from their valid text
        let valid = match std::str::from_utf8(&before) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&before[..e.valid_up_to()]).unwrap(),
        };
        let kept = after.starts_with(&before)
            || (valid.len() < before.len() && after.starts_with(valid.trim_end().as_bytes()));
        assert!(kept, "kill {i} lost earlier text");
        let v = env.json(&repo, &["session", "show"]);
        assert_eq!(v["title"], "kill é");
    }
    env.ok(&repo, &["session", "note", "after the kills ✓"]);
    let text = std::fs::read_to_string(&path).expect("valid UTF-8 after the next note");
    assert!(text.contains("first ✓ before the kills"));
    assert!(text.contains("after the kills ✓"));
    env.ok(&repo, &["session", "end"]);
}

/// A note never leaves a code fence open: one its text opens is closed, and one the file ends in
/// (a note cut short by a kill inside its fenced block) is closed before the next entry; else
/// every later entry would read as part of that code block.
#[test]
fn an_open_fence_never_swallows_later_notes() {
    let env = Env::new();
    let repo = env.project("p");
    env.ok(&repo, &["session", "start", "fences"]);
    env.ok(&repo, &["session", "note", "line\n```\nunclosed"]);
    env.ok(&repo, &["session", "note", "after an unclosed fence"]);
    let path = repo.join(".patina/local/active-session.md");
    // a kill inside a fenced block: the file ends in the open fence
    env.ok(
        &repo,
        &["session", "note", "code:\n~~~~\nfn x() {}\n~~~~\nend"],
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let cut = text.rfind("fn x()").unwrap() + "fn x(".len();
    std::fs::write(&path, &text[..cut]).unwrap();
    env.ok(&repo, &["session", "note", "after a torn fence"]);
    let v = env.json(&repo, &["session", "show"]);
    let bodies: Vec<String> = v["activity"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["heading"].as_str().unwrap().starts_with("Note"))
        .map(|e| e.to_string())
        .collect();
    assert_eq!(bodies.len(), 4, "{bodies:#?}");
    assert!(bodies[1].contains("after an unclosed fence"), "{bodies:#?}");
    assert!(bodies[3].contains("after a torn fence"), "{bodies:#?}");
    env.ok(&repo, &["session", "end"]);
}

#[test]
fn crash_then_recover_tags_last_session_commit() {
    let env = Env::new();
    let repo = env.project("p");
    let id = env.json(&repo, &["session", "start", "crashy"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c1 = env.commit_file(&repo, "src/a.rs", "a\n", "a");
    // the process "crashes": nothing else happens, the active file stays behind
    let st = env.json(&repo, &["session", "status"]);
    assert_eq!(st["active"], true);
    assert_eq!(st["stale"], false);
    let r = env.json(&repo, &["session", "recover"]);
    assert_eq!(r["status"], "recovered");
    let tag = format!("session-{id}-claude-end");
    assert_eq!(env.git(&repo, &["cat-file", "-t", &tag]), "tag");
    assert_eq!(
        env.git(&repo, &["rev-parse", &format!("{tag}^{{commit}}")]),
        c1
    );
    let text = std::fs::read_to_string(repo.join(format!("sessions/{id}.md"))).unwrap();
    assert!(text.contains("status: recovered"), "{text}");
    assert!(text.contains("- Session Recovered"), "{text}");
    assert!(text.contains("## Session Classification"), "{text}");
    assert!(!repo.join(".patina/local/active-session.md").exists());
    // nothing active now: end/recover/note say so with exit 3
    for args in [
        &["session", "end"][..],
        &["session", "recover"][..],
        &["session", "note", "x"][..],
    ] {
        assert_eq!(env.patina(&repo, args).status.code(), Some(3), "{args:?}");
    }
}

#[test]
fn recover_at_picks_the_last_commit_before_the_time() {
    let env = Env::new();
    let repo = env.project("p");
    let id = env.json(&repo, &["session", "start", "at"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let commit_at = |file: &str, date: &str| {
        std::fs::write(repo.join(file), file).unwrap();
        env.git(&repo, &["add", "-A"]);
        let out = std::process::Command::new("git")
            .current_dir(&repo)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", env.home())
            .env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_DATE", date)
            .args(["commit", "-q", "-m", file])
            .output()
            .unwrap();
        assert!(out.status.success());
        env.git(&repo, &["rev-parse", "HEAD"])
    };
    let early = commit_at("one", "2099-01-01T10:00:00+00:00");
    commit_at("two", "2099-01-01T12:00:00+00:00");
    let r = env.json(
        &repo,
        &["session", "recover", "--at", "2099-01-01T11:00:00+00:00"],
    );
    assert_eq!(r["end_commit"], early.as_str());
    assert_eq!(r["ended"], "2099-01-01T11:00:00+00:00");
    let tag = format!("session-{id}-claude-end");
    assert_eq!(
        env.git(&repo, &["rev-parse", &format!("{tag}^{{commit}}")]),
        early
    );
    assert_eq!(r["classification"]["commits"], 1);
}

#[test]
fn stale_session_is_flagged_and_start_suggests_recover() {
    let env = Env::new();
    let repo = env.project("p");
    env.ok(&repo, &["session", "start", "old"]);
    assert_eq!(env.json(&repo, &["session", "status"])["stale"], false);
    // Nine hours later (the default stale_hours is 8): the clock is set, not waited for.
    let later = (chrono::Local::now() + chrono::Duration::hours(9))
        .fixed_offset()
        .to_rfc3339();
    let at_later = |args: &[&str]| {
        env.cmd(&repo)
            .env("PATINA_NOW", &later)
            .args(args)
            .output()
            .unwrap()
    };
    let out = at_later(&["session", "status", "--json"]);
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["stale"], true, "{st}");
    assert!(
        st["idle_seconds"].as_i64().unwrap() >= 9 * 3600 - 60,
        "{st}"
    );
    let out = at_later(&["session", "start", "new"]);
    assert_eq!(out.status.code(), Some(3));
    let err = common::stderr(&out);
    assert!(
        err.contains("stale") && err.contains("session recover"),
        "{err}"
    );
    // A clock that is not a time is a usage error naming the variable, not "now".
    let bad = env
        .cmd(&repo)
        .env("PATINA_NOW", "yesterday")
        .args(["session", "status"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        common::stderr(&bad).contains("PATINA_NOW"),
        "{}",
        common::stderr(&bad)
    );
    env.ok(&repo, &["session", "abandon"]);
    let list = env.json(&repo, &["session", "list"]);
    assert_eq!(list["sessions"][0]["status"], "abandoned");
    env.ok(&repo, &["session", "start", "new"]);
}

#[test]
fn two_starts_at_once_one_wins_and_end_start_in_one_second_gets_new_id() {
    let env = std::sync::Arc::new(Env::new());
    let repo = env.project("p");
    let hs: Vec<_> = (0..2)
        .map(|i| {
            let env = env.clone();
            let repo = repo.clone();
            std::thread::spawn(move || env.patina(&repo, &["session", "start", &format!("s{i}")]))
        })
        .collect();
    let codes: Vec<Option<i32>> = hs
        .into_iter()
        .map(|h| h.join().unwrap().status.code())
        .collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(sorted, [Some(0), Some(3)], "{codes:?}");
    // end and start again at once: distinct ids, both archived/active, 3 tags
    let a = env.json(&repo, &["session", "end"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = env.json(&repo, &["session", "start", "again"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.ok(&repo, &["session", "end"]);
    let c = env.json(&repo, &["session", "start", "third"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(a != b && b != c && a != c, "{a} {b} {c}");
    assert!(repo.join(format!("sessions/{a}.md")).is_file());
    assert!(repo.join(format!("sessions/{b}.md")).is_file());
    let tags = env.git(&repo, &["tag", "-l", "session-*"]);
    assert_eq!(tags.lines().count(), 5, "{tags}");
}

mod bad_input {
    use super::*;

    #[test]
    fn not_a_git_repo_works_without_tags() {
        let env = Env::new();
        let dir = env.work().join("plain");
        std::fs::create_dir_all(dir.join(".patina")).unwrap();
        let out = env.patina(&dir, &["session", "start", "no git", "--json"]);
        assert!(out.status.success(), "{}", common::stderr(&out));
        assert!(common::stderr(&out).contains("not a git repository"));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(v["start_tag"].is_null());
        env.ok(&dir, &["session", "note", "fine"]);
        env.ok(&dir, &["session", "update"]);
        let end = env.json(&dir, &["session", "end", "--commit"]);
        assert_eq!(end["classification"]["work_type"], "exploration");
        assert!(end["end_tag"].is_null());
        // and outside any project the error says what to do
        let bare = env.work().join("bare");
        std::fs::create_dir_all(&bare).unwrap();
        let out = env.patina(&bare, &["session", "status"]);
        assert_eq!(out.status.code(), Some(6), "not in a project");
        assert!(common::stderr(&out).contains("git init"));
    }

    #[test]
    fn no_commits_yet() {
        let env = Env::new();
        let dir = env.work().join("empty");
        std::fs::create_dir_all(&dir).unwrap();
        env.git(&dir, &["init", "-q", "-b", "main"]);
        env.ok(&dir, &["init"]);
        let out = env.patina(&dir, &["session", "start", "first"]);
        assert!(out.status.success(), "{}", common::stderr(&out));
        assert!(common::stderr(&out).contains("no commits yet"));
        let st = env.json(&dir, &["session", "status"]);
        assert_eq!(st["branch"], "main");
        assert!(st["starting_commit"].is_null());
        env.ok(&dir, &["session", "note", "before any commit"]);
        env.commit_file(&dir, "a.txt", "a", "first commit");
        env.commit_file(&dir, "b.txt", "b", "second commit");
        let up = env.json(&dir, &["session", "update"]);
        assert_eq!(up["git"]["commits"], 2);
        let end = env.json(&dir, &["session", "end"]);
        assert_eq!(end["classification"]["commits"], 2);
        let id = end["id"].as_str().unwrap();
        assert_eq!(
            env.git(
                &dir,
                &["cat-file", "-t", &format!("session-{id}-claude-end")]
            ),
            "tag"
        );
    }

    #[test]
    fn detached_head() {
        let env = Env::new();
        let repo = env.project("p");
        let c = env.commit_file(&repo, "a.txt", "a", "a");
        env.git(&repo, &["checkout", "-q", "--detach", &c]);
        let out = env.patina(&repo, &["session", "start", "detached", "--json"]);
        assert!(out.status.success(), "{}", common::stderr(&out));
        assert!(common::stderr(&out).contains("detached"));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(v["branch"].is_null());
        assert_eq!(v["starting_commit"], c.as_str());
        let n = env.json(&repo, &["session", "note", "x"]);
        assert_eq!(n["heading"], format!("Note [HEAD@{}]", &c[..7]));
        env.ok(&repo, &["session", "end"]);
    }

    #[test]
    fn existing_tags() {
        let env = Env::new();
        let repo = env.project("p");
        // occupy the start tags of the next seconds: start takes the next free id
        let now = chrono::Local::now();
        let taken: Vec<String> = (0..4)
            .map(|k| {
                (now + chrono::Duration::seconds(k))
                    .format("%Y%m%d-%H%M%S")
                    .to_string()
            })
            .collect();
        for id in &taken {
            env.git(&repo, &["tag", &format!("session-{id}-claude-start")]);
        }
        let v = env.json(&repo, &["session", "start", "tags"]);
        let id = v["id"].as_str().unwrap().to_string();
        assert!(!taken.contains(&id), "{id} reused a taken id");
        // an end tag that already exists on another commit: refused, session stays active
        let first = env.git(&repo, &["rev-parse", "HEAD"]);
        env.commit_file(&repo, "a.txt", "a", "a");
        let end_tag = format!("session-{id}-claude-end");
        env.git(&repo, &["tag", &end_tag, &first]);
        let out = env.patina(&repo, &["session", "end"]);
        assert_eq!(out.status.code(), Some(3));
        let err = common::stderr(&out);
        assert!(
            err.contains("already exists") && err.contains("git tag -d"),
            "{err}"
        );
        assert!(repo.join(".patina/local/active-session.md").exists());
        env.git(&repo, &["tag", "-d", &end_tag]);
        env.ok(&repo, &["session", "end"]);
        assert_eq!(env.git(&repo, &["cat-file", "-t", &end_tag]), "tag");
    }

    #[test]
    fn titles_with_quotes_newlines_and_non_ascii() {
        let env = Env::new();
        let repo = env.project("p");
        let title = "fix \"quoted\" 'bits': ünïcödé ✓\nsecond line";
        let v = env.json(&repo, &["session", "start", title]);
        assert_eq!(v["title"], "fix \"quoted\" 'bits': ünïcödé ✓ second line");
        let shown = env.json(&repo, &["session", "show"]);
        assert_eq!(shown["title"], v["title"]);
        let id = v["id"].as_str().unwrap();
        let msg = env.git(
            &repo,
            &[
                "tag",
                "-l",
                "--format=%(contents)",
                &format!("session-{id}-claude-start"),
            ],
        );
        assert!(msg.contains("ünïcödé ✓"), "{msg}");
        let end = env.json(&repo, &["session", "end", "--commit"]);
        let log = env.git(&repo, &["log", "-1", "--format=%s"]);
        assert_eq!(
            log,
            format!("session: archive {id} (fix \"quoted\" 'bits': ünïcödé ✓ second line)")
        );
        assert_eq!(env.git(&repo, &["status", "--porcelain", "sessions"]), "");
        assert!(end["archive_commit"].is_string());
        // an empty title is a usage error
        let out = env.patina(&repo, &["session", "start", " \n "]);
        assert_eq!(out.status.code(), Some(2));
    }

    #[test]
    fn malformed_active_file_is_reported_and_untouched() {
        let env = Env::new();
        let repo = env.project("p");
        env.ok(&repo, &["session", "start", "x"]);
        let p = repo.join(".patina/local/active-session.md");
        let text = std::fs::read_to_string(&p).unwrap();
        // a missing field
        let no_id: String = text
            .lines()
            .filter(|l| !l.starts_with("id:"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&p, &no_id).unwrap();
        let out = env.patina(&repo, &["session", "note", "lost?"]);
        assert_eq!(out.status.code(), Some(2), "invalid_input");
        let err = common::stderr(&out);
        assert!(
            err.contains("active-session.md") && err.contains("`id`"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&p).unwrap(), no_id);
        // malformed YAML
        let bad = text.replace("status: active", "status: [active");
        std::fs::write(&p, &bad).unwrap();
        let out = env.patina(&repo, &["session", "end"]);
        assert_eq!(out.status.code(), Some(2), "invalid_input");
        let err = common::stderr(&out);
        assert!(
            err.contains("active-session.md") && err.contains("status"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&p).unwrap(), bad);
    }
}

mod reading {
    use super::*;

    const LEGACY: &str = "# Session: legacy fixture\n**ID**: 20250728-182427\n**Started**: 2025-07-28T22:24:27Z\n**LLM**: claude\n**Git Branch**: feature/x\n**Session Tag**: session-20250728-182427-claude-start\n**Starting Commit**: 377bd54658b5c5626b55b0a6b12c52c4b1ea8d0d\n\n## Previous Session Context\nNone.\n\n## Goals\n- [x] one\n- [ ] two\n\n## Activity Log\n### 18:24 - Session Start\nstarted\n\n### 18:32 - Note\nnot sure why\n\n### 18:33 - Session End (covering since 18:30)\ndone\n\n## Session Classification\n- Work Type: exploration\n- Files Changed: 2\n- Commits: 0\n- Patterns Modified: 0\n- Beliefs Captured: 0\n- Session Tags: session-20250728-182427-claude-start..session-20250728-182427-claude-end\n";

    const YAML: &str = "---\ntype: session\nid: 20260204-213118\ntitle: mother-daemon-unify\nstatus: archived\nllm: gemini\ncreated: 2026-02-05T02:31:18Z\nstart_timestamp: 1770258678186\ngit:\n  branch: patina\n  starting_commit: 39a6bf1e4009dd89867fb80ad9145a42119fa7cf\n  start_tag: session-20260204-213118-gemini-start\n---\n\n## Goals\n- [x] mother-daemon-unify\n\n## Activity Log\n### 21:31 - Session Start\nSession initialized\n\n### 23:03 - Update (covering since 21:31)\n\n**Git Activity:**\n- Commits this session: 1\n\n## Beliefs Captured: 1\n- **mother-is-the-daemon**: one line\n\n## Session Classification\n- Work Type: pattern-work\n- Files Changed: 16\n- Commits: 4\n- Patterns Modified: 3\n- Beliefs Captured: 1\n- Session Tags: session-20260204-213118-gemini-start..session-20260204-213118-gemini-end\n";

    #[test]
    fn show_and_list_read_both_header_formats() {
        let env = Env::new();
        let repo = env.project("p");
        std::fs::write(repo.join("sessions/20250728-182427.md"), LEGACY).unwrap();
        std::fs::write(repo.join("sessions/20260204-213118.md"), YAML).unwrap();
        let l = env.json(&repo, &["session", "show", "sessions/20250728-182427.md"]);
        assert_eq!(l["format"], "legacy");
        assert_eq!(l["title"], "legacy fixture");
        assert_eq!(l["llm"], "claude");
        assert_eq!(l["git"]["branch"], "feature/x");
        assert_eq!(l["goals"].as_array().unwrap().len(), 2);
        assert_eq!(l["activity"][1]["heading"], "Note");
        assert_eq!(l["activity"][1]["timestamp"], "2025-07-28T18:32:00-04:00");
        assert_eq!(l["classification"]["work_type"], "exploration");
        let y = env.json(&repo, &["session", "show", "20260204-213118"]);
        assert_eq!(y["format"], "yaml");
        assert_eq!(y["beliefs_captured"], 1);
        assert_eq!(y["classification"]["patterns_modified"], 3);
        assert_eq!(y["git"]["end_tag"], "session-20260204-213118-gemini-end");
        // from a subdirectory, by absolute path
        let sub = repo.join("src");
        std::fs::create_dir_all(&sub).unwrap();
        let abs = repo.join("sessions/20260204-213118.md");
        let y2 = env.json(&sub, &["session", "show", abs.to_str().unwrap()]);
        assert_eq!(y2["id"], "20260204-213118");
        // list with filters
        let all = env.json(&repo, &["session", "list"]);
        assert_eq!(all["sessions"].as_array().unwrap().len(), 2);
        let since = env.json(&repo, &["session", "list", "--since", "2026-01-01"]);
        assert_eq!(since["sessions"].as_array().unwrap().len(), 1);
        let gem = env.json(&repo, &["session", "list", "--llm", "claude"]);
        assert_eq!(gem["sessions"][0]["id"], "20250728-182427");
        // a missing session is exit 4, a broken file names itself
        assert_eq!(
            env.patina(&repo, &["session", "show", "20990101-000000"])
                .status
                .code(),
            Some(4)
        );
        std::fs::write(repo.join("sessions/broken.md"), "---\nid: [x\n---\n").unwrap();
        let out = env.patina(&repo, &["session", "show", "sessions/broken.md"]);
        assert_eq!(out.status.code(), Some(2), "invalid_input");
        assert!(common::stderr(&out).contains("broken.md"));
        let list = env.json(&repo, &["session", "list"]);
        assert_eq!(list["errors"].as_array().unwrap().len(), 1);
        // the previous-session context of a new start reads the newest archive
        env.ok(&repo, &["session", "start", "after legacy"]);
        let a = active(&repo);
        assert!(
            a.contains("**mother-daemon-unify**") && a.contains("mother-is-the-daemon"),
            "{a}"
        );
    }
}

#[test]
fn domain_api_for_the_cockpit_matches_git() {
    let env = Env::new();
    let repo = env.project("p");
    env.ok(&repo, &["session", "start", "api"]);
    let start = env.git(&repo, &["rev-parse", "HEAD"]);
    env.commit_file(&repo, "a.txt", "a", "first");
    env.commit_file(&repo, "b/c.txt", "c", "second");
    let project = patina::project::Project::discover(&repo).unwrap();
    let commits = patina::session::commits(&project, 50).unwrap();
    let log = env.git(&repo, &["log", "--format=%H %s", &format!("{start}..HEAD")]);
    let ours: Vec<String> = commits
        .iter()
        .map(|c| format!("{} {}", c.sha, c.subject))
        .collect();
    assert_eq!(ours.join("\n"), log);
    assert_eq!(commits[0].files_changed, 1);
    // Engine::status is what `session status --json` prints: with both clocks set to the same
    // instant (the engine's FixedClock, the binary's PATINA_NOW), the whole document is equal.
    let at = chrono::DateTime::parse_from_rfc3339("2031-05-04T12:00:00+02:00").unwrap();
    let engine = patina::session::Engine::new(
        std::sync::Arc::new(patina::clock::FixedClock(at)),
        std::sync::Arc::new(patina::transcript::NoSecrets),
    );
    let st = serde_json::to_value(engine.status(&project).unwrap()).unwrap();
    let out = env
        .cmd(&repo)
        .env("PATINA_NOW", at.to_rfc3339())
        .args(["session", "status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st, cli);
    assert!(
        st["idle_seconds"].as_i64().unwrap() > 3600 * 24 * 365,
        "{st}"
    );
    // the parsed active session, and log_entry through the contract (stamped by the engine's clock)
    assert_eq!(
        engine
            .log_entry(&project, "Belief captured", "x-y: body")
            .unwrap(),
        st["id"].as_str().map(str::to_string)
    );
    let a = patina::session::active(&project).unwrap().unwrap();
    let last = a.activity.last().unwrap();
    assert_eq!(
        (last.heading.as_str(), last.body.as_str()),
        ("Belief captured", "x-y: body")
    );
    assert!(
        last.timestamp
            .as_deref()
            .unwrap()
            .starts_with("2031-05-04T12:00"),
        "{last:?}"
    );
    assert_eq!(a.goals[0].index, 1);
}

/// `git diff --shortstat`'s three numbers, parsed.
fn shortstat(env: &Env, repo: &Path, from: &str) -> (u64, u64, u64) {
    let s = env.git(repo, &["diff", "--shortstat", from, "HEAD"]);
    let mut n = (0, 0, 0);
    for part in s.split(',') {
        let mut words = part.split_whitespace();
        let v: u64 = words.next().unwrap().parse().unwrap();
        match words.next().unwrap() {
            w if w.starts_with("file") => n.0 = v,
            w if w.starts_with("insertion") => n.1 = v,
            _ => n.2 = v,
        }
    }
    n
}

/// `session update`'s line counts equal `git diff --shortstat` over the session range, both when
/// no attributes file exists (patina's blob-level count) and when one marks files `-diff`
/// (libgit2's attribute-aware count), and when HEAD has not moved (the memo); a symlink, a binary
/// file, a rename with edits and a deletion are in the range.
#[test]
fn update_line_counts_match_git_shortstat() {
    let env = Env::new();
    let repo = env.project("p");
    env.commit_file(&repo, "doc/old.txt", "one\ntwo\nthree\nfour\nfive\n", "old");
    env.commit_file(&repo, "gone.txt", "a\nb\n", "gone");
    let start = env.json(&repo, &["session", "start", "counts"]);
    let from = start["starting_commit"].as_str().unwrap().to_string();
    env.commit_file(&repo, "src/new.rs", "fn a() {}\nfn b() {}\n", "add");
    env.commit_file(&repo, "README.md", "# changed\nmore\n", "edit");
    std::fs::write(repo.join("bin.dat"), b"\x00\x01\x02binary\n").unwrap();
    env.git(&repo, &["add", "bin.dat"]);
    env.git(&repo, &["mv", "doc/old.txt", "doc/new.txt"]);
    std::fs::write(repo.join("doc/new.txt"), "one\ntwo\nthree\nfour\nFIVE\n").unwrap();
    env.git(&repo, &["rm", "-q", "gone.txt"]);
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "mixed"]);
    let check = |what: &str| {
        let up = env.json(&repo, &["session", "update"]);
        let (files, ins, del) = shortstat(&env, &repo, &from);
        let g = &up["git"];
        assert_eq!(
            g["files"].as_array().unwrap().len() as u64,
            files,
            "{what}: {up}"
        );
        assert_eq!(g["insertions"], ins, "{what}: {up}");
        assert_eq!(g["deletions"], del, "{what}: {up}");
        let commits = env.git(&repo, &["rev-list", "--count", &format!("{from}..HEAD")]);
        assert_eq!(g["commits"].to_string(), commits, "{what}");
    };
    check("plain files");
    // HEAD has not moved: the memo of the committed half is reused, until an attributes file
    // appears in the work tree (uncommitted; git reads it) and the range is measured again.
    assert!(repo.join(".patina/local/range-memo.json").is_file());
    check("memo reused");
    std::fs::write(repo.join(".gitattributes"), "*.md -diff\n").unwrap();
    check("untracked attributes file, HEAD unchanged");
    std::fs::remove_file(repo.join(".gitattributes")).unwrap();
    check("attributes file removed again");
    std::os::unix::fs::symlink("src/new.rs", repo.join("link")).unwrap();
    env.git(&repo, &["add", "link"]);
    env.git(&repo, &["commit", "-q", "-m", "symlink"]);
    check("with a symlink");
    env.commit_file(&repo, "src/.gitattributes", "*.rs -diff\n", "attributes");
    env.commit_file(&repo, "src/new.rs", "fn c() {}\n", "edit rs");
    check("with an attributes file");
}
