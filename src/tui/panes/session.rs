//! The Session pane: title (wrapped, never hiding a goal), id · branch · llm · elapsed, the
//! agent's last action, and the goals as a list (`space` toggles the selected one — only here).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use crate::any_impl;
use crate::tui::action::Op;
use crate::tui::app::{Level, Shared};
use crate::tui::component::{Column, Cx, Pane};
use crate::tui::keymap::{Command, Context};
use crate::tui::model::*;
use crate::tui::strings as S;
use crate::tui::text;
use crate::tui::widgets::{ListView, n_of_m, wrap_lines};

#[derive(Default)]
pub struct SessionPane {
    pub list: ListView,
}

/// "12m", "1h 05m".
pub fn elapsed(
    now: chrono::DateTime<chrono::FixedOffset>,
    then: chrono::DateTime<chrono::FixedOffset>,
) -> String {
    let mins = (now - then).num_minutes().max(0);
    if mins < 60 {
        format!("{mins} min")
    } else {
        format!("{}h {:02}m", mins / 60, mins % 60)
    }
}

impl SessionPane {
    fn goals<'a>(&self, sh: &'a Shared) -> Vec<&'a Goal> {
        sh.active_session()
            .map(|s| {
                s.goals
                    .iter()
                    .filter(|g| self.list.matches(&g.text))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The header lines above the goals, wrapped to `width`.
    fn header(&self, sh: &Shared, width: u16) -> Vec<Line<'static>> {
        let t = sh.theme();
        let mut lines: Vec<Line> = vec![];
        let Some(s) = sh.active_session() else {
            return lines;
        };
        for l in wrap_lines(std::slice::from_ref(&s.title), width) {
            lines.push(Line::styled(l, t.title()));
        }
        let mut meta = vec![s.id.clone()];
        for part in [&s.branch, &s.llm] {
            if !part.is_empty() {
                meta.push(part.clone());
            }
        }
        if let Some(st) = s.started {
            meta.push(elapsed(sh.now, st));
        }
        if s.stale {
            meta.push("stale".into());
        }
        for l in wrap_lines(&[meta.join(" · ")], width) {
            lines.push(Line::styled(l, t.fg(t.accent)));
        }
        if let Some(tv) = &sh.transcript {
            let mut text = format!("Prompts {}", tv.prompt_count);
            if let Some((time, agent, what)) = &tv.last_action {
                text.push_str(&format!(" · {} {agent}: {what}", time.format("%H:%M")));
            }
            lines.push(Line::styled(text::truncate(&text, width as usize), t.dim()));
        }
        let done = s.goals.iter().filter(|g| g.done).count();
        lines.push(Line::styled(
            format!("Goals {done}/{}", s.goals.len()),
            t.dim().add_modifier(Modifier::BOLD),
        ));
        if s.goals.is_empty() {
            lines.push(Line::styled(
                S::no_goals(&sh.keymap.hint(Command::Goal)),
                t.dim(),
            ));
        }
        lines
    }
}

