//! Gemini CLI: per-project dirs `<GEMINI_CLI_HOME or ~>/.gemini/tmp/<id>/`, where `<id>` is a
//! slug (since v0.29, with the root in `<id>/.project_root` and `~/.gemini/projects.json`) or the
//! sha256 of the root (before). Chats: `<id>/chats/session-*.jsonl` (since v0.39: line 1 metadata,
//! then message records `{id, timestamp, type, content, toolCalls?, tokens?}`, `{"$set": …}`
//! patches and `{"$rewindTo": id}` markers; a re-appended id replaces the earlier record) or
//! `session-*.json` (before: one object with `messages`). `<id>/logs.json` (an array of prompts)
//! is the fallback for prompts. Subagent chats in `chats/<parent>/` are folded into the session:
//! their tool calls, failures and tokens count, their "user" messages are the parent agent's.
//! A shell call Gemini records as `status: "success"` failed when its output says
//! `Exit Code: N` with N ≠ 0 (the exit code is only in that text).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::model::{Found, RawActivity, RawError, RawPrompt, Scope, Tokens, resolve};
use super::source::{
    ProjectMatcher, clean_prompt, files_since, first_line, parse_time, str_of, u64_of,
};

pub(crate) const AGENT: &str = "gemini";

/// Tools whose `file_path` argument the agent wrote.
const EDIT_TOOLS: &[&str] = &["replace", "write_file", "edit", "smart_edit"];

pub(crate) fn read(gemini_dir: &Path, scope: &Scope) -> Found {
    let mut found = Found::default();
    let matcher = ProjectMatcher::new(&scope.root);
    let registry = project_registry(gemini_dir);
    let root_hash = hex::encode(Sha256::digest(scope.root.to_string_lossy().as_bytes()));
    let Ok(entries) = std::fs::read_dir(gemini_dir.join("tmp")) else {
        return found;
    };
    let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    dirs.sort();
    for dir in dirs.into_iter().filter(|d| d.is_dir()) {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let project_root = std::fs::read_to_string(dir.join(".project_root"))
            .ok()
            .map(|s| s.trim().to_string())
            .or_else(|| registry.get(&name).cloned());
        let belongs = match &project_root {
            Some(r) => matcher.contains(r),
            // Before v0.29 the dir name is the sha256 of the root: only the root itself matches.
            None => name == root_hash,
        };
        if !belongs {
            continue;
        }
        let cwd = project_root
            .map(PathBuf::from)
            .unwrap_or(scope.root.clone());
        let before = found.prompts.len();
        read_chats(&dir, &cwd, scope, &mut found);
        if found.prompts.len() == before {
            read_logs(&dir, scope, &mut found);
        }
    }
    found
}

/// `projects.json`: `{"projects": {"<abs path>": "<slug>"}}`, inverted to slug → path.
fn project_registry(gemini_dir: &Path) -> HashMap<String, String> {
    let Ok(text) = std::fs::read_to_string(gemini_dir.join("projects.json")) else {
        return HashMap::new();
    };
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return HashMap::new();
    };
    v.get("projects")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(path, slug)| Some((slug.as_str()?.to_string(), path.clone())))
                .collect()
        })
        .unwrap_or_default()
}

fn read_chats(dir: &Path, cwd: &Path, scope: &Scope, found: &mut Found) {
    let chats = dir.join("chats");
    // session-*.json(l) at the top; a subagent's chat in chats/<parent id>/<id>.jsonl.
    let files = files_since(&chats, 2, scope.start, &|n| {
        n.ends_with(".jsonl") || n.ends_with(".json")
    });
    for path in files {
        let subagent = path.parent() != Some(chats.as_path());
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !subagent && !name.starts_with("session-") {
            continue;
        }
        let messages = if path.extension().is_some_and(|e| e == "jsonl") {
            match jsonl_messages(&path) {
                Ok((m, bad)) => {
                    found.malformed += bad;
                    m
                }
                Err(e) => {
                    found
                        .notes
                        .push(format!("gemini: cannot read {}: {e}", path.display()));
                    continue;
                }
            }
        } else {
            match std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string()))
            {
                Ok(v) => match v.get("messages") {
                    Some(Value::Array(a)) => a.clone(),
                    _ => vec![],
                },
                Err(e) => {
                    // A whole-file JSON that does not parse is one malformed record.
                    found.malformed += 1;
                    tracing::debug!("gemini: {}: {e}", path.display());
                    continue;
                }
            }
        };
        let mut any = false;
        let mut activity = RawActivity::default();
        for m in &messages {
            let Some(time) = m.get("timestamp").and_then(parse_time) else {
                continue;
            };
            if !scope.contains_time(time) {
                continue;
            }
            any = true;
            let mut prompts = Vec::new();
            message(m, time, cwd, &mut prompts, &mut activity);
            if !subagent {
                found.prompts.extend(prompts);
            }
        }
        if any {
            found.files.push(path);
        }
        found.activity.merge(activity);
    }
}

