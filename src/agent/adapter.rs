//! Adapters: the files that teach a coding agent to drive patina — its custom commands (in the
//! agent's documented format) and its hooks reporting busy / waiting / idle. Idempotent: a file
//! that already holds what patina would write is left alone, a file the user edited is kept
//! unless `force`; hook settings are merged into the agent's settings file, never replaced.

use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::Error;
use crate::store;

/// Agents patina has adapters for.
pub const AGENTS: &[&str] = &["claude", "gemini", "codex", "opencode"];

/// What `install` did to each file.
#[derive(Debug, Clone, Serialize)]
pub struct InstallReport {
    pub agent: String,
    pub root: std::path::PathBuf,
    pub files: Vec<FileAction>,
    /// What the person still has to do or know.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileAction {
    /// Relative to the project root.
    pub path: String,
    /// `created`, `unchanged`, `kept` (differs from patina's; use --force), `overwritten`,
    /// `merged` (hooks added to an existing settings file).
    pub action: String,
}

/// One command: name, one-line description, argument hint, and the instruction body where
/// `{ARGS}` stands for the agent's argument placeholder.
struct Command {
    name: &'static str,
    description: &'static str,
    hint: &'static str,
    body: &'static str,
}

const COMMANDS: &[Command] = &[
    Command {
        name: "session-start",
        description: "Start a patina session (git tag + activity log) and load its context",
        hint: "<session title>",
        body: "Start a patina session titled: {ARGS}\n\n\
1. Run `patina session start \"<title>\" --json` with the title above (quote it for the shell).\n   \
If it fails because a session is already active, show `patina session status --json` and ask me\n   \
whether to continue that one or end it first.\n\
2. Run `patina agent context --json` and read it: the previous session's summary, open goals,\n   \
recent beliefs and the notes most related to this title. Use it as background for this work.\n\
3. Tell me in a few lines what we are starting, which goals are open, and what the context suggests.\n",
    },
    Command {
        name: "session-update",
        description: "Log progress in the patina session (git activity, prompts so far)",
        hint: "[what changed]",
        body: "Update the active patina session. Context from me (may be empty): {ARGS}\n\n\
1. Run `patina session update --prompts --json` (it records git activity and the prompts so far).\n\
2. If I gave context above, also run `patina session note \"<context>\" --json`.\n\
3. Summarise in two or three lines what the session has done since the last update.\n",
    },
    Command {
        name: "session-note",
        description: "Add a note to the patina session's activity log",
        hint: "<note>",
        body: "Add this note to the active patina session: {ARGS}\n\n\
Run `patina session note \"<note>\" --json` with the note above (quote it for the shell) and\n\
confirm in one line. If no session is active, say so and suggest /session-start.\n",
    },
    Command {
        name: "session-end",
        description: "End the patina session: classify, tag and archive it",
        hint: "",
        body: "End the active patina session. Context from me (may be empty): {ARGS}\n\n\
1. If there are uncommitted changes (`git status --short`), list them and ask me whether to commit\n   \
them first.\n\
2. Run `patina session end --json`. It records the prompts and your activity, classifies the work,\n   \
tags the end and archives the session.\n\
3. Report the archived file, the classification and the end tag in a few lines.\n",
    },
    Command {
        name: "belief",
        description: "Capture a belief (a decision, principle or lesson) with patina",
        hint: "<statement>",
        body: "Capture this as a patina belief: {ARGS}\n\n\
1. Pick a short id: lowercase words joined by dashes (e.g. `measure-before-optimising`).\n\
2. Run `patina belief new --id <id> --statement \"<one-line statement>\" --json`, adding\n   \
`--evidence \"<what happened>\"` when this session showed it.\n\
3. If the id exists already (exit 3), choose another id or ask me whether to revise the existing\n   \
belief with `patina belief revise`.\n",
    },
];

