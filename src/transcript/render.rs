//! Turning raw prompts into one-line list items, and a capture into the session's markdown.

use std::fmt::Write as _;

use super::Capture;

/// Prompts longer than this many lines are taken to hold a pasted block.
const PASTE_MIN_LINES: usize = 4;

/// At most `max` characters (not bytes), with `…` marking a cut.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One prompt as a single line: a long multi-line prompt keeps its first line and summarises the
/// rest as `[pasted N lines]`; whitespace is collapsed; the result is cut to `max` characters.
pub(crate) fn prompt_line(text: &str, max: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let folded = if lines.len() >= PASTE_MIN_LINES {
        let first = lines.iter().position(|l| !l.trim().is_empty()).unwrap_or(0);
        let rest = lines.len() - first - 1;
        format!("{} [pasted {rest} lines]", lines[first].trim())
    } else {
        text.to_string()
    };
    let one_line = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    // Keep a trailing paste marker visible even when the typed part is long.
    if let Some(i) = one_line.rfind(" [pasted ")
        && one_line.ends_with(" lines]")
        && one_line.chars().count() > max
    {
        let marker = &one_line[i..];
        let budget = max.saturating_sub(marker.chars().count()).max(1);
        return format!("{}{marker}", truncate_chars(&one_line[..i], budget));
    }
    truncate_chars(&one_line, max)
}

/// `text` as a markdown code span, whatever backticks it holds.
fn code_span(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    if longest == 0 {
        return format!("`{text}`");
    }
    let fence = "`".repeat(longest + 1);
    format!("{fence} {text} {fence}")
}

/// The `## User Prompts (N)` and `## Agent Activity` sections, or `None` when there is nothing.
pub(crate) fn markdown(c: &Capture) -> Option<String> {
    let a = &c.activity;
    let has_activity = !a.tool_calls.is_empty()
        || !a.files_edited.is_empty()
        || !a.errors.is_empty()
        || a.tokens.is_some();
    if c.prompts.is_empty() && !has_activity {
        return None;
    }
    let mut s = String::new();
    let several_agents = c
        .prompts
        .iter()
        .any(|p| c.prompts.first().is_some_and(|f| f.agent != p.agent));
    if !c.prompts.is_empty() {
        let _ = writeln!(s, "## User Prompts ({})\n", c.prompts.len());
        for p in &c.prompts {
            if several_agents {
                let _ = writeln!(s, "{}. ({}) {}", p.n, p.agent, code_span(&p.text));
            } else {
                let _ = writeln!(s, "{}. {}", p.n, code_span(&p.text));
            }
        }
        let mut foot = Vec::new();
        if c.redacted_total > 0 {
            let kinds: Vec<String> = c.redacted.iter().map(|(k, n)| format!("{k} {n}")).collect();
            foot.push(format!(
                "Redacted: {} ({})",
                c.redacted_total,
                kinds.join(", ")
            ));
        }
        if c.malformed_lines > 0 {
            foot.push(format!("{} malformed log lines skipped", c.malformed_lines));
        }
        if !foot.is_empty() {
            let _ = writeln!(s, "\n_{}._", foot.join(". "));
        }
    }
    if has_activity {
        if !s.is_empty() {
            s.push('\n');
        }
        s.push_str("## Agent Activity\n\n");
        let agents: Vec<String> = c
            .sources
            .iter()
            .filter(|src| src.files > 0)
            .map(|src| {
                format!(
                    "{} ({} log{})",
                    src.agent,
                    src.files,
                    if src.files == 1 { "" } else { "s" }
                )
            })
            .collect();
        if !agents.is_empty() {
            let _ = writeln!(s, "- Agents: {}", agents.join(", "));
        }
        if !a.tool_calls.is_empty() {
            let mut kinds: Vec<(&String, &usize)> = a.tool_calls.iter().collect();
            kinds.sort_by(|x, y| y.1.cmp(x.1).then(x.0.cmp(y.0)));
            let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = writeln!(
                s,
                "- Tool calls ({}): {}",
                a.tool_calls_total,
                list.join(", ")
            );
        }
        if !a.files_edited.is_empty() {
            let list: Vec<String> = a
                .files_edited
                .iter()
                .map(|f| match f.in_git {
                    Some(false) => format!("{} (no net change in git)", code_span(&f.path)),
                    _ => code_span(&f.path),
                })
                .collect();
            let _ = writeln!(s, "- Files edited ({}): {}", list.len(), list.join(", "));
        }
        if !a.errors.is_empty() {
            let _ = writeln!(s, "- Errors ({}):", a.errors.len());
            const SHOWN: usize = 5;
            for e in a.errors.iter().rev().take(SHOWN).rev() {
                let _ = writeln!(s, "  - {} {}", e.time.format("%H:%M"), code_span(&e.text));
            }
            if a.errors.len() > SHOWN {
                let _ = writeln!(s, "  - … and {} earlier", a.errors.len() - SHOWN);
            }
        }
        if let Some(t) = a.tokens {
            let _ = writeln!(
                s,
                "- Tokens: {} in, {} out, {} cache read",
                t.input, t.output, t.cache_read
            );
        }
        if let Some(l) = &a.last_action {
            let _ = writeln!(
                s,
                "- Last action: {} {}",
                l.time.format("%Y-%m-%d %H:%M"),
                code_span(&l.text)
            );
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate_chars("héllo wörld", 5), "héll…");
        assert_eq!(truncate_chars("日本語のテキスト", 4), "日本語…");
        assert_eq!(truncate_chars("short", 5), "short");
    }

    #[test]
    fn pastes_fold_into_a_marker() {
        let text = "look at this log:\nline 1\nline 2\nline 3\nline 4";
        assert_eq!(prompt_line(text, 200), "look at this log: [pasted 4 lines]");
        assert_eq!(prompt_line("two\nlines", 200), "two lines");
        let long = format!("{}\na\nb\nc", "x".repeat(50));
        let out = prompt_line(&long, 30);
        assert!(out.ends_with("… [pasted 3 lines]"), "{out}");
        assert_eq!(out.chars().count(), 30);
    }

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code_span("plain"), "`plain`");
        assert_eq!(code_span("run `ls`"), "`` run `ls` ``");
    }
}

