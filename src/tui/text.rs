//! Text fitting by display width (never bytes): truncation with an ellipsis and word wrap.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `s` cut to at most `width` cells, ending in `…` when cut.
pub fn truncate(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw + 1 > width {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// Greedy word wrap to `width` cells; words longer than a line are cut by characters.
pub fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = vec![];
    let mut cur = String::new();
    for word in s.split_whitespace() {
        let sep = usize::from(!cur.is_empty());
        if cur.width() + sep + word.width() <= width {
            if sep == 1 {
                cur.push(' ');
            }
            cur.push_str(word);
            continue;
        }
        if !cur.is_empty() {
            lines.push(std::mem::take(&mut cur));
        }
        let mut w = 0;
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if w + cw > width && !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
                w = 0;
            }
            cur.push(c);
            w += cw;
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// `s` without terminal escape sequences (CSI `ESC [ … final`, OSC `ESC ] … BEL|ST`, other
/// `ESC x`) and other control characters except tab: agents' logs carry colour codes.
pub fn strip_ansi(s: &str) -> String {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\u{1b}' {
            match it.peek() {
                Some('[') => {
                    it.next();
                    // Parameters and intermediates, then one final byte in @..~.
                    for c in it.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    it.next();
                    while let Some(c) = it.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' && it.peek() == Some(&'\\') {
                            it.next();
                            break;
                        }
                    }
                }
                Some(_) => {
                    it.next();
                }
                None => {}
            }
        } else if c == '\n' || c == '\t' || !c.is_control() {
            out.push(c);
        }
    }
    out
}

/// A piece of a line: text and whether it is emphasised (`**bold**` or a matching term).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub strong: bool,
}

/// Markdown's `**bold**` and `__bold__` as pieces, markers removed (the Activity log is markdown;
/// showing the asterisks is noise). Inline code backticks are removed too.
pub fn markdown_pieces(s: &str) -> Vec<Piece> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut strong = false;
    let mut rest = s;
    while !rest.is_empty() {
        if rest.starts_with("**") || rest.starts_with("__") {
            if !cur.is_empty() {
                out.push(Piece {
                    text: std::mem::take(&mut cur),
                    strong,
                });
            }
            strong = !strong;
            rest = &rest[2..];
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        if c != '`' {
            cur.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    if !cur.is_empty() {
        out.push(Piece { text: cur, strong });
    }
    out
}

/// Pieces of `s` with every case-insensitive occurrence of a query term (≥ 2 characters)
/// marked strong: the scry pane's match highlighting.
pub fn highlight_terms(s: &str, query: &str) -> Vec<Piece> {
    let terms: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|t| t.chars().count() >= 2)
        .map(|t| t.to_lowercase())
        .collect();
    let lower: Vec<(usize, char)> = s.char_indices().collect();
    let folded: String = s
        .chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect();
    // Mark characters covered by a term (on the per-character fold, so indices line up).
    let fchars: Vec<char> = folded.chars().collect();
    let mut mark = vec![false; fchars.len()];
    for t in &terms {
        let tc: Vec<char> = t.chars().collect();
        if tc.len() > fchars.len() {
            continue;
        }
        for i in 0..=fchars.len() - tc.len() {
            if fchars[i..i + tc.len()] == tc[..] {
                for m in &mut mark[i..i + tc.len()] {
                    *m = true;
                }
            }
        }
    }
    let mut out: Vec<Piece> = vec![];
    for (i, (_, c)) in lower.iter().enumerate() {
        let strong = mark.get(i).copied().unwrap_or(false);
        match out.last_mut() {
            Some(p) if p.strong == strong => p.text.push(*c),
            _ => out.push(Piece {
                text: c.to_string(),
                strong,
            }),
        }
    }
    out
}

/// Cut pieces to `width` cells (ellipsis when cut), keeping their emphasis.
pub fn truncate_pieces(pieces: &[Piece], width: usize) -> Vec<Piece> {
    let total: usize = pieces.iter().map(|p| p.text.width()).sum();
    if total <= width {
        return pieces.to_vec();
    }
    let mut out = vec![];
    let mut left = width.saturating_sub(1);
    for p in pieces {
        if left == 0 {
            break;
        }
        let w = p.text.width();
        if w <= left {
            out.push(p.clone());
            left -= w;
        } else {
            let mut t = String::new();
            let mut tw = 0;
            for c in p.text.chars() {
                let cw = c.width().unwrap_or(0);
                if tw + cw > left {
                    break;
                }
                t.push(c);
                tw += cw;
            }
            out.push(Piece {
                text: t,
                strong: p.strong,
            });
            left = 0;
        }
    }
    if width > 0 {
        out.push(Piece {
            text: "…".into(),
            strong: false,
        });
    }
    out
}

/// `s` cut to `width` cells by removing its middle (`src/very/…/file.rs`), so both ends stay.
pub fn truncate_middle(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    if width <= 1 {
        return truncate(s, width);
    }
    let chars: Vec<char> = s.chars().collect();
    let keep_tail = (width - 1) * 2 / 3;
    let keep_head = width - 1 - keep_tail;
    let mut head = String::new();
    let mut w = 0;
    for c in &chars {
        let cw = c.width().unwrap_or(0);
        if w + cw > keep_head {
            break;
        }
        head.push(*c);
        w += cw;
    }
    let mut tail: Vec<char> = vec![];
    let mut w = 0;
    for c in chars.iter().rev() {
        let cw = c.width().unwrap_or(0);
        if w + cw > keep_tail {
            break;
        }
        tail.push(*c);
        w += cw;
    }
    tail.reverse();
    format!("{head}…{}", tail.into_iter().collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_escapes_and_markdown() {
        assert_eq!(strip_ansi("\u{1b}[1;31merror\u{1b}[0m: x\u{7}"), "error: x");
        assert_eq!(strip_ansi("\u{1b}]0;title\u{7}ok"), "ok");
        let p = markdown_pieces("**Git Activity:** commits 2 `x`");
        assert_eq!(
            p[0],
            Piece {
                text: "Git Activity:".into(),
                strong: true
            }
        );
        assert_eq!(p[1].text, " commits 2 x");
        let h = highlight_terms("Stale socket cleanup", "socket");
        assert_eq!(
            h[1],
            Piece {
                text: "socket".into(),
                strong: true
            }
        );
        assert_eq!(truncate_middle("src/serve/server.rs:42", 12).width(), 12);
        assert!(truncate_middle("src/serve/server.rs:42", 12).ends_with(":42"));
    }

    #[test]
    fn truncates_by_width() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
        assert_eq!(truncate("日本語テキスト", 5), "日本…");
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn wraps_words() {
        assert_eq!(wrap("one two three", 7), vec!["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), vec![""]);
    }
}