/// The events a hook reports, per agent: (agent's event name, patina state).
fn hook_events(agent: &str) -> &'static [(&'static str, &'static str)] {
    match agent {
        // Notification covers permission prompts and the idle prompt; `agent event` reads the
        // notification type from stdin and records idle for `idle_prompt`.
        "claude" => &[
            ("UserPromptSubmit", "busy"),
            ("PermissionRequest", "waiting"),
            ("Notification", "waiting"),
            ("Stop", "idle"),
            ("StopFailure", "idle"),
            ("SessionEnd", "idle"),
        ],
        "gemini" => &[
            ("BeforeAgent", "busy"),
            ("Notification", "waiting"),
            ("AfterAgent", "idle"),
            ("SessionEnd", "idle"),
        ],
        "codex" => &[
            ("UserPromptSubmit", "busy"),
            ("PermissionRequest", "waiting"),
            ("Stop", "idle"),
            ("SessionEnd", "idle"),
        ],
        _ => &[],
    }
}

/// The hook command line for `agent` reporting `state`.
pub fn hook_command(agent: &str, state: &str) -> String {
    format!("patina agent event {state} --agent {agent}")
}

/// Install `agent`'s adapter into the project at `root`.
pub fn install(root: &Path, agent: &str, force: bool) -> Result<InstallReport> {
    if !AGENTS.contains(&agent) {
        return Err(Error::usage(format!(
            "unknown agent {agent:?} (known: {})",
            AGENTS.join(", ")
        ))
        .into());
    }
    let mut report = InstallReport {
        agent: agent.to_string(),
        root: root.to_path_buf(),
        files: vec![],
        notes: vec![],
    };
    for c in COMMANDS {
        let (rel, text) = command_file(agent, c);
        let action = write_file(root, &rel, &text, force)?;
        report.files.push(FileAction { path: rel, action });
    }
    match agent {
        "claude" => {
            let action = merge_hooks(root, ".claude/settings.json", agent, &claude_handler)?;
            report.files.push(FileAction {
                path: ".claude/settings.json".into(),
                action,
            });
        }
        "gemini" => {
            let action = merge_hooks(root, ".gemini/settings.json", agent, &gemini_handler)?;
            report.files.push(FileAction {
                path: ".gemini/settings.json".into(),
                action,
            });
            report.notes.push(
                "Gemini CLI flags changed project hooks as untrusted: review them when it asks."
                    .into(),
            );
        }
        "codex" => {
            let action = merge_hooks(root, ".codex/hooks.json", agent, &codex_handler)?;
            report.files.push(FileAction {
                path: ".codex/hooks.json".into(),
                action,
            });
            report.notes.push(
                "Codex runs project hooks only in trusted projects and after you trust each hook \
                 in /hooks; its custom prompts were replaced by skills, invoked as $patina-session-start etc."
                    .into(),
            );
            report.notes.push(
                "Codex builds without lifecycle hooks: add `notify = [\"patina\", \"agent\", \"event\", \"idle\", \"--agent\", \"codex\"]` \
                 to ~/.codex/config.toml (patina does not edit files outside the project)."
                    .into(),
            );
        }
        _ => report.notes.push(
            "opencode reports state through JS plugins, whose API patina could not confirm: no \
             hooks installed (commands only)."
                .into(),
        ),
    }
    if report.files.iter().any(|f| f.action == "kept") {
        report
            .notes
            .push("files you edited were kept; `--force` replaces them with patina's".into());
    }
    Ok(report)
}

