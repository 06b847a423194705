//! Adapter files written by other patina versions: find the `patina …` invocations this binary
//! does not understand (a newer version's `patina ai session end`, an older one's removed
//! command), so `init` and `adapter install` can say so instead of leaving the agent with
//! commands that fail at the worst moment.
//!
//! The check runs against this binary's own clap tree, so it never drifts from what exists.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde::Serialize;

use super::cli::Cli;

/// One invocation that this binary would reject.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnknownCommand {
    /// Relative to the project root.
    pub file: PathBuf,
    pub line: usize,
    /// The words after `patina` up to the first one this binary does not know.
    pub command: String,
}

/// Where the agents keep the files patina adapters write (commands, skills, prompts, hooks).
const ADAPTER_PLACES: &[&str] = &[
    ".claude/commands",
    ".claude/skills",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".codex/prompts",
    ".codex/skills",
    ".gemini/commands",
    ".gemini/settings.json",
    ".opencode/command",
    ".opencode/commands",
    "opencode.json",
];

/// Scan the adapter files under `root` for `patina` invocations this binary lacks.
pub fn unknown_commands(root: &Path) -> Vec<UnknownCommand> {
    let mut files = Vec::new();
    for place in ADAPTER_PLACES {
        collect(&root.join(place), &mut files);
    }
    files.sort();
    let cli = Cli::command();
    let mut out = Vec::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        // Command files (markdown, Gemini's TOML prompts) are prose with commands in code.
        let markdown = path.extension().is_some_and(|x| x == "md" || x == "toml");
        for (i, line) in code_of(&text, markdown) {
            for words in invocations(&line) {
                if let Some(bad) = first_unknown(&cli, &words) {
                    out.push(UnknownCommand {
                        file: path.strip_prefix(root).unwrap_or(&path).to_path_buf(),
                        line: i,
                        command: bad,
                    });
                }
            }
        }
    }
    out
}

/// The parts of a file that can run: every line of a JSON or shell file (hooks); in prose files
/// (markdown commands, Gemini's TOML prompts) only code — fenced blocks and `inline code` spans
/// (Claude's `!`cmd`` included) — because prose such as "a patina session (git tag …)" or
/// "Start a patina session titled: …" names no command. Each with its 1-based line.
fn code_of(text: &str, markdown: bool) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fence: Option<&str> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if !markdown {
            out.push((n, line.to_string()));
            continue;
        }
        let t = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| t.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(f), Some(m)) if f == m => fence = None,
            (Some(_), _) => out.push((n, line.to_string())),
            (None, None) => {
                // odd-numbered pieces between backticks are code
                let spans: Vec<&str> = line.split('`').skip(1).step_by(2).collect();
                if !spans.is_empty() {
                    out.push((n, spans.join(" ")));
                }
            }
        }
    }
    out
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
        return;
    }
    let Ok(rd) = std::fs::read_dir(path) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x == "md" || x == "toml" || x == "json" || x == "sh")
        {
            out.push(p);
        }
    }
}

/// The subcommand words of each `patina …` call on a line: words after `patina` that look like
/// subcommand names (lowercase, `-`), stopping at a flag, a quote or shell punctuation.
fn invocations(line: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // Split on blanks and backticks only: `(git` in prose ("a patina session (git tag)") must
    // stay one token that is not a word, while `$(patina …)` and `!patina` still start a call.
    let tokens: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == '`')
        .filter(|t| !t.is_empty())
        .collect();
    for (i, t) in tokens.iter().enumerate() {
        let t = t.trim_start_matches(['$', '(', '!', '"', '\'']);
        let bare = t.rsplit('/').next().unwrap_or(t);
        if bare != "patina" {
            continue;
        }
        let words: Vec<String> = tokens[i + 1..]
            .iter()
            .map(|w| w.trim_end_matches([')', ';', '"', '\'', ',', '.', ':']))
            .take_while(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
            .take(3)
            .map(|w| w.to_string())
            .collect();
        if !words.is_empty() {
            out.push(words);
        }
    }
    out
}

/// `Some("ai session end")` when a word of `words` is not a subcommand where one is expected.
fn first_unknown(cli: &clap::Command, words: &[String]) -> Option<String> {
    let mut cmd = cli;
    for (i, w) in words.iter().enumerate() {
        if !cmd.has_subcommands() {
            return None; // the rest are arguments
        }
        match cmd.find_subcommand(w) {
            Some(sub) => cmd = sub,
            None => return Some(words[..=i].join(" ")),
        }
    }
    None
}

/// Tell the user (stderr, so `--json` stays clean) which adapter files call commands this binary
/// lacks, and how to replace them.
pub fn warn_unknown(ctx: &crate::output::Ctx, root: &Path) {
    for u in unknown_commands(root) {
        ctx.notice(&format!(
            "warning: {}:{} calls `patina {}`, which this patina ({}) does not have; \
             `patina adapter install <agent> --force` replaces patina's adapter files with \
             this version's (files of other names are yours to edit)",
            u.file.display(),
            u.line,
            u.command,
            env!("CARGO_PKG_VERSION")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_prose_is_not_a_command() {
        let md = "description: Start a patina session (git tag + activity log)\n\
                  Run !`patina ai session end` then `patina session finalize`\n\
                  ```sh\npatina session start x\n```\n";
        let code = code_of(md, true);
        assert_eq!(
            code,
            vec![
                (
                    2,
                    "patina ai session end patina session finalize".to_string()
                ),
                (4, "patina session start x".to_string())
            ]
        );
        assert_eq!(code_of("a\nb", false).len(), 2, "JSON/sh lines all count");
        // a TOML description in prose, a shell substitution, a trailing parenthesis
        for line in [
            "description = \"Start a patina session (git tag + activity log)\"",
            "x=$(patina session status)",
            "(see patina session end).",
        ] {
            let calls = invocations(line);
            assert!(
                calls
                    .iter()
                    .all(|w| first_unknown(&Cli::command(), w).is_none()),
                "{line}: {calls:?}"
            );
        }
    }

    #[test]
    fn finds_commands_this_binary_lacks() {
        let cli = Cli::command();
        let check = |line: &str| -> Vec<Option<String>> {
            invocations(line)
                .iter()
                .map(|w| first_unknown(&cli, w))
                .collect()
        };
        assert_eq!(check("Run `patina session end --commit`"), [None]);
        assert_eq!(check("patina ai session end"), [None], "the alias exists");
        assert_eq!(
            check("!`patina sessions close`"),
            [Some("sessions".to_string())]
        );
        assert_eq!(
            check("/usr/local/bin/patina session finish now"),
            [Some("session finish".to_string())]
        );
        assert_eq!(check("patina scry \"how do we x\""), [None]);
        assert!(check("no invocation here").is_empty());
    }
}
