//! Codex CLI rollouts: `<CODEX_HOME>/sessions/YYYY/MM/DD/rollout-*.jsonl` and
//! `<CODEX_HOME>/archived_sessions/rollout-*.jsonl`. Each line is `{timestamp, type, payload}`;
//! the project is `session_meta.payload.cwd` (updated by `turn_context.cwd`), prompts are
//! `event_msg`/`user_message` (user `response_item`s also carry injected context, so they are not
//! used), tool calls are `response_item` `function_call`/`custom_tool_call`/`local_shell_call`,
//! failures `event_msg` `error` and the exit code in each call's `function_call_output` (Codex does
//! not persist `exec_command_end`), tokens the cumulative `token_count` events (`output_tokens`
//! already includes `reasoning_output_tokens`). A subagent's rollout (`session_meta.payload.source`
//! = `{"subagent": …}`) is folded into the session: its activity counts, its `user_message`s are
//! the parent agent's instructions, not prompts. `history.jsonl` has no cwd and repeats the rollouts' prompts: not read.
//! zstd-compressed rollouts (`.jsonl.zst`, idle ≥ 7 days) cannot belong to a live session and
//! are skipped with a note.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::model::{Found, RawActivity, RawError, RawPrompt, Scope, Tokens, resolve};
use super::source::{
    ProjectMatcher, clean_prompt, files_since, first_line, for_each_json_line, parse_time, str_of,
    u64_of,
};

pub(crate) const AGENT: &str = "codex";

pub(crate) fn read(home: &Path, scope: &Scope) -> Found {
    let mut found = Found::default();
    let matcher = ProjectMatcher::new(&scope.root);
    let rollout = |n: &str| n.starts_with("rollout-") && n.ends_with(".jsonl");
    let mut files = files_since(&home.join("sessions"), 3, scope.start, &rollout);
    files.extend(files_since(
        &home.join("archived_sessions"),
        0,
        scope.start,
        &rollout,
    ));
    let zst = files_since(&home.join("sessions"), 3, scope.start, &|n: &str| {
        n.starts_with("rollout-") && n.ends_with(".jsonl.zst")
    });
    if !zst.is_empty() {
        found.notes.push(format!(
            "codex: {} compressed rollout(s) (.jsonl.zst) not read",
            zst.len()
        ));
    }
    for path in files {
        read_rollout(&path, scope, &matcher, &mut found);
    }
    found
}

struct Rollout {
    cwd: Option<PathBuf>,
    in_project: bool,
    any: bool,
    /// A subagent's rollout (its "user" messages come from the parent agent).
    subagent: bool,
    /// Calls already counted as failed (a failure can be seen twice: event and output).
    failed_calls: HashSet<String>,
    /// Shell commands by call id, to name a failed one.
    commands: std::collections::HashMap<String, String>,
    /// Cumulative totals from `token_count`: the last one before the window and the last inside.
    tokens_before: Option<Tokens>,
    tokens_last: Option<Tokens>,
}

fn read_rollout(path: &Path, scope: &Scope, matcher: &ProjectMatcher, found: &mut Found) {
    let mut r = Rollout {
        cwd: None,
        in_project: false,
        any: false,
        subagent: false,
        failed_calls: HashSet::new(),
        commands: std::collections::HashMap::new(),
        tokens_before: None,
        tokens_last: None,
    };
    let mut activity = RawActivity::default();
    let mut prompts = Vec::new();
    let res = for_each_json_line(path, |v| {
        let kind = str_of(&v, "type");
        let payload = v.get("payload").unwrap_or(&Value::Null);
        if kind == "session_meta" || kind == "turn_context" {
            if kind == "session_meta" && payload.get("source").is_some_and(is_subagent_source) {
                r.subagent = true;
            }
            let cwd = str_of(payload, "cwd");
            if !cwd.is_empty() {
                r.in_project = matcher.contains(cwd);
                r.cwd = Some(PathBuf::from(cwd));
            }
            return;
        }
        if !r.in_project {
            return;
        }
        let Some(time) = v.get("timestamp").and_then(parse_time) else {
            return;
        };
        if kind == "event_msg" && str_of(payload, "type") == "token_count" {
            if let Some(t) = token_totals(payload) {
                if time < scope.start {
                    r.tokens_before = Some(t);
                } else if time <= scope.end {
                    r.tokens_last = Some(t);
                }
            }
            return;
        }
        if !scope.contains_time(time) {
            return;
        }
        r.any = true;
        let cwd = r.cwd.clone().unwrap_or_default();
        match kind {
            "event_msg" => event(payload, time, &mut r, &mut prompts, &mut activity),
            "response_item" => response_item(payload, time, &cwd, &mut r, &mut activity),
            _ => {}
        }
    });
    match res {
        Ok(bad) => {
            found.malformed += bad;
            if r.any {
                found.files.push(path.to_path_buf());
            }
        }
        Err(e) => {
            found
                .notes
                .push(format!("codex: cannot read {}: {e}", path.display()));
            return;
        }
    }
    if let Some(last) = r.tokens_last {
        let before = r.tokens_before.unwrap_or_default();
        activity.add_tokens(Tokens {
            input: last.input.saturating_sub(before.input),
            output: last.output.saturating_sub(before.output),
            cache_read: last.cache_read.saturating_sub(before.cache_read),
        });
    }
    if !r.subagent {
        found.prompts.extend(prompts);
    }
    found.activity.merge(activity);
}