fn command_file(agent: &str, c: &Command) -> (String, String) {
    match agent {
        "claude" => (
            format!(".claude/commands/{}.md", c.name),
            format!(
                "---\ndescription: {}\nargument-hint: {}\nallowed-tools: Bash(patina:*), Bash(git status:*)\n---\n\n{}",
                c.description,
                if c.hint.is_empty() { "\"\"" } else { c.hint },
                c.body.replace("{ARGS}", "$ARGUMENTS")
            ),
        ),
        "gemini" => (
            format!(".gemini/commands/{}.toml", c.name),
            format!(
                "# Installed by patina (`patina adapter install gemini`).\ndescription = {}\nprompt = \"\"\"\n{}\"\"\"\n",
                toml_string(c.description),
                c.body.replace("{ARGS}", "{{args}}")
            ),
        ),
        "opencode" => (
            format!(".opencode/commands/{}.md", c.name),
            format!(
                "---\ndescription: {}\n---\n\n{}",
                c.description,
                c.body.replace("{ARGS}", "$ARGUMENTS")
            ),
        ),
        // Codex: skills (its custom prompts were removed); a skill has no argument placeholder,
        // the agent takes the arguments from the conversation.
        _ => (
            format!(".agents/skills/patina-{}/SKILL.md", c.name),
            format!(
                "---\nname: patina-{}\ndescription: {}. Use when the user asks to {}.\n---\n\n{}",
                c.name,
                c.description,
                c.name.replace('-', " "),
                c.body
                    .replace("{ARGS}", "(what the user said when asking for this)")
                    .replace("/session-start", "$patina-session-start")
            ),
        ),
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Write one command file: created / unchanged / kept / overwritten.
fn write_file(root: &Path, rel: &str, text: &str, force: bool) -> Result<String> {
    let path = root.join(rel);
    let action = match std::fs::read_to_string(&path) {
        Ok(current) if current == text => return Ok("unchanged".into()),
        Ok(_) if !force => return Ok("kept".into()),
        Ok(_) => "overwritten",
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "created",
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    store::atomic_write(&path, text.as_bytes(), 0o644)?;
    Ok(action.into())
}

fn claude_handler(agent: &str, state: &str) -> Value {
    json!({"type": "command", "command": hook_command(agent, state), "async": true, "timeout": 10})
}

fn gemini_handler(agent: &str, state: &str) -> Value {
    json!({"type": "command", "name": format!("patina-{state}"), "command": hook_command(agent, state), "timeout": 2000})
}

fn codex_handler(agent: &str, state: &str) -> Value {
    json!({"type": "command", "command": hook_command(agent, state), "timeout": 10})
}

/// Add patina's hooks to the JSON settings file `rel` (created when missing): for each event,
/// a group `{"hooks": [handler]}` unless a handler with the same command is already there.
/// Everything else in the file is kept (serde_json sorts object keys when writing it back).
fn merge_hooks(
    root: &Path,
    rel: &str,
    agent: &str,
    handler: &dyn Fn(&str, &str) -> Value,
) -> Result<String> {
    let path = root.join(rel);
    let (mut doc, existed) = match std::fs::read_to_string(&path) {
        Ok(t) if t.trim().is_empty() => (json!({}), true),
        Ok(t) => (
            serde_json::from_str::<Value>(&t).map_err(|e| {
                Error::invalid_input(format!(
                    "not valid JSON ({e}); fix it, patina will not overwrite it"
                ))
                .in_file(&path)
            })?,
            true,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (json!({}), false),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let Some(obj) = doc.as_object_mut() else {
        return Err(Error::invalid_input("expected a JSON object at the top")
            .in_file(&path)
            .into());
    };
    let hooks = obj.entry("hooks").or_insert_with(|| json!({}));
    let Some(hooks) = hooks.as_object_mut() else {
        return Err(Error::invalid_input("must be an object")
            .in_file(&path)
            .at_field("hooks")
            .into());
    };
    let mut added = 0;
    for (event, state) in hook_events(agent) {
        let h = handler(agent, state);
        let groups = hooks.entry(*event).or_insert_with(|| json!([]));
        let Some(groups) = groups.as_array_mut() else {
            return Err(Error::invalid_input("must be an array")
                .in_file(&path)
                .at_field(format!("hooks.{event}"))
                .into());
        };
        let present = groups.iter().any(|g| {
            g.get("hooks")
                .and_then(Value::as_array)
                .is_some_and(|hs| hs.iter().any(|x| x.get("command") == h.get("command")))
        });
        if !present {
            let group = if agent == "gemini" {
                json!({"matcher": "", "hooks": [h]})
            } else {
                json!({"hooks": [h]})
            };
            groups.push(group);
            added += 1;
        }
    }
    if added == 0 {
        return Ok("unchanged".into());
    }
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    store::atomic_write(&path, text.as_bytes(), 0o644)?;
    Ok(if existed { "merged" } else { "created" }.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_commands_are_valid_toml_with_args() {
        for c in COMMANDS {
            let (_, text) = command_file("gemini", c);
            let v: toml::Table = toml::from_str(&text).unwrap();
            assert!(v["prompt"].as_str().unwrap().contains("{{args}}"));
            assert_eq!(v["description"].as_str().unwrap(), c.description);
        }
    }
}
