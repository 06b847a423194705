//! A scrollable text popup: help, the message log, config problems, a commit's diff, an archived
//! session, the full-screen scry preview. Lines are wrapped before they are counted, so the
//! last line is always reachable; a scrollbar shows where you are.

use std::path::{Path, PathBuf};

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::any_impl;
use crate::tui::action::Msg;
use crate::tui::app::{Level, LogLine, Shared};
use crate::tui::component::{Cx, Flow, Popup};
use crate::tui::keymap::{Command, Context, Keymap};
use crate::tui::strings as S;
use crate::tui::text;
use crate::tui::theme::Theme;
use crate::tui::widgets::{popup_frame, popup_width, scrollbar, spans, wrap_lines};

/// How a line is coloured (resolved against the theme at draw time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Text,
    Dim,
    Heading,
    Key,
    Added,
    Removed,
    Hunk,
    Error,
    Warn,
    Ok,
    /// Text with the query's words highlighted.
    Match,
}

#[derive(Debug, Clone, PartialEq)]
enum Source {
    Fixed,
    Diff(String),
    Session(PathBuf),
}

pub struct Viewer {
    pub title: String,
    pub lines: Vec<(Role, String)>,
    pub scroll: usize,
    /// Fill the screen (the preview) instead of a centred box.
    full: bool,
    source: Source,
    query: String,
    last: std::cell::Cell<(usize, usize)>,
}

impl Viewer {
    fn new(title: &str, lines: Vec<(Role, String)>) -> Viewer {
        Viewer {
            title: title.to_string(),
            lines,
            scroll: 0,
            full: false,
            source: Source::Fixed,
            query: String::new(),
            last: std::cell::Cell::new((0, 1)),
        }
    }

    pub fn text(title: &str, lines: Vec<String>) -> Viewer {
        Viewer::new(title, lines.into_iter().map(|l| (Role::Text, l)).collect())
    }

    /// Help for the contexts in effect first, then every other context.
    pub fn help(km: &Keymap, first: &[Context]) -> Viewer {
        let mut groups = km.help();
        groups.sort_by_key(|(c, _)| first.iter().position(|f| f == c).unwrap_or(usize::MAX));
        let mut lines = vec![];
        for (ctx, rows) in groups {
            if !lines.is_empty() {
                lines.push((Role::Text, String::new()));
            }
            lines.push((Role::Heading, S::context_title(ctx).to_string()));
            for (keys, cmd) in rows {
                lines.push((
                    Role::Key,
                    format!("{keys:>22}  {}  [{}]", S::describe(cmd).0, cmd.name()),
                ));
            }
        }
        lines.push((Role::Text, String::new()));
        for l in S::HELP_FOOTER {
            lines.push((Role::Dim, l.to_string()));
        }
        Viewer::new(S::HELP_TITLE, lines)
    }

    /// Every toast and error so far, newest last, in full.
    pub fn messages(log: &[LogLine]) -> Viewer {
        let lines = log
            .iter()
            .map(|l| {
                let role = match l.level {
                    Level::Error => Role::Error,
                    Level::Warn => Role::Warn,
                    Level::Ok => Role::Ok,
                    Level::Info => Role::Text,
                };
                (role, format!("{} {}", l.time.format("%H:%M:%S"), l.text))
            })
            .collect::<Vec<_>>();
        let mut v = Viewer::new(S::MESSAGES_TITLE, lines);
        v.scroll = usize::MAX / 2;
        v
    }

    pub fn diff(sha: &str, short: &str, subject: &str) -> Viewer {
        let mut v = Viewer::new(
            &S::diff_title(short),
            vec![
                (Role::Heading, subject.to_string()),
                (Role::Dim, S::DIFF_LOADING.into()),
            ],
        );
        v.source = Source::Diff(sha.to_string());
        v.full = true;
        v
    }

    pub fn session(id: &str, path: &Path) -> Viewer {
        let mut v = Viewer::new(&S::session_title(id), vec![(Role::Dim, S::LOADING.into())]);
        v.source = Source::Session(path.to_path_buf());
        v.full = true;
        v
    }

    pub fn preview(title: &str, lines: Vec<String>, query: &str, first_line: usize) -> Viewer {
        let width = (first_line + lines.len()).to_string().len();
        let lines = lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                (
                    Role::Match,
                    format!("{:>width$} {}", first_line + i, text::strip_ansi(&l)),
                )
            })
            .collect();
        let mut v = Viewer::new(title, lines);
        v.full = true;
        v.query = query.to_string();
        v
    }

    fn style(t: &Theme, role: Role) -> Style {
        match role {
            Role::Text | Role::Match => Style::default().fg(t.text),
            Role::Dim => t.dim(),
            Role::Heading => t.title(),
            Role::Key => t.fg(t.key),
            Role::Added => t.fg(t.ok),
            Role::Removed => t.fg(t.error),
            Role::Hunk => t.fg(t.info),
            Role::Error => t.fg(t.error),
            Role::Warn => t.fg(t.warn),
            Role::Ok => t.fg(t.ok),
        }
    }

    /// Scroll by `delta` rows within the last drawn size.
    fn scroll_by(&mut self, delta: isize) {
        let (len, room) = self.last.get();
        let max = len.saturating_sub(room);
        let cur = self.scroll.min(max) as isize;
        self.scroll = (cur + delta).clamp(0, max as isize) as usize;
    }
}