/// `{"subagent": {...}}` (or the bare string) marks a rollout spawned by another thread.
fn is_subagent_source(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.contains_key("subagent") || o.contains_key("subAgent"),
        Value::String(s) => s.eq_ignore_ascii_case("subagent"),
        _ => false,
    }
}

/// The exit code a tool output reports, from the header Codex writes before `Output:` —
/// `Process exited with code N` (exec_command), `Exit code: N` (shell, apply_patch) — or from
/// the older JSON form `{"output": …, "metadata": {"exit_code": N}}`. Lines after `Output:` are
/// the command's own output and never decide.
fn exit_code(output: &Value) -> Option<i64> {
    let text = match output {
        Value::String(s) => s.as_str(),
        // Newer outputs may be content arrays (e.g. images): no exit code there.
        _ => return None,
    };
    if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(text) {
        return o
            .get("metadata")
            .and_then(|m| m.get("exit_code"))
            .or(o.get("exit_code"))
            .and_then(Value::as_i64);
    }
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("Output:") {
            break;
        }
        if let Some(n) = line
            .strip_prefix("Process exited with code ")
            .or_else(|| line.strip_prefix("Exit code: "))
        {
            return n.trim().parse().ok();
        }
    }
    None
}

fn token_totals(payload: &Value) -> Option<Tokens> {
    let u = payload.get("info")?.get("total_token_usage")?;
    let cached = u64_of(u, "cached_input_tokens");
    Some(Tokens {
        // Codex counts cached input inside input_tokens; report it apart like the others.
        input: u64_of(u, "input_tokens").saturating_sub(cached),
        // `reasoning_output_tokens` is a part of `output_tokens` (OpenAI's usage semantics, and
        // Codex's own `total_tokens = input_tokens + output_tokens`): never add it again.
        output: u64_of(u, "output_tokens"),
        cache_read: cached,
    })
}

fn event(
    payload: &Value,
    time: chrono::DateTime<chrono::Utc>,
    r: &mut Rollout,
    prompts: &mut Vec<RawPrompt>,
    act: &mut RawActivity,
) {
    match str_of(payload, "type") {
        "user_message" => {
            if let Some(text) = clean_prompt(str_of(payload, "message")) {
                prompts.push(RawPrompt {
                    time,
                    agent: AGENT,
                    text,
                });
            }
        }
        "error" | "stream_error" => {
            let text = first_line(str_of(payload, "message"), 160);
            act.errors.push(RawError {
                time,
                text: if text.is_empty() {
                    "error".into()
                } else {
                    text
                },
            });
        }
        "exec_command_end" => {
            let code = payload
                .get("exit_code")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let call = str_of(payload, "call_id").to_string();
            if code != 0 && (call.is_empty() || r.failed_calls.insert(call)) {
                let cmd = command_of(payload).unwrap_or_default();
                act.errors.push(RawError {
                    time,
                    text: format!("command exited {code}: {}", first_line(&cmd, 100)),
                });
            }
        }
        "agent_message" => {
            let text = first_line(str_of(payload, "message"), 80);
            if !text.is_empty() {
                act.action(time, format!("replied: {text}"));
            }
        }
        _ => {}
    }
}