/// True for the section titles this module writes.
fn is_ours(title: &str) -> bool {
    title.starts_with("User Prompts") || title == "Agent Activity"
}

/// `text` without earlier `## User Prompts (…)` / `## Agent Activity` sections, with `md` (when
/// given) appended at the end: refreshing the sections never duplicates them. The file keeps its
/// own line ending and BOM.
pub(crate) fn replace_sections(text: &str, md: Option<&str>) -> String {
    let mut d = crate::doc::Document::parse(text);
    let eol = d.style().eol;
    d.sections.retain(|s| !is_ours(&s.title));
    let rendered = d.render();
    let mut lines: Vec<&str> = rendered.split_inclusive('\n').collect();
    while lines
        .last()
        .is_some_and(|l| l.trim_start_matches('\u{feff}').trim().is_empty())
    {
        lines.pop();
    }
    let mut s = lines.concat();
    if !s.ends_with('\n') {
        s.push_str(eol.as_str());
    }
    if let Some(md) = md {
        let lf = crate::doc::TextStyle { bom: false, eol };
        s.push_str(eol.as_str());
        s.push_str(&lf.apply(md.trim_end()));
        s.push_str(eol.as_str());
    }
    s
}

#[cfg(test)]
mod replace_tests {
    use super::*;

    #[test]
    fn sections_are_replaced_not_duplicated() {
        let text = "---\nid: x\n---\n\n## Goals\n- [ ] a\n\n## Activity Log\n### 10:00 - Start\n\n## User Prompts (1)\n\n1. `old`\n\n## Agent Activity\n\n- Tool calls (1): Bash 1\n";
        let md = "## User Prompts (2)\n\n1. `a`\n2. `b`\n";
        let once = replace_sections(text, Some(md));
        assert_eq!(
            once,
            "---\nid: x\n---\n\n## Goals\n- [ ] a\n\n## Activity Log\n### 10:00 - Start\n\n## User Prompts (2)\n\n1. `a`\n2. `b`\n"
        );
        assert_eq!(replace_sections(&once, Some(md)), once);
        assert!(!replace_sections(&once, None).contains("User Prompts"));
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(
            replace_sections(&crlf, Some(md)),
            once.replace('\n', "\r\n")
        );
    }
}
