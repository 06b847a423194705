//! What the adapters write: the command/skill files in each agent's format, the instruction
//! block, the hook command lines and the opencode plugin. Frontmatter is produced by a YAML
//! serializer (never by string pasting), so a `: ` in a description can never break it again.

use serde_json::{Value, json};

/// One command: name, one-line description, argument hint, and the instruction body where
/// `{ARGS}` stands for the agent's argument placeholder.
pub(super) struct Command {
    pub name: &'static str,
    pub description: &'static str,
    pub hint: &'static str,
    pub body: &'static str,
}

pub(super) const COMMANDS: &[Command] = &[
    Command {
        name: "session-start",
        description: "Start a patina session (git tag + activity log) and load its context",
        hint: "<session title>",
        body: "Start a patina session titled: {ARGS}\n\n\
1. Run `patina session start \"<title>\" --json` with the title above (quote it for the shell).\n   \
If it fails because a session is already active, show `patina session status --json` and ask me\n   \
whether to continue that one or end it first.\n\
2. Call the patina MCP tool `context` with the title as topic (or run `patina agent context --json`)\n   \
and read it: earlier decisions, related sessions and open goals. Use it as background.\n\
3. Tell me in a few lines what we are starting, which goals are open, and what the context suggests.\n",
    },
    Command {
        name: "session-update",
        description: "Log progress in the patina session (git activity, prompts so far)",
        hint: "[what changed]",
        body: "Update the active patina session. Context from me (may be empty): {ARGS}\n\n\
1. Run `patina session update --prompts --json` (it records git activity and the prompts so far).\n\
2. If I gave context above, also add it as a note (MCP `session_note`, or `patina session note \"<context>\" --json`).\n\
3. Summarise in two or three lines what the session has done since the last update.\n",
    },
    Command {
        name: "session-note",
        description: "Add a note to the patina session's activity log",
        hint: "<note>",
        body: "Add this note to the active patina session: {ARGS}\n\n\
Use the patina MCP tool `session_note` (or run `patina session note \"<note>\" --json`, quoting\n\
the note for the shell) and confirm in one line. If no session is active, say so and suggest\n\
starting one.\n",
    },
    Command {
        name: "session-end",
        description: "End the patina session (classify, tag and archive it)",
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
1. Search first: MCP `scry` with kinds [\"belief\"] for the statement; if one already says it,\n   \
show it and ask whether to revise it (`patina belief revise`) instead.\n\
2. Pick a short id: lowercase words joined by dashes (e.g. `measure-before-optimising`).\n\
3. Capture it with the MCP tool `belief_capture` (id, statement, evidence from this session), or\n   \
run `patina belief new --id <id> --statement \"<one-line statement>\" --evidence \"<what happened>\" --json`.\n\
4. If the id exists already, choose another id or ask me.\n",
    },
];

fn yaml_frontmatter(pairs: &[(&str, &str)]) -> String {
    let mut map = serde_yaml::Mapping::new();
    for (k, v) in pairs {
        map.insert((*k).into(), (*v).into());
    }
    let yaml = serde_yaml::to_string(&map).expect("a string mapping always serializes");
    format!("---\n{yaml}---\n")
}

/// Claude Code `.claude/commands/<name>.md`: YAML frontmatter (`description`, `argument-hint`,
/// `allowed-tools`) and a body with `$ARGUMENTS`.
pub(super) fn claude_command(c: &Command) -> String {
    let mut pairs = vec![("description", c.description)];
    if !c.hint.is_empty() {
        pairs.push(("argument-hint", c.hint));
    }
    pairs.push(("allowed-tools", "Bash(patina:*), Bash(git status:*)"));
    format!(
        "{}\n{}",
        yaml_frontmatter(&pairs),
        c.body.replace("{ARGS}", "$ARGUMENTS")
    )
}

/// opencode `.opencode/commands/<name>.md`: frontmatter `description`, body with `$ARGUMENTS`.
pub(super) fn opencode_command(c: &Command) -> String {
    format!(
        "{}\n{}",
        yaml_frontmatter(&[("description", c.description)]),
        c.body.replace("{ARGS}", "$ARGUMENTS")
    )
}

/// Gemini CLI `.gemini/commands/<name>.toml`: `description` and `prompt` with `{{args}}`.
pub(super) fn gemini_command(c: &Command) -> String {
    let mut t = toml::Table::new();
    t.insert("description".into(), c.description.into());
    t.insert("prompt".into(), c.body.replace("{ARGS}", "{{args}}").into());
    format!(
        "# Installed by patina (`patina adapter install gemini`).\n{}",
        toml::to_string(&t).expect("a string table always serializes")
    )
}

/// Codex skill `.agents/skills/patina-<name>/SKILL.md`: frontmatter `name`, `description`; a skill
/// takes no argument placeholder, the agent takes the arguments from the conversation.
pub(super) fn codex_skill(c: &Command) -> String {
    let name = format!("patina-{}", c.name);
    let description = format!(
        "{}. Use when the user asks to {}.",
        c.description,
        c.name.replace('-', " ")
    );
    format!(
        "{}\n{}",
        yaml_frontmatter(&[("name", &name), ("description", &description)]),
        c.body
            .replace("{ARGS}", "(what the user said when asking for this)")
    )
}

pub(super) const BLOCK_BEGIN: &str = "<!-- patina:begin -->";
pub(super) const BLOCK_END: &str = "<!-- patina:end -->";

/// The instruction block for CLAUDE.md / AGENTS.md / GEMINI.md: what patina offers and when to
/// use it. `commands` is how this agent invokes the session commands.
pub(super) fn instruction_block(commands: &str) -> String {
    format!(
        "{BLOCK_BEGIN}\n\
## patina (project memory)\n\
\n\
This project keeps its knowledge with patina: layer docs, beliefs (decisions and lessons),\n\
archived sessions, commit messages and source, searchable through the `patina` MCP server\n\
(or the `patina` CLI with `--json`).\n\
\n\
- Before reading code to find where something lives or why it is so, ask `scry` (MCP tool;\n\
  CLI: `patina scry \"<question>\" --json`). Check earlier decisions with kinds [\"belief\"].\n\
- Before starting on a topic, call `context` with that topic.\n\
- At milestones (a cause found, a test passing, a plan changed), add a note with `session_note`\n\
  (CLI: `patina session note \"...\"`).\n\
- When a decision or lesson should outlive this conversation, capture it with `belief_capture`\n\
  (one-line statement, evidence from this session).\n\
- Sessions: {commands}.\n\
\n\
This block is managed by `patina adapter install|uninstall`; edit outside the markers.\n\
{BLOCK_END}\n"
    )
}

/// The hook command for `agent` reporting `state`: silent and exit 0 even when patina is not
/// installed (a teammate without patina sees nothing).
pub(super) fn hook_command(agent: &str, state: &str) -> String {
    format!("patina agent event {state} --agent {agent} 2>/dev/null || true")
}

/// The events a hook reports, per agent: (agent's event name, patina state, is a tool event).
/// Sources: ../shared/notes/agents.md and docs/agents.md.
pub(super) fn hook_events(agent: &str) -> &'static [(&'static str, &'static str)] {
    match agent {
        // Notification covers permission prompts and the idle prompt (`agent event` reads the
        // notification type). PostToolUse is a heartbeat: after the person answers a permission
        // prompt, the tool runs and the badge goes back to busy. SessionEnd removes the badge.
        "claude" => &[
            ("SessionStart", "idle"),
            ("UserPromptSubmit", "busy"),
            ("PostToolUse", "busy"),
            ("PermissionRequest", "waiting"),
            ("Notification", "waiting"),
            ("Stop", "idle"),
            ("StopFailure", "idle"),
            ("SessionEnd", "idle"),
        ],
        "codex" => &[
            ("SessionStart", "idle"),
            ("UserPromptSubmit", "busy"),
            ("PostToolUse", "busy"),
            ("PermissionRequest", "waiting"),
            ("Stop", "idle"),
            ("Interrupt", "idle"),
            ("SessionEnd", "idle"),
        ],
        "gemini" => &[
            ("SessionStart", "idle"),
            ("BeforeAgent", "busy"),
            ("AfterTool", "busy"),
            ("Notification", "waiting"),
            ("AfterAgent", "idle"),
            ("SessionEnd", "idle"),
        ],
        _ => &[],
    }
}