static PATCH_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\*\*\* (?:Add|Update|Delete) File: (.+?)\s*$|^\*\*\* Move to: (.+?)\s*$")
        .expect("patch header regex")
});

fn response_item(
    payload: &Value,
    time: chrono::DateTime<chrono::Utc>,
    cwd: &Path,
    r: &mut Rollout,
    act: &mut RawActivity,
) {
    let (name, args) = match str_of(payload, "type") {
        "function_call_output" | "custom_tool_call_output" => {
            let call = str_of(payload, "call_id").to_string();
            if let Some(code) = payload.get("output").and_then(exit_code)
                && code != 0
                && (call.is_empty() || r.failed_calls.insert(call.clone()))
            {
                let cmd = r.commands.get(&call).cloned().unwrap_or_default();
                act.errors.push(RawError {
                    time,
                    text: format!("command exited {code}: {}", first_line(&cmd, 100))
                        .trim_end_matches(": ")
                        .to_string(),
                });
            }
            return;
        }
        "function_call" => {
            // `arguments` is a JSON string.
            let raw = str_of(payload, "arguments");
            let parsed = serde_json::from_str::<Value>(raw).unwrap_or(Value::Null);
            (
                str_of(payload, "name").to_string(),
                (raw.to_string(), parsed),
            )
        }
        "custom_tool_call" => {
            let raw = str_of(payload, "input");
            (
                str_of(payload, "name").to_string(),
                (raw.to_string(), Value::Null),
            )
        }
        "local_shell_call" => {
            let action = payload.get("action").cloned().unwrap_or(Value::Null);
            ("shell".to_string(), (action.to_string(), action))
        }
        _ => return,
    };
    if name.is_empty() {
        return;
    }
    act.tool(&name);
    // apply_patch (a tool of its own, or a heredoc inside a shell command) names its files.
    let (raw, parsed) = args;
    let text = if raw.contains("*** ") {
        // The raw JSON string escapes newlines; look inside the decoded form too.
        format!("{raw}\n{}", decoded_strings(&parsed))
    } else {
        String::new()
    };
    let mut first_file = None;
    for c in PATCH_FILE.captures_iter(&text) {
        if let Some(m) = c.get(1).or(c.get(2)) {
            let p = resolve(cwd, m.as_str());
            first_file.get_or_insert_with(|| m.as_str().to_string());
            act.files_edited.insert(p);
        }
    }
    let call = str_of(payload, "call_id");
    if !call.is_empty() {
        let what = command_of(&parsed).unwrap_or_else(|| name.clone());
        r.commands.insert(call.to_string(), what);
    }
    let desc = match (first_file, command_of(&parsed)) {
        (Some(f), _) => format!("{name} {f}"),
        (None, Some(cmd)) => format!("{name}: {}", first_line(&cmd, 80)),
        (None, None) => name.clone(),
    };
    act.action(time, desc);
}

fn command_of(v: &Value) -> Option<String> {
    match v.get("command").or(v.get("cmd")) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(a)) => {
            let words: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
            // ["bash", "-lc", "cargo test"]: the script is what matters.
            match words.as_slice() {
                [_, flag, script] if flag.starts_with('-') && flag.ends_with('c') => {
                    Some(script.to_string())
                }
                _ => Some(words.join(" ")),
            }
        }
        _ => None,
    }
}

fn decoded_strings(v: &Value) -> String {
    let mut out = String::new();
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(v, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_come_from_the_header_only() {
        let exec = Value::from(
            "Chunk ID: d8\nWall time: 0.0000 seconds\nProcess exited with code 1\nOriginal token count: 28\nOutput:\nsed: x.md: No such file or directory\n",
        );
        assert_eq!(exit_code(&exec), Some(1));
        let shell = Value::from("Exit code: 0\nWall time: 0.1 seconds\nOutput:\nSuccess.\n");
        assert_eq!(exit_code(&shell), Some(0));
        let quoted = Value::from("Wall time: 0.1 seconds\nOutput:\n\nProcess exited with code 1");
        assert_eq!(exit_code(&quoted), None);
        let legacy =
            Value::from(r#"{"output":"boom","metadata":{"exit_code":2,"duration_seconds":0.1}}"#);
        assert_eq!(exit_code(&legacy), Some(2));
        assert_eq!(exit_code(&Value::from("aborted by user after 9.4s")), None);
    }
}
