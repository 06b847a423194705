//! The document layer through the real binary: session and belief files written with CRLF, a
//! UTF-8 BOM or mixed line endings read the same in every command that shows them, and writes
//! keep the file's own line ending.

mod common;

use common::Env;
use serde_json::Value;

/// A patina-format session, CRLF line endings.
const CRLF_ACTIVE: &str = "---\ntype: session\nid: 20260303-090000\ntitle: 'crlf: active work'\nstatus: active\nllm: claude\ncreated: 2026-03-03T09:00:00+01:00\nstart_timestamp: 1772524800000\ngit:\n  branch: main\n---\n\n## Previous Session Context\nnone\n\n## Goals\n- [ ] ship the crlf fix\n\n## Activity Log\n### 2026-03-03 09:00 - Session Start\nstarted\n";

/// An archived session, BOM + LF, trailing spaces and a tab after `##`.
const BOM_ARCHIVED: &str = "\u{feff}---  \ntype: session\nid: 20260302-100000\ntitle: bom archived session\nstatus: archived\ncreated: 2026-03-02T10:00:00+01:00\nended: 2026-03-02T12:00:00+01:00\n---\n\n##\tGoals  \n- [x] read the bom file\n\n## Activity Log\n### 2026-03-02 10:00 - Session Start\nstarted\n";

/// A legacy (0.11) session: `# Session:` + `**ID**:`, BOM and CRLF.
const LEGACY: &str = "# Session: legacy zebra notes\n**ID**: 20250728-182427\n**Started**: 2025-07-28T22:24:27Z\n**LLM**: claude\n\n## Goals\n- [ ] a\n\n## Activity Log\n### 18:24 - Session Start\nzebra stripes\n";

/// A belief, CRLF.
const BELIEF: &str = "---\ntype: belief\nid: crlf-belief\npersona: architect\nfacets: [docs]\nentrenchment: medium\nstatus: active\nendorsed: false\nextracted: 2026-03-01\nrevised: 2026-03-01\n---\n\n# crlf-belief\n\nLine endings never change what a file says.\n\n## Statement\n\nLine endings never change what a file says.\n\n## Evidence\n\n- [[session-20260302-100000]]: seen there\n\n## Supports\n\n<!-- none -->\n\n## Attacks\n\n<!-- none -->\n\n## Attacked-By\n\n<!-- none -->\n\n## Applied-In\n\n<!-- none -->\n\n## Revision Log\n\n- 2026-03-01: created\n";

fn crlf(s: &str) -> String {
    s.replace('\n', "\r\n")
}

/// Every line of `text` ends in CRLF.
fn all_crlf(text: &str) -> bool {
    text.split_inclusive('\n').all(|l| l.ends_with("\r\n"))
}

fn project(env: &Env) -> std::path::PathBuf {
    let root = env.project("app");
    let sessions = root.join("sessions");
    std::fs::write(sessions.join("20260302-100000.md"), BOM_ARCHIVED).unwrap();
    std::fs::write(
        sessions.join("20250728-182427.md"),
        format!("\u{feff}{}", crlf(LEGACY)),
    )
    .unwrap();
    std::fs::write(
        root.join(".patina/local/active-session.md"),
        crlf(CRLF_ACTIVE),
    )
    .unwrap();
    let beliefs = root.join("layer/surface/epistemic/beliefs");
    std::fs::create_dir_all(&beliefs).unwrap();
    std::fs::write(beliefs.join("crlf-belief.md"), crlf(BELIEF)).unwrap();
    root
}

fn triple(v: &Value) -> (String, String, String) {
    let s = |k: &str| v[k].as_str().unwrap_or("<none>").to_string();
    (s("id"), s("title"), s("status"))
}

fn t(id: &str, title: &str, status: &str) -> (String, String, String) {
    (id.into(), title.into(), status.into())
}