impl Pane for SessionPane {
    fn name(&self) -> &'static str {
        "session"
    }
    fn title(&self) -> &'static str {
        S::PANE_SESSION
    }
    fn status(&self, sh: &Shared) -> String {
        let total = sh.active_session().map_or(0, |s| s.goals.len());
        if total == 0 || !self.list.has_filter() && total < 2 {
            return String::new();
        }
        format!(
            "goal {}",
            n_of_m(self.list.sel, self.goals(sh).len(), total)
        )
    }
    fn context(&self) -> Context {
        Context::Session
    }
    fn typing(&self) -> Option<Context> {
        self.list.filtering.then_some(Context::FilterInput)
    }
    fn column(&self) -> Column {
        Column::Left
    }
    fn min_height(&self, sh: &Shared, width: u16) -> u16 {
        let inner = width.saturating_sub(2);
        (self.header(sh, inner).len() as u16 + 2).clamp(4, 8)
    }
    fn want_height(&self, sh: &Shared, width: u16) -> Option<u16> {
        let inner = width.saturating_sub(2);
        let goals = sh.active_session().map_or(0, |s| s.goals.len()) as u16;
        let filter = u16::from(self.list.filtering || self.list.has_filter());
        Some(self.header(sh, inner).len() as u16 + goals + filter + 2).map(|h| h.max(5))
    }
    fn command(&mut self, cmd: Command, cx: &mut Cx) -> bool {
        let n = self.goals(cx.sh).len();
        match cmd {
            Command::ToggleGoal => {
                let goal = self.goals(cx.sh).get(self.list.sel).map(|g| g.index);
                match (cx.sh.active_session().is_some(), goal) {
                    (true, Some(index)) => {
                        cx.op(Op::ToggleGoal(index));
                    }
                    (true, None) => {
                        let k = cx.sh.keymap.hint(Command::Goal);
                        cx.toast(Level::Info, S::no_goals_yet(&k));
                    }
                    (false, _) => {
                        let k = cx.sh.keymap.hint(Command::StartSession);
                        cx.toast(Level::Warn, S::need_session(&k));
                    }
                }
                true
            }
            _ => self.list.command(cmd, n),
        }
    }
    fn key(&mut self, key: &crossterm::event::KeyEvent, cx: &mut Cx) -> bool {
        if self.list.filtering {
            self.list.filter_key(&cx.sh.keymap, key);
            return true;
        }
        false
    }
    fn msg(&mut self, msg: &crate::tui::action::Msg, cx: &mut Cx) {
        if let crate::tui::action::Msg::Session(_) = msg {
            let n = self.goals(cx.sh).len();
            self.list.clamp(n);
        }
    }
    fn click(&mut self, row: u16, cx: &mut Cx) {
        let width = cx.sh.size.0;
        let header = self.header(cx.sh, width).len() as u16;
        if row >= header {
            let n = self.goals(cx.sh).len();
            self.list.click(row - header, n);
        }
    }
    fn clock(&self, sh: &Shared) -> String {
        sh.active_session()
            .and_then(|s| s.started)
            .map(|st| (sh.now - st).num_minutes().to_string())
            .unwrap_or_default()
    }
    fn draw(&self, sh: &Shared, f: &mut Frame, area: Rect, focused: bool) {
        let t = sh.theme();
        let message = |text: String, warn: bool| {
            Paragraph::new(text)
                .style(if warn { t.fg(t.warn) } else { t.dim() })
                .wrap(Wrap { trim: false })
        };
        match (&sh.project, &sh.session) {
            (ProjectState::NotInitialized { root }, _) => {
                let k = sh.keymap.hint(Command::StartSession);
                f.render_widget(
                    message(S::not_initialized(&root.display().to_string(), &k), true),
                    area,
                );
                return;
            }
            (_, Feed::Loading) => {
                f.render_widget(message(S::LOADING.into(), false), area);
                return;
            }
            (_, Feed::Unavailable(why)) => {
                let k = sh.keymap.hint(Command::Recover);
                f.render_widget(message(S::session_unreadable(why, &k), true), area);
                return;
            }
            (_, Feed::Ready(None)) => {
                let k = sh.keymap.hint(Command::StartSession);
                f.render_widget(message(S::no_session(&k), false), area);
                return;
            }
            (_, Feed::Ready(Some(_))) => {}
        }
        let header = self.header(sh, area.width);
        let hh = (header.len() as u16).min(area.height);
        f.render_widget(
            Paragraph::new(header),
            Rect::new(area.x, area.y, area.width, hh),
        );
        let list_area = Rect::new(area.x, area.y + hh, area.width, area.height - hh);
        let width = list_area.width.saturating_sub(1) as usize;
        let rows: Vec<Line<'static>> = self
            .goals(sh)
            .into_iter()
            .map(|g| {
                let mark = if g.done { "[x] " } else { "[ ] " };
                let style = if g.done { t.fg(t.ok) } else { t.base() };
                let text = text::truncate(&g.text, width.saturating_sub(mark.width()));
                Line::from(vec![Span::styled(mark, style), Span::styled(text, style)])
            })
            .collect();
        if rows.is_empty() && self.list.has_filter() {
            f.render_widget(
                message(S::filter_none(&self.list.filter_text()), false),
                list_area,
            );
            return;
        }
        self.list.draw(t, f, list_area, rows, focused);
    }
    any_impl!();
}
