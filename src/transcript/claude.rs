//! Claude Code: `<dir>/history.jsonl` (one line per typed prompt: `display`, `pastedContents`,
//! `timestamp` in epoch ms, `project`) and `<dir>/projects/<escaped cwd>/<session>.jsonl`
//! (the conversation: `type`, `timestamp`, `cwd`, `message{role, content}`). `<dir>` is
//! `CLAUDE_CONFIG_DIR` or `~/.claude`. Files are mapped to the project through each line's own
//! `cwd`/`project`, never by un-escaping directory names (the escaping is lossy).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::model::{Found, RawActivity, RawError, RawPrompt, Scope, Tokens, resolve};
use super::source::{
    ProjectMatcher, clean_prompt, files_since, first_line, for_each_json_line, parse_time, str_of,
    u64_of,
};

pub(crate) const AGENT: &str = "claude";

/// Tools whose `file_path` (or `notebook_path`) the agent wrote.
const EDIT_TOOLS: &[&str] = &["Edit", "MultiEdit", "Write", "NotebookEdit"];

pub(crate) fn read(dir: &Path, scope: &Scope) -> Found {
    let mut found = Found::default();
    let matcher = ProjectMatcher::new(&scope.root);
    let history = read_history(dir, scope, &matcher, &mut found);
    let transcript_prompts = read_projects(dir, scope, &matcher, &mut found);
    // history.jsonl is the record of what was typed (pastes already folded into placeholders);
    // the transcripts are the fallback when it has nothing (older builds, or it was disabled).
    found.prompts = if history.is_empty() {
        transcript_prompts
    } else {
        history
    };
    found
}

fn read_history(
    dir: &Path,
    scope: &Scope,
    matcher: &ProjectMatcher,
    found: &mut Found,
) -> Vec<RawPrompt> {
    let path = dir.join("history.jsonl");
    let mut prompts = Vec::new();
    if !path.is_file() {
        return prompts;
    }
    let res = for_each_json_line(&path, |v| {
        let Some(time) = v.get("timestamp").and_then(parse_time) else {
            return;
        };
        if !scope.contains_time(time) || !matcher.contains(str_of(&v, "project")) {
            return;
        }
        // Slash commands (`/model`, `/clear`) and bash-mode lines (`!ls`) are recorded here too.
        let Some(display) = clean_prompt(str_of(&v, "display")) else {
            return;
        };
        prompts.push(RawPrompt {
            time,
            agent: AGENT,
            text: expand_paste_placeholders(&display, v.get("pastedContents")),
        });
    });
    match res {
        Ok(bad) => {
            found.malformed += bad;
            found.files.push(path);
        }
        Err(e) => found
            .notes
            .push(format!("claude: cannot read {}: {e}", path.display())),
    }
    prompts
}

static PASTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[Pasted text #(\d+)(?: \+(\d+) lines?)?\]").expect("paste placeholder regex")
});

/// Claude writes `[Pasted text #1 +29 lines]` for a paste; say `[pasted N lines]`, counting the
/// lines of the stored paste when it is there.
fn expand_paste_placeholders(display: &str, pasted: Option<&Value>) -> String {
    PASTE
        .replace_all(display, |c: &regex::Captures| {
            let stored = pasted
                .and_then(|p| p.get(&c[1]))
                .and_then(|e| e.get("content"))
                .and_then(Value::as_str)
                .map(|s| s.lines().count());
            let shown = c.get(2).and_then(|m| m.as_str().parse::<usize>().ok());
            match stored.or(shown) {
                Some(n) => format!("[pasted {n} lines]"),
                None => "[pasted text]".to_string(),
            }
        })
        .into_owned()
}