/// Replay a JSONL chat: records by id (a later record with the same id replaces the earlier one),
/// `$rewindTo` drops the record it names and everything after it; metadata and `$set` lines carry
/// no messages.
fn jsonl_messages(path: &Path) -> std::io::Result<(Vec<Value>, usize)> {
    let mut order: Vec<Value> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let bad = super::source::for_each_json_line(path, |v| {
        if let Some(id) = v.get("$rewindTo").and_then(Value::as_str) {
            if let Some(&i) = index.get(id) {
                order.truncate(i);
                index.retain(|_, j| *j < i);
            }
            return;
        }
        if v.get("$set").is_some() || v.get("type").is_none() {
            return;
        }
        let id = str_of(&v, "id").to_string();
        if !id.is_empty() {
            if let Some(&i) = index.get(&id) {
                order[i] = v;
                return;
            }
            index.insert(id, order.len());
        }
        order.push(v);
    })?;
    Ok((order, bad))
}

fn content_text(m: &Value) -> String {
    let c = match m.get("displayContent") {
        Some(v) if !v.is_null() => v,
        _ => m.get("content").unwrap_or(&Value::Null),
    };
    match c {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn message(
    m: &Value,
    time: chrono::DateTime<chrono::Utc>,
    cwd: &Path,
    prompts: &mut Vec<RawPrompt>,
    act: &mut RawActivity,
) {
    match str_of(m, "type") {
        "user" => {
            // Slash commands (`/model`, `/stats`) and shell mode (`!ls`) are recorded as user
            // messages too.
            if let Some(text) = clean_prompt(&content_text(m)) {
                prompts.push(RawPrompt {
                    time,
                    agent: AGENT,
                    text,
                });
            }
        }
        "error" => {
            let text = first_line(&content_text(m), 160);
            act.errors.push(RawError {
                time,
                text: if text.is_empty() {
                    "error".into()
                } else {
                    text
                },
            });
        }
        "gemini" => {
            if let Some(Value::Array(calls)) = m.get("toolCalls") {
                for c in calls {
                    let name = str_of(c, "name");
                    if name.is_empty() {
                        continue;
                    }
                    act.tool(name);
                    let args = c.get("args").unwrap_or(&Value::Null);
                    let t = c.get("timestamp").and_then(parse_time).unwrap_or(time);
                    if EDIT_TOOLS.contains(&name) {
                        let p = match str_of(args, "file_path") {
                            "" => str_of(args, "absolute_path"),
                            p => p,
                        };
                        if !p.is_empty() {
                            act.files_edited.insert(resolve(cwd, p));
                        }
                    }
                    if str_of(c, "status") == "error" {
                        act.errors.push(RawError {
                            time: t,
                            text: format!("{name} failed"),
                        });
                    } else if let Some(code) = shell_exit_code(c.get("result"))
                        && code != 0
                    {
                        let cmd = first_line(str_of(args, "command"), 100);
                        act.errors.push(RawError {
                            time: t,
                            text: format!("{name} exited {code}: {cmd}")
                                .trim_end_matches(": ")
                                .to_string(),
                        });
                    }
                    act.action(t, super::claude::describe_tool(name, args));
                }
            }
            if let Some(t) = m.get("tokens").filter(|t| t.is_object()) {
                // Gemini's usage: `input` (prompt, cached part included), `cached`, `output`
                // (candidates), `thoughts`, `tool` (tool-use prompt); total = input + output +
                // thoughts + tool. Thoughts are output the model produced, tool prompts input.
                let cached = u64_of(t, "cached");
                act.add_tokens(Tokens {
                    input: u64_of(t, "input").saturating_sub(cached) + u64_of(t, "tool"),
                    output: u64_of(t, "output") + u64_of(t, "thoughts"),
                    cache_read: cached,
                });
            }
        }
        _ => {}
    }
}

/// `Exit Code: N` from a tool result (`[{functionResponse: {response: {output: "…"}}}]`, or the
/// text itself): the last such line wins, since the command's own output comes before it.
fn shell_exit_code(result: Option<&Value>) -> Option<i64> {
    fn texts(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| texts(x, out)),
            Value::Object(o) => o.values().for_each(|x| texts(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    texts(result?, &mut all);
    all.iter()
        .flat_map(|t| t.lines())
        .filter_map(|l| l.trim().strip_prefix("Exit Code: "))
        .filter_map(|n| n.trim().parse::<i64>().ok())
        .next_back()
}

fn read_logs(dir: &Path, scope: &Scope, found: &mut Found) {
    let path = dir.join("logs.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let Ok(Value::Array(entries)) = serde_json::from_str::<Value>(&text) else {
        found.malformed += 1;
        return;
    };
    let mut any = false;
    for e in &entries {
        if str_of(e, "type") != "user" {
            continue;
        }
        let Some(time) = e.get("timestamp").and_then(parse_time) else {
            continue;
        };
        if !scope.contains_time(time) {
            continue;
        }
        if let Some(text) = clean_prompt(str_of(e, "message")) {
            any = true;
            found.prompts.push(RawPrompt {
                time,
                agent: AGENT,
                text,
            });
        }
    }
    if any {
        found.files.push(path);
    }
}