/// One hook handler group in the agent's settings shape.
pub(super) fn hook_group(agent: &str, state: &str) -> Value {
    let command = hook_command(agent, state);
    match agent {
        // Claude: timeout in seconds; async so the agent never waits for us.
        "claude" => {
            json!({"hooks": [{"type": "command", "command": command, "timeout": 10, "async": true}]})
        }
        // Gemini: timeout in milliseconds; a name so `hooksConfig.disabled` can address it.
        "gemini" => {
            json!({"matcher": "", "hooks": [{"type": "command", "name": format!("patina-{state}"), "command": command, "timeout": 2000}]})
        }
        _ => json!({"hooks": [{"type": "command", "command": command, "timeout": 10}]}),
    }
}

/// The opencode plugin (JS, loaded by opencode at start): reports session status and permission
/// prompts to `patina agent event`, passing the event as a trailing JSON argument. Errors (patina
/// missing) are swallowed: a plugin must never break the agent.
pub(super) const OPENCODE_PLUGIN: &str = r#"// Installed by patina (`patina adapter install opencode`; remove with `patina adapter uninstall opencode`).
// Reports busy / waiting / idle per opencode session to patina's cockpit. Silent when patina is
// not installed.
export const PatinaPlugin = async ({ $, directory }) => {
  const report = async (state, sessionID, type) => {
    const payload = JSON.stringify({ session_id: sessionID ?? "", cwd: directory ?? "", hook_event_name: type })
    try {
      await $`patina agent event ${state} --agent opencode ${payload}`.quiet().nothrow()
    } catch {
      // patina is not installed, or failed: never disturb the agent.
    }
  }
  return {
    event: async ({ event }) => {
      const p = event.properties ?? {}
      switch (event.type) {
        case "session.status":
          await report(p.status?.type === "idle" ? "idle" : "busy", p.sessionID, event.type)
          break
        case "session.idle":
          await report("idle", p.sessionID, event.type)
          break
        case "permission.asked":
        case "permission.updated":
          await report("waiting", p.sessionID, event.type)
          break
        case "permission.replied":
          await report("busy", p.sessionID, event.type)
          break
        case "session.deleted":
          await report("idle", p.info?.id ?? p.sessionID, event.type)
          break
      }
    },
  }
}
"#;