fn diff_role(l: &str) -> Role {
    if l.starts_with("+++") || l.starts_with("---") || l.starts_with("diff ") {
        Role::Heading
    } else if l.starts_with('+') {
        Role::Added
    } else if l.starts_with('-') {
        Role::Removed
    } else if l.starts_with("@@") {
        Role::Hunk
    } else {
        Role::Text
    }
}

impl Popup for Viewer {
    fn name(&self) -> &'static str {
        "viewer"
    }
    fn context(&self) -> Context {
        Context::Viewer
    }
    fn key(&mut self, key: &KeyEvent, cx: &mut Cx) -> Flow {
        let page = self.last.get().1.max(1) as isize;
        match cx.sh.keymap.lookup(Context::Viewer, key) {
            Some(Command::Up) => self.scroll_by(-1),
            Some(Command::Down) => self.scroll_by(1),
            Some(Command::PageUp) => self.scroll_by(-page),
            Some(Command::PageDown) => self.scroll_by(page),
            Some(Command::Top) => self.scroll = 0,
            Some(Command::Bottom) => self.scroll_by(isize::MAX / 2),
            Some(Command::Close) => return Flow::Close,
            _ => {
                if cx.sh.keymap.lookup(Context::Scry, key) == Some(Command::Preview) {
                    return Flow::Close;
                }
            }
        }
        Flow::Keep
    }
    fn msg(&mut self, msg: &Msg, _cx: &mut Cx) {
        match (msg, &self.source) {
            (Msg::Diff { sha, result }, Source::Diff(want)) if sha == want => {
                let head = self.lines.first().cloned();
                self.lines = head.into_iter().collect();
                match result {
                    Ok(lines) => self
                        .lines
                        .extend(lines.iter().map(|l| (diff_role(l), l.clone()))),
                    Err(e) => self.lines.push((Role::Error, e.clone())),
                }
            }
            (Msg::SessionText { path, result }, Source::Session(want)) if path == want => {
                self.lines = match result {
                    Ok(lines) => lines
                        .iter()
                        .map(|l| {
                            let role = if l.starts_with('#') {
                                Role::Heading
                            } else {
                                Role::Text
                            };
                            (role, text::strip_ansi(l))
                        })
                        .collect(),
                    Err(e) => vec![(Role::Error, e.clone())],
                };
            }
            _ => {}
        }
    }
    fn draw(&self, sh: &Shared, f: &mut Frame, area: Rect) {
        let t = sh.theme();
        let (w, max_h) = if self.full {
            (area.width.saturating_sub(2), area.height.saturating_sub(2))
        } else {
            (popup_width(area, 96), area.height.saturating_sub(4))
        };
        let body_w = w.saturating_sub(1);
        let mut rows: Vec<(Role, String)> = vec![];
        for (role, l) in &self.lines {
            for r in wrap_lines(std::slice::from_ref(l), body_w) {
                rows.push((*role, r));
            }
        }
        let close = sh.keymap.hint_in(Context::Viewer, Command::Close);
        let foot = S::viewer_hint(&close);
        let room = max_h.saturating_sub(2) as usize;
        let h = (rows.len().min(room) as u16 + 2).min(max_h);
        let inner = popup_frame(t, f, area, &self.title, w, h);
        let body = Rect::new(
            inner.x,
            inner.y,
            inner.width,
            inner.height.saturating_sub(2),
        );
        let room = body.height as usize;
        let max = rows.len().saturating_sub(room);
        let top = self.scroll.min(max);
        self.last.set((rows.len(), room));
        let strong = t.fg(t.accent).add_modifier(Modifier::BOLD);
        let shown: Vec<Line> = rows
            .iter()
            .skip(top)
            .take(room)
            .map(|(role, l)| {
                let base = Viewer::style(t, *role);
                if *role == Role::Match && !self.query.is_empty() {
                    Line::from(spans(text::highlight_terms(l, &self.query), base, strong))
                } else {
                    Line::styled(l.clone(), base)
                }
            })
            .collect();
        f.render_widget(
            Paragraph::new(shown),
            Rect::new(body.x, body.y, body.width.saturating_sub(1), body.height),
        );
        scrollbar(t, f, body, rows.len(), top);
        let pos = if rows.len() > room {
            format!(
                "  {}-{} of {}",
                top + 1,
                (top + room).min(rows.len()),
                rows.len()
            )
        } else {
            String::new()
        };
        let foot_area = Rect::new(inner.x, inner.bottom().saturating_sub(1), inner.width, 1);
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(foot, t.dim()),
                Span::styled(pos, t.dim()),
            ])),
            foot_area,
        );
    }
    any_impl!();
}
