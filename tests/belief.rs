//! Beliefs and the layer through the real binary, on fixture projects written here.

mod common;

use std::path::{Path, PathBuf};

use common::{Env, stderr, stdout};

const BELIEFS: &str = "layer/surface/epistemic/beliefs";

fn belief_path(repo: &Path, id: &str) -> PathBuf {
    repo.join(BELIEFS).join(format!("{id}.md"))
}

fn read(repo: &Path, id: &str) -> String {
    std::fs::read_to_string(belief_path(repo, id)).unwrap()
}

/// A hand-written belief in the 0.11 format with a legacy `confidence:` key and unknown sections.
fn legacy_belief(id: &str, links: &str) -> String {
    format!(
        "---\ntype: belief\nid: {id}\npersona: architect\nfacets: [rust, process]\nconfidence:\n  score: 0.88\nentrenchment: high\nstatus: active\nextracted: 2026-01-05\nrevised: 2026-01-16\n---\n\n# {id}\n\nA statement for {id}.\n\n## Statement\n\nA longer statement.\n\n## Evidence\n\n- [[session-20260105-100012]] - seen (weight: 0.9)\n\n## Verification\n\n```verify type=\"sql\"\n## not a section [[not-a-link]]\n```\n\n## Supports\n\n{links}\n\n## Attacks\n\n<!-- None -->\n\n## Attacked-By\n\n<!-- None -->\n\n## Applied-In\n\n- somewhere\n\n## Related\n\n- kept verbatim\n\n## Revision Log\n\n- 2026-01-05: Extracted (confidence: 0.75)\n"
    )
}