fn read_projects(
    dir: &Path,
    scope: &Scope,
    matcher: &ProjectMatcher,
    found: &mut Found,
) -> Vec<RawPrompt> {
    // projects/<escaped cwd>/<session>.jsonl, and the session's subagents in
    // <session>/subagents/*.jsonl (nested ones further down): they are folded into the parent
    // session — their tool calls, errors and tokens are the agent's activity too, but their
    // "user" lines are the main agent's instructions, not the person's prompts.
    let files = files_since(&dir.join("projects"), 8, scope.start, &|n| {
        n.ends_with(".jsonl")
    });
    let mut prompts = Vec::new();
    // Claude streams one API message as several lines sharing `message.id`; the usage on the
    // early lines is a partial snapshot and only the last carries the final output count. Keep
    // one snapshot per message: the largest output (a later line wins a tie).
    let mut usage_by_message: HashMap<String, Tokens> = HashMap::new();
    for path in files {
        let subagent = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .components()
            .any(|c| c.as_os_str() == "subagents");
        let mut activity = RawActivity::default();
        let mut any = false;
        let res = for_each_json_line(&path, |v| {
            let cwd = str_of(&v, "cwd");
            if !matcher.contains(cwd) {
                return;
            }
            let Some(time) = v.get("timestamp").and_then(parse_time) else {
                return;
            };
            if !scope.contains_time(time) {
                return;
            }
            any = true;
            let cwd = PathBuf::from(cwd);
            match str_of(&v, "type") {
                "user" => {
                    if let Some(text) = user_line(&v, time, &mut activity)
                        && !subagent
                    {
                        prompts.push(RawPrompt {
                            time,
                            agent: AGENT,
                            text,
                        });
                    }
                }
                "assistant" => assistant_line(&v, time, &cwd, &mut activity, &mut usage_by_message),
                "system" if str_of(&v, "level") == "error" => {
                    let text = first_line(str_of(&v, "content"), 160);
                    if !text.is_empty() {
                        activity.errors.push(RawError { time, text });
                    }
                }
                _ => {}
            }
        });
        match res {
            Ok(bad) => {
                found.malformed += bad;
                if any {
                    found.files.push(path);
                }
            }
            Err(e) => found
                .notes
                .push(format!("claude: cannot read {}: {e}", path.display())),
        }
        found.activity.merge(activity);
    }
    for t in usage_by_message.into_values() {
        found.activity.add_tokens(t);
    }
    prompts
}

/// A real prompt (not a tool result, meta line, compact summary, subagent or slash-command
/// wrapper), or `None`. Tool results that failed are recorded as errors.
fn user_line(
    v: &Value,
    time: chrono::DateTime<chrono::Utc>,
    act: &mut RawActivity,
) -> Option<String> {
    let content = v.get("message")?.get("content")?;
    let mut text = String::new();
    let mut tool_result = false;
    match content {
        Value::String(s) => text.push_str(s),
        Value::Array(blocks) => {
            for b in blocks {
                match str_of(b, "type") {
                    "tool_result" => {
                        tool_result = true;
                        if b.get("is_error").and_then(Value::as_bool) == Some(true) {
                            let msg = first_line(&block_text(b.get("content")), 160);
                            act.errors.push(RawError {
                                time,
                                text: if msg.is_empty() {
                                    "tool error".into()
                                } else {
                                    msg
                                },
                            });
                        }
                    }
                    "text" => {
                        // A block of its own that is an injected reminder or a wrapper is not
                        // part of what the person typed.
                        let Some(t) = clean_prompt(str_of(b, "text")) else {
                            continue;
                        };
                        if !text.is_empty() {
                            text.push('\n');
                        }
                        text.push_str(&t);
                    }
                    _ => {}
                }
            }
        }
        _ => return None,
    }
    let flag = |k: &str| v.get(k).and_then(Value::as_bool) == Some(true);
    if tool_result || flag("isMeta") || flag("isCompactSummary") || flag("isSidechain") {
        return None;
    }
    clean_prompt(&text)
}