#[test]
fn crlf_and_bom_files_read_the_same_in_every_command() {
    let env = Env::new();
    let root = project(&env);
    let active = t("20260303-090000", "crlf: active work", "active");
    let archived = t("20260302-100000", "bom archived session", "archived");
    let legacy = t("20250728-182427", "legacy zebra notes", "archived");

    // session list / show
    let list = env.json(&root, &["session", "list"]);
    assert_eq!(list["errors"], serde_json::json!([]), "{list:#}");
    let got: Vec<_> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(triple)
        .collect();
    assert_eq!(
        got,
        vec![legacy.clone(), archived.clone(), active.clone()],
        "{list:#}"
    );
    for want in [&active, &archived, &legacy] {
        let v = env.json(&root, &["session", "show", &want.0]);
        assert_eq!(&triple(&v), want, "{v:#}");
    }
    let shown = env.json(&root, &["session", "show", "20260302-100000"]);
    assert_eq!(shown["goals"][0]["text"], "read the bom file");
    assert_eq!(
        shown["sections"],
        serde_json::json!(["Goals", "Activity Log"])
    );
    let shown = env.json(&root, &["session", "show", "20250728-182427"]);
    assert_eq!(shown["format"], "legacy");
    assert_eq!(shown["activity"][0]["body"], "zebra stripes");

    // agent context: the active (CRLF) session and the previous (BOM) one
    let ctx = env.json(&root, &["agent", "context"]);
    assert_eq!(triple(&ctx["session"]), active, "{ctx:#}");
    assert_eq!(triple(&ctx["previous"]), archived, "{ctx:#}");
    assert_eq!(ctx["open_goals"], serde_json::json!(["ship the crlf fix"]));

    // scry (lexical: no model in this env): every row of a session is titled
    // `<session title>` or `<session title> — <section>`, the same title as everywhere else
    let out = env.patina(
        &root,
        &[
            "scry", "--kind", "session", "--limit", "50", "session", "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    let title_of = |id: &str| {
        a["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| {
                h["doc_id"]
                    .as_str()
                    .is_some_and(|d| d.starts_with(&format!("session:{id}:")))
            })
            .map(|h| {
                let t = h["title"].as_str().unwrap();
                t.split(" — ").next().unwrap().to_string()
            })
    };
    for want in [&active, &archived, &legacy] {
        assert_eq!(title_of(&want.0).as_deref(), Some(want.1.as_str()), "{a:#}");
    }

    // the layer (`belief docs`) and the belief commands
    let docs = env.json(&root, &["belief", "docs"]);
    let doc = |id: &str| {
        docs.as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .map(|d| d["title"].as_str().unwrap().to_string())
    };
    assert_eq!(doc(&archived.0).as_deref(), Some(archived.1.as_str()));
    assert_eq!(doc(&legacy.0).as_deref(), Some(legacy.1.as_str()));
    let statement = "Line endings never change what a file says.";
    assert_eq!(doc("crlf-belief").as_deref(), Some(statement));
    let beliefs = env.json(&root, &["belief", "list"]);
    let b = &beliefs[0];
    assert_eq!(
        (
            b["id"].as_str(),
            b["statement"].as_str(),
            b["status"].as_str()
        ),
        (Some("crlf-belief"), Some(statement), Some("active")),
        "{beliefs:#}"
    );
    let b = env.json(&root, &["belief", "show", "crlf-belief"]);
    assert_eq!(
        (
            b["id"].as_str(),
            b["statement"].as_str(),
            b["status"].as_str()
        ),
        (Some("crlf-belief"), Some(statement), Some("active")),
        "{b:#}"
    );
    assert_eq!(b["evidence"][0]["links"][0], "session-20260302-100000");
    let check = env.patina(&root, &["belief", "check", "--json"]);
    let check: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(check["findings"], serde_json::json!([]), "{check:#}");
}

#[test]
fn writes_keep_the_files_line_ending_and_bom() {
    let env = Env::new();
    let root = project(&env);
    let active_path = root.join(".patina/local/active-session.md");
    env.ok(&root, &["session", "note", "a note\nover two lines"]);
    env.ok(&root, &["session", "goal", "add", "keep crlf"]);
    let text = std::fs::read_to_string(&active_path).unwrap();
    assert!(all_crlf(&text), "{text:?}");
    let v = env.json(&root, &["session", "show"]);
    assert_eq!(v["activity"][1]["body"], "a note\nover two lines");
    assert_eq!(v["goals"][1]["text"], "keep crlf");

    let belief = root.join("layer/surface/epistemic/beliefs/crlf-belief.md");
    env.ok(&root, &["belief", "revise", "crlf-belief", "still true"]);
    let text = std::fs::read_to_string(&belief).unwrap();
    assert!(all_crlf(&text), "{text:?}");
    assert!(text.contains("still true\r\n"), "{text:?}");
    // only `revised:` and the new log line changed
    let before: Vec<&str> = BELIEF.lines().collect();
    let after: Vec<&str> = text.lines().collect();
    assert_eq!(after.len(), before.len() + 1);

    // a BOM active session stays BOM through a note
    std::fs::write(&active_path, format!("\u{feff}{CRLF_ACTIVE}")).unwrap();
    env.ok(&root, &["session", "note", "bom note"]);
    let text = std::fs::read_to_string(&active_path).unwrap();
    assert!(
        text.starts_with('\u{feff}') && !text.contains('\r'),
        "{text:?}"
    );
    assert_eq!(
        env.json(&root, &["session", "show"])["id"],
        "20260303-090000"
    );
}

#[test]
fn a_frontmatter_past_the_limits_is_refused_naming_the_file() {
    let env = Env::new();
    let root = env.project("app");
    let beliefs = root.join("layer/surface/epistemic/beliefs");
    std::fs::create_dir_all(&beliefs).unwrap();
    // 200 KB of nested flow brackets: libyaml is quadratic in them (minutes); refused at once.
    let n = 100 * 1024;
    let deep = format!(
        "---\ntype: belief\nid: deep\nx: {}{}\n---\n# deep\n\nS.\n",
        "[".repeat(n),
        "]".repeat(n)
    );
    std::fs::write(beliefs.join("deep.md"), deep).unwrap();
    let out = env.patina(&root, &["belief", "list", "--json"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("deep.md") && err.contains("limit"), "{err}");

    let sessions = root.join("sessions");
    let wide = format!(
        "---\nid: 20260101-000000\ntitle: t\nbig:\n{}---\n",
        "  - [a, {b: c}]\n".repeat(5000)
    );
    std::fs::write(sessions.join("20260101-000000.md"), wide).unwrap();
    let list = env.json(&root, &["session", "list"]);
    let e = &list["errors"][0];
    assert!(
        e["path"].as_str().unwrap().ends_with("20260101-000000.md"),
        "{list:#}"
    );
    assert!(
        e["error"].as_str().unwrap().contains("the limit is 65536"),
        "{list:#}"
    );
}