fn write_belief(repo: &Path, id: &str, text: &str) {
    let p = belief_path(repo, id);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn write_session(repo: &Path, id: &str) {
    let p = repo.join("sessions").join(format!("{id}.md"));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(
        p,
        format!("---\ntype: session\nid: {id}\ntitle: fixture session\nstatus: archived\n---\n\n## Activity Log\n"),
    )
    .unwrap();
}

#[test]
fn new_writes_the_format_and_list_show_read_it() {
    let env = Env::new();
    let repo = env.project("p");
    let out = env.json(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "measure-first",
            "--statement",
            "Measure before optimising",
            "--evidence",
            "profiling showed parsing dominates (weight: 0.9)",
            "--facets",
            "perf, process,",
            "--entrenchment",
            "high",
            "--persona",
            "engineer",
        ],
    );
    assert_eq!(out["belief"]["id"], "measure-first");
    assert!(out["session"].is_null());
    let text = read(&repo, "measure-first");
    for needle in [
        "type: belief\n",
        "id: measure-first\n",
        "persona: engineer\n",
        "facets: [perf, process]\n",
        "entrenchment: high\n",
        "status: active\n",
        "# measure-first\n\nMeasure before optimising\n",
        "## Statement\n\nMeasure before optimising\n",
        "- profiling showed parsing dominates (weight: 0.9)\n",
        "## Supports\n",
        "## Attacks\n",
        "## Attacked-By\n",
        "## Applied-In\n",
        "## Revision Log\n",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(
        !text.contains("[[session-"),
        "no session, no session link:\n{text}"
    );
    let list = env.json(&repo, &["belief", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["statement"], "Measure before optimising");
    let show = env.json(&repo, &["belief", "show", "measure-first"]);
    assert_eq!(show["facets"], serde_json::json!(["perf", "process"]));
    assert_eq!(show["evidence"][0]["weight"], 0.9);
    let human = env.ok(&repo, &["belief", "show", "measure-first"]);
    assert!(human.contains("Measure before optimising"), "{human}");
    // a freshly written belief passes check
    env.ok(&repo, &["belief", "check"]);
    // show of an unknown id: not found
    let o = env.patina(&repo, &["belief", "show", "nope"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let env = Env::new();
    let repo = env.project("bad");
    env.ok(
        &repo,
        &["belief", "new", "--id", "taken", "--statement", "first"],
    );
    let before = read(&repo, "taken");
    let cases: &[(&[&str], i32, &str)] = &[
        (&["--id", "Bad_Id", "--statement", "x"], 2, "id `Bad_Id`"),
        (&["--id", "9lives", "--statement", "x"], 2, "id `9lives`"),
        (
            &["--id", "taken", "--statement", "other"],
            3,
            "already exists",
        ),
        (
            &["--id", "empty", "--statement", "   "],
            2,
            "statement is empty",
        ),
        (
            &["--id", "ent", "--statement", "x", "--entrenchment", "huge"],
            2,
            "entrenchment `huge`",
        ),
        (
            &[
                "--id",
                "dangle",
                "--statement",
                "x",
                "--supports",
                "missing",
            ],
            4,
            "supports target `missing`",
        ),
    ];
    for (args, code, msg) in cases {
        let mut a = vec!["belief", "new"];
        a.extend_from_slice(args);
        let o = env.patina(&repo, &a);
        assert_eq!(o.status.code(), Some(*code), "{a:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(msg), "{a:?}: {}", stderr(&o));
    }
    let files: Vec<_> = std::fs::read_dir(repo.join(BELIEFS))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(files.len(), 1, "only the first belief exists: {files:?}");
    assert_eq!(read(&repo, "taken"), before);
    // a duplicate id declared by another file name
    write_belief(&repo, "other-file", &legacy_belief("dup", ""));
    let o = env.patina(&repo, &["belief", "new", "--id", "dup", "--statement", "x"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("other-file.md"), "{}", stderr(&o));
    // --json error object
    let o = env.patina(
        &repo,
        &["belief", "new", "--id", "X", "--statement", "x", "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["exit_code"], 2);
}

#[test]
fn broken_yaml_is_named_with_file_and_field_and_blocks_edits() {
    let env = Env::new();
    let repo = env.project("yaml");
    write_belief(
        &repo,
        "broken",
        "---\ntype: belief\nid: broken\nfacets: [a, b\nstatus: active\n---\n\n# broken\n\nx\n",
    );
    env.ok(
        &repo,
        &["belief", "new", "--id", "fine", "--statement", "fine"],
    );
    let before = std::fs::read_to_string(belief_path(&repo, "broken")).unwrap();
    let o = env.patina(&repo, &["belief", "show", "broken"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("broken.md:") && e.contains("invalid YAML"),
        "{e}"
    );
    assert!(e.contains("field `facets`"), "{e}");
    // list keeps going and warns on stderr
    let o = env.patina(&repo, &["belief", "list", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert!(stderr(&o).contains("broken.md"), "{}", stderr(&o));
    // revise / link on the broken file fail without writing
    for args in [
        vec!["belief", "revise", "broken", "note"],
        vec!["belief", "link", "fine", "supports", "broken"],
    ] {
        let o = env.patina(&repo, &args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains("broken.md"), "{}", stderr(&o));
    }
    assert_eq!(
        std::fs::read_to_string(belief_path(&repo, "broken")).unwrap(),
        before
    );
    assert!(!read(&repo, "fine").contains("[[broken]]"));
}

#[test]
fn link_edits_both_files_consistently_and_is_idempotent() {
    let env = Env::new();
    let repo = env.project("link");
    for id in ["a", "b", "c"] {
        env.ok(
            &repo,
            &[
                "belief",
                "new",
                "--id",
                id,
                "--statement",
                &format!("belief {id}"),
            ],
        );
    }
    let out = env.json(&repo, &["belief", "link", "a", "supports", "b"]);
    assert_eq!(out["changed"].as_array().unwrap().len(), 2, "{out}");
    let a = read(&repo, "a");
    let b = read(&repo, "b");
    assert!(a.contains("## Supports\n\n- [[b]]\n"), "{a}");
    assert!(b.contains("- [[a]]: supporting belief\n"), "{b}");
    env.ok(&repo, &["belief", "link", "c", "attacks", "b"]);
    let b = read(&repo, "b");
    assert!(b.contains("## Attacked-By\n\n- [[c]]\n"), "{b}");
    assert!(read(&repo, "c").contains("## Attacks\n\n- [[b]]\n"));
    // again: nothing changes
    let snapshot: Vec<String> = ["a", "b", "c"].iter().map(|i| read(&repo, i)).collect();
    let out = env.json(&repo, &["belief", "link", "a", "supports", "b"]);
    assert!(out["changed"].as_array().unwrap().is_empty(), "{out}");
    let after: Vec<String> = ["a", "b", "c"].iter().map(|i| read(&repo, i)).collect();
    assert_eq!(snapshot, after);
    // a supports b already: a attacks b is a contradiction
    let o = env.patina(&repo, &["belief", "link", "a", "attacks", "b"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // unknown target / unknown source / self link
    assert_eq!(
        env.patina(&repo, &["belief", "link", "a", "supports", "zz"])
            .status
            .code(),
        Some(4)
    );
    assert_eq!(
        env.patina(&repo, &["belief", "link", "zz", "supports", "a"])
            .status
            .code(),
        Some(4)
    );
    assert_eq!(
        env.patina(&repo, &["belief", "link", "a", "supports", "a"])
            .status
            .code(),
        Some(2)
    );
    // a layer document as target: only the source changes
    std::fs::write(
        repo.join("layer/core/dependable-rust.md"),
        "---\nid: dependable-rust\n---\n# Dependable Rust\n",
    )
    .unwrap();
    let out = env.json(
        &repo,
        &["belief", "link", "c", "supports", "dependable-rust"],
    );
    assert_eq!(out["changed"].as_array().unwrap().len(), 1, "{out}");
    env.ok(&repo, &["belief", "check"]);
    // new --supports/--attacks writes the back-references too
    env.ok(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "d",
            "--statement",
            "d",
            "--supports",
            "a",
            "--attacks",
            "c",
        ],
    );
    assert!(read(&repo, "a").contains("- [[d]]: supporting belief\n"));
    assert!(read(&repo, "c").contains("## Attacked-By\n\n- [[d]]\n"));
}

#[test]
fn legacy_files_round_trip_and_keep_unknown_keys_and_sections() {
    let env = Env::new();
    let repo = env.project("legacy");
    write_session(&repo, "20260105-100012");
    let original = legacy_belief("old", "- [[new-one]]");
    write_belief(&repo, "old", &original);
    env.ok(
        &repo,
        &["belief", "new", "--id", "new-one", "--statement", "n"],
    );
    let show = env.json(&repo, &["belief", "show", "old"]);
    assert_eq!(show["extra"]["confidence"]["score"], 0.88, "{show}");
    assert!(
        show["sections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "Related")
    );
    env.ok(
        &repo,
        &[
            "belief",
            "revise",
            "old",
            "more evidence",
            "--entrenchment",
            "very-high",
        ],
    );
    let text = read(&repo, "old");
    assert!(text.contains("confidence:\n  score: 0.88\n"), "{text}");
    assert!(text.contains("## Related\n\n- kept verbatim\n"), "{text}");
    assert!(
        text.contains("```verify type=\"sql\"\n## not a section [[not-a-link]]\n```\n"),
        "{text}"
    );
    assert!(text.contains("entrenchment: very-high\n"), "{text}");
    assert!(
        text.contains(": more evidence (entrenchment: high → very-high)\n"),
        "{text}"
    );
    assert!(!text.contains("revised: 2026-01-16"), "{text}");
    // everything else is byte-identical: removing the three edited lines gives the original
    let strip = |t: &str| -> String {
        t.lines()
            .filter(|l| {
                !l.starts_with("revised:")
                    && !l.starts_with("entrenchment:")
                    && !l.contains("more evidence")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&text), strip(&original));
    let again = env.json(&repo, &["belief", "show", "old"]);
    assert_eq!(again["extra"], show["extra"]);
    assert_eq!(again["supports"], show["supports"]);
    assert_eq!(again["evidence"], show["evidence"]);
    env.ok(&repo, &["belief", "check"]);
}

#[test]
fn check_reports_every_finding_with_path_and_line() {
    let env = Env::new();
    let repo = env.project("check");
    write_session(&repo, "20260105-100012");
    // dangling link (line of the link), and a hypothetical one that is accepted
    let mut t = legacy_belief(
        "dangles",
        "- [[nowhere]]\n- [[planned]]\n- [[commit-0dd3b9ca]]\n- [[0dd3b9ca]]",
    );
    t = t.replace(
        "status: active\n",
        "status: active\nhypothetical: [planned]\n",
    );
    write_belief(&repo, "dangles", &t);
    // duplicated evidence: identical lines and one line linking the same session twice
    let t = legacy_belief("dupev", "").replace(
        "- [[session-20260105-100012]] - seen (weight: 0.9)\n",
        "- [[session-20260105-100012]]: [[session-20260105-100012]] - seen\n- same\n- same\n",
    );
    write_belief(&repo, "dupev", &t);
    // missing section
    write_belief(
        &repo,
        "nosec",
        &legacy_belief("nosec", "").replace("## Applied-In\n\n- somewhere\n\n", ""),
    );
    // invalid frontmatter values
    write_belief(
        &repo,
        "badfm",
        &legacy_belief("badfm", "")
            .replace("entrenchment: high", "entrenchment: huge")
            .replace("status: active", "status: maybe"),
    );
    // id ≠ file name
    write_belief(&repo, "wrong-name", &legacy_belief("right-name", ""));
    // broken YAML
    write_belief(
        &repo,
        "broken",
        "---\nid: broken\nfacets: [a\n---\n# broken\n",
    );
    let o = env.patina(&repo, &["belief", "check"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let human = stdout(&o);
    let o = env.patina(&repo, &["belief", "check", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let find = |kind: &str, file: &str| -> Vec<&serde_json::Value> {
        findings
            .iter()
            .filter(|f| f["kind"] == kind && f["path"].as_str().unwrap().ends_with(file))
            .collect()
    };
    let dangling = find("dangling_link", "dangles.md");
    assert_eq!(dangling.len(), 1, "{findings:#?}");
    assert_eq!(dangling[0]["target"], "nowhere");
    let line = dangling[0]["line"].as_u64().unwrap() as usize;
    let text = read(&repo, "dangles");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[line - 1], "- [[nowhere]]", "{text}");
    assert!(
        human.contains(&format!("{BELIEFS}/dangles.md:{line}: dangling_link")),
        "{human}"
    );
    assert_eq!(
        find("duplicate_evidence", "dupev.md").len(),
        2,
        "{findings:#?}"
    );
    let ms = find("missing_section", "nosec.md");
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0]["field"], "Applied-In");
    let bad = find("invalid_frontmatter", "badfm.md");
    let fields: Vec<&str> = bad.iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["entrenchment", "status"], "{bad:#?}");
    assert!(bad.iter().all(|f| f["line"].as_u64().unwrap() > 1));
    assert_eq!(find("id_mismatch", "wrong-name.md").len(), 1);
    let broken = find("invalid_frontmatter", "broken.md");
    assert_eq!(broken.len(), 1, "{findings:#?}");
    assert_eq!(broken[0]["field"], "facets");
    assert_eq!(v["beliefs"], 6);
    assert_eq!(v["ok"], false);
    assert_eq!(v["counts"]["dangling_link"], 1);
    // the duplicate id: two files declaring the same id
    write_belief(&repo, "right-name", &legacy_belief("right-name", ""));
    let v = env.patina(&repo, &["belief", "check", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&v)).unwrap();
    assert_eq!(v["counts"]["duplicate_id"], 1, "{v}");
}

#[test]
fn list_filters_by_status_and_facet() {
    let env = Env::new();
    let repo = env.project("filters");
    env.ok(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "a",
            "--statement",
            "a",
            "--facets",
            "rust,perf",
        ],
    );
    env.ok(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "b",
            "--statement",
            "b",
            "--facets",
            "process",
        ],
    );
    env.ok(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "c",
            "--statement",
            "c",
            "--facets",
            "rust",
        ],
    );
    env.ok(
        &repo,
        &[
            "belief",
            "revise",
            "c",
            "superseded",
            "--status",
            "defeated",
        ],
    );
    let ids = |v: serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(env.json(&repo, &["belief", "list"])),
        vec!["a", "b", "c"]
    );
    assert_eq!(
        ids(env.json(&repo, &["belief", "list", "--facet", "rust"])),
        vec!["a", "c"]
    );
    assert_eq!(
        ids(env.json(&repo, &["belief", "list", "--status", "active"])),
        vec!["a", "b"]
    );
    assert_eq!(
        ids(env.json(
            &repo,
            &["belief", "list", "--status", "defeated", "--facet", "rust"]
        )),
        vec!["c"]
    );
    assert_eq!(
        env.patina(&repo, &["belief", "list", "--status", "bogus"])
            .status
            .code(),
        Some(2)
    );
    let c = read(&repo, "c");
    assert!(
        c.contains("status: defeated\n")
            && c.contains(": superseded (status: active → defeated)\n"),
        "{c}"
    );
}

#[test]
fn edit_revalidates_and_removes_an_invalid_result() {
    let env = Env::new();
    let repo = env.project("edit");
    let script = env.root.path().join("ed.sh");
    // an "editor" that appends an evidence line
    std::fs::write(
        &script,
        "#!/bin/sh\nsed -i 's/^<!-- Evidence.*-->$/- edited evidence/' \"$1\"\n",
    )
    .unwrap();
    let bad = env.root.path().join("bad.sh");
    std::fs::write(
        &bad,
        "#!/bin/sh\nsed -i 's/^entrenchment: medium$/entrenchment: enormous/' \"$1\"\n",
    )
    .unwrap();
    for s in [&script, &bad] {
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(s)
            .status()
            .unwrap();
    }
    let out = env
        .cmd(&repo)
        .env("EDITOR", &script)
        .args([
            "belief",
            "new",
            "--id",
            "ed",
            "--statement",
            "edited",
            "--edit",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(read(&repo, "ed").contains("- edited evidence\n"));
    let out = env
        .cmd(&repo)
        .env("EDITOR", &bad)
        .args([
            "belief",
            "new",
            "--id",
            "ed2",
            "--statement",
            "edited",
            "--edit",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("entrenchment"), "{}", stderr(&out));
    assert!(
        !belief_path(&repo, "ed2").exists(),
        "the invalid belief was removed"
    );
    assert!(repo.join(".patina/local/rejected-belief-ed2.md").is_file());
    // an editor that fails: removed too
    let out = env
        .cmd(&repo)
        .env("EDITOR", "false")
        .args(["belief", "new", "--id", "ed3", "--statement", "x", "--edit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!belief_path(&repo, "ed3").exists());
}

#[test]
fn layer_completion_ranks_prefix_before_substring() {
    let env = Env::new();
    let repo = env.project("layer");
    write_session(&repo, "20260101-000000");
    write_session(&repo, "20260202-000000");
    std::fs::write(repo.join("layer/core/dont-measure.md"), "# Don't measure\n").unwrap();
    std::fs::create_dir_all(repo.join("layer/surface/notes")).unwrap();
    std::fs::write(
        repo.join("layer/surface/notes/measure-notes.md"),
        "---\nid: measure-notes\n---\n",
    )
    .unwrap();
    env.ok(
        &repo,
        &["belief", "new", "--id", "measure-first", "--statement", "m"],
    );
    let v = env.json(&repo, &["belief", "complete", "measure"]);
    assert_eq!(
        v,
        serde_json::json!(["measure-first", "measure-notes", "dont-measure"])
    );
    let v = env.json(&repo, &["belief", "complete", "session-", "--limit", "1"]);
    assert_eq!(v, serde_json::json!(["session-20260202-000000"]));
    let docs = env.json(&repo, &["belief", "docs"]);
    let got: Vec<(String, String, String)> = docs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().into(),
                d["id"].as_str().unwrap().into(),
                d["title"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = |k: &str, i: &str, t: &str| (k.to_string(), i.to_string(), t.to_string());
    assert_eq!(
        got,
        vec![
            want("core", "dont-measure", "Don't measure"),
            want("surface", "measure-notes", "measure-notes"),
            want("belief", "measure-first", "m"),
            want("session", "20260101-000000", "fixture session"),
            want("session", "20260202-000000", "fixture session"),
        ]
    );
    assert_eq!(docs[0]["path"], "layer/core/dont-measure.md");
    let core = env.json(&repo, &["belief", "docs", "--kind", "core"]);
    assert_eq!(core.as_array().unwrap().len(), 1);
}

#[test]
fn since_lists_beliefs_committed_staged_untracked_or_changed_after_a_commit() {
    let env = Env::new();
    let repo = env.project("cap");
    env.ok(
        &repo,
        &["belief", "new", "--id", "kept", "--statement", "kept"],
    );
    env.ok(
        &repo,
        &["belief", "new", "--id", "edited", "--statement", "edited"],
    );
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "beliefs before the session"]);
    let start = env.git(&repo, &["rev-parse", "HEAD"]);
    env.ok(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "committed",
            "--statement",
            "committed after",
        ],
    );
    env.git(&repo, &["add", "-A"]);
    env.git(
        &repo,
        &["commit", "-q", "-m", "a belief during the session"],
    );
    env.ok(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "staged",
            "--statement",
            "staged now",
        ],
    );
    env.git(&repo, &["add", "-A"]);
    env.ok(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "untracked",
            "--statement",
            "untracked now",
        ],
    );
    env.ok(
        &repo,
        &["belief", "revise", "edited", "changed during the session"],
    );
    let v = env.json(&repo, &["belief", "list", "--since", &start]);
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["committed", "edited", "staged", "untracked"]);
    assert_eq!(v[0]["statement"], "committed after");
    // git agrees on what changed since the start
    let changed = env.git(&repo, &["diff", "--name-only", &start]);
    assert!(
        changed.contains("committed.md")
            && changed.contains("edited.md")
            && !changed.contains("kept.md"),
        "{changed}"
    );
    let o = env.patina(&repo, &["belief", "list", "--since", "no-such-rev"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no-such-rev"), "{}", stderr(&o));
}

#[test]
fn capture_in_an_active_session_links_it_once_logs_it_and_session_end_lists_it() {
    let env = Env::new();
    let repo = env.project("sess");
    env.git(&repo, &["add", "-A"]);
    env.git(&repo, &["commit", "-q", "-m", "init patina"]);
    let started = env.json(&repo, &["session", "start", "capture beliefs"]);
    let sid = started["id"].as_str().expect("session id").to_string();
    let link = format!("[[session-{sid}]]");
    // evidence given: the first line gets the session link, exactly once
    let out = env.json(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "dup-first",
            "--statement",
            "Duplicate before extracting",
            "--evidence",
            "two consumers (weight: 0.9)",
            "--evidence",
            "rule of three",
        ],
    );
    assert_eq!(out["session"], sid.as_str());
    let text = read(&repo, "dup-first");
    assert_eq!(
        text.matches(&link).count(),
        2,
        "one evidence line + the revision log:\n{text}"
    );
    assert!(
        text.contains(&format!(
            "- {link}: two consumers (weight: 0.9)\n- rule of three\n"
        )),
        "{text}"
    );
    // evidence that already links the session is not linked again
    env.ok(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "explicit",
            "--statement",
            "Explicit link",
            "--evidence",
            &format!("{link}: said so"),
        ],
    );
    let text = read(&repo, "explicit");
    let ev: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("- ") && l.contains(&link))
        .collect();
    assert_eq!(
        ev,
        vec![
            format!("- {link}: said so").as_str(),
            format!("- {}: Created in {link}", today(&text)).as_str()
        ]
    );
    // no evidence at all: one line linking the session
    env.ok(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "bare",
            "--statement",
            "Bare capture",
        ],
    );
    let show = env.json(&repo, &["belief", "show", "bare"]);
    let ev = show["evidence"].as_array().unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(
        ev[0]["links"],
        serde_json::json!([format!("session-{sid}")])
    );
    // the session log has the entries
    let active = std::fs::read_to_string(repo.join(".patina/local/active-session.md")).unwrap();
    for (id, st) in [
        ("dup-first", "Duplicate before extracting"),
        ("explicit", "Explicit link"),
        ("bare", "Bare capture"),
    ] {
        let line = format!("Belief captured: {id} — {st}");
        assert_eq!(active.matches(&line).count(), 1, "{line} in:\n{active}");
    }
    // the active session resolves as a link target
    env.ok(&repo, &["belief", "check"]);
    // session end lists the beliefs captured with their statements
    env.ok(&repo, &["session", "end"]);
    let archived =
        std::fs::read_to_string(repo.join("sessions").join(format!("{sid}.md"))).unwrap();
    assert!(archived.contains("## Beliefs Captured: 3"), "{archived}");
    for (id, st) in [
        ("bare", "Bare capture"),
        ("dup-first", "Duplicate before extracting"),
        ("explicit", "Explicit link"),
    ] {
        assert!(
            archived.contains(id) && archived.contains(st),
            "{id} in:\n{archived}"
        );
    }
    // and the archived session still resolves
    env.ok(&repo, &["belief", "check"]);
    // without a session nothing links one
    env.ok(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "after",
            "--statement",
            "After the session",
        ],
    );
    assert!(!read(&repo, "after").contains("[[session-"));
}

fn today(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("extracted: "))
        .unwrap()
        .to_string()
}

#[test]
fn concurrent_writers_never_lose_a_link_or_create_twice() {
    let env = Env::new();
    let repo = env.project("conc");
    env.ok(
        &repo,
        &[
            "belief",
            "new",
            "--id",
            "target",
            "--statement",
            "Cible — ça tient ✓",
        ],
    );
    let n = 6;
    for i in 0..n {
        env.ok(
            &repo,
            &[
                "belief",
                "new",
                "--id",
                &format!("a{i}"),
                "--statement",
                &format!("a{i}"),
            ],
        );
    }
    let children: Vec<_> = (0..n)
        .map(|i| {
            env.cmd(&repo)
                .args(["belief", "link", &format!("a{i}"), "supports", "target"])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let t = env.json(&repo, &["belief", "show", "target"]);
    assert_eq!(t["statement"], "Cible — ça tient ✓");
    let mut linked: Vec<String> = t["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["links"][0].as_str().unwrap().to_string())
        .collect();
    linked.sort();
    assert_eq!(linked, (0..n).map(|i| format!("a{i}")).collect::<Vec<_>>());
    // racing creators of one id: exactly one wins, the others get a conflict
    let children: Vec<_> = (0..n)
        .map(|i| {
            env.cmd(&repo)
                .args([
                    "belief",
                    "new",
                    "--id",
                    "race",
                    "--statement",
                    &format!("writer {i}"),
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let codes: Vec<i32> = children
        .into_iter()
        .map(|mut c| c.wait().unwrap().code().unwrap())
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| *c == 0 || *c == 3), "{codes:?}");
    let human = env.ok(&repo, &["belief", "list"]);
    assert!(human.contains("Cible — ça tient ✓"), "{human}");
    env.ok(&repo, &["belief", "check"]);
}