fn block_text(c: Option<&Value>) -> String {
    match c {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|b| str_of(b, "text"))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn assistant_line(
    v: &Value,
    time: chrono::DateTime<chrono::Utc>,
    cwd: &Path,
    act: &mut RawActivity,
    usage_by_message: &mut HashMap<String, Tokens>,
) {
    let Some(msg) = v.get("message") else { return };
    if let Some(Value::Array(blocks)) = msg.get("content") {
        for b in blocks {
            if str_of(b, "type") != "tool_use" {
                continue;
            }
            let name = str_of(b, "name");
            if name.is_empty() {
                continue;
            }
            act.tool(name);
            let input = b.get("input").unwrap_or(&Value::Null);
            if EDIT_TOOLS.contains(&name) {
                let p = match str_of(input, "file_path") {
                    "" => str_of(input, "notebook_path"),
                    p => p,
                };
                if !p.is_empty() {
                    act.files_edited.insert(resolve(cwd, p));
                }
            }
            act.action(time, describe_tool(name, input));
        }
    }
    if v.get("isApiErrorMessage").and_then(Value::as_bool) == Some(true) {
        let text = first_line(&block_text(msg.get("content")), 160);
        act.errors.push(RawError {
            time,
            text: if text.is_empty() {
                "API error".into()
            } else {
                text
            },
        });
    }
    if let Some(u) = msg.get("usage") {
        let t = Tokens {
            input: u64_of(u, "input_tokens") + u64_of(u, "cache_creation_input_tokens"),
            output: u64_of(u, "output_tokens"),
            cache_read: u64_of(u, "cache_read_input_tokens"),
        };
        match str_of(msg, "id") {
            "" => act.add_tokens(t),
            id => {
                let kept = usage_by_message.entry(id.to_string()).or_insert(t);
                if t.output >= kept.output {
                    *kept = t;
                }
            }
        }
    }
}

/// "Edit src/main.rs", "Bash: cargo test", "Grep: needle", or just the tool name.
pub(crate) fn describe_tool(name: &str, input: &Value) -> String {
    for key in ["file_path", "notebook_path", "path", "absolute_path"] {
        let p = str_of(input, key);
        if !p.is_empty() {
            return format!("{name} {p}");
        }
    }
    for key in ["command", "cmd", "pattern", "query", "url", "description"] {
        let s = str_of(input, key);
        if !s.is_empty() {
            return format!("{name}: {}", first_line(s, 80));
        }
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paste_placeholders_count_stored_lines() {
        let pasted = serde_json::json!({"1": {"id": 1, "type": "text", "content": "a\nb\nc"}});
        assert_eq!(
            expand_paste_placeholders(
                "see [Pasted text #1 +2 lines] and [Pasted text #2 +9 lines]",
                Some(&pasted)
            ),
            "see [pasted 3 lines] and [pasted 9 lines]"
        );
        assert_eq!(
            expand_paste_placeholders("[Pasted text #4]", None),
            "[pasted text]"
        );
    }

    #[test]
    fn window_end_and_project_bound_the_selection() {
        let dir = tempfile::tempdir().unwrap();
        let line = |ms: i64, project: &str, text: &str| {
            serde_json::json!({"display": text, "timestamp": ms, "project": project}).to_string()
        };
        let start = 1_773_527_400_000; // 2026-03-14T22:30:00Z
        let lines = [
            line(start - 1, "/p", "before"),
            line(start, "/p", "at start"),
            line(start + 3_600_000, "/p/sub", "inside"),
            line(start + 7_200_000, "/p", "at end"),
            line(start + 7_200_001, "/p", "after"),
            line(start + 60_000, "/q", "other project"),
        ];
        std::fs::write(dir.path().join("history.jsonl"), lines.join("\n")).unwrap();
        let t = |ms| chrono::DateTime::from_timestamp_millis(ms).unwrap();
        let scope = Scope {
            root: PathBuf::from("/p"),
            start: t(start),
            end: t(start + 7_200_000),
        };
        let found = read(dir.path(), &scope);
        let texts: Vec<&str> = found.prompts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, vec!["at start", "inside", "at end"]);
    }
}
