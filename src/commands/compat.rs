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
        for (i, line) in text.lines().enumerate() {
            for words in invocations(line) {
                if let Some(bad) = first_unknown(&cli, &words) {
                    out.push(UnknownCommand {
                        file: path.strip_prefix(root).unwrap_or(&path).to_path_buf(),
                        line: i + 1,
                        command: bad,
                    });
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
    let tokens: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == '`' || c == '(' || c == '$')
        .filter(|t| !t.is_empty())
        .collect();
    for (i, t) in tokens.iter().enumerate() {
        let bare = t.rsplit('/').next().unwrap_or(t);
        if bare != "patina" {
            continue;
        }
        let words: Vec<String> = tokens[i + 1..]
            .iter()
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
             `patina adapter install <agent>` rewrites patina's adapter files for this version",
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
