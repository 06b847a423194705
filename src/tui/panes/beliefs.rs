//! The Beliefs pane: this session's beliefs first (●), then the rest, most recently revised
//! first; a preview of the selection; Enter or `o` opens the file in $EDITOR.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use crate::any_impl;
use crate::tui::action::{Effect, Msg};
use crate::tui::app::Shared;
use crate::tui::component::{Column, Cx, Pane};
use crate::tui::keymap::{Command, Context};
use crate::tui::model::*;
use crate::tui::strings as S;
use crate::tui::text;
use crate::tui::widgets::{ListView, n_of_m};

#[derive(Default)]
pub struct BeliefsPane {
    pub list: ListView,
}

impl BeliefsPane {
    fn rows<'a>(&self, sh: &'a Shared) -> Vec<&'a BeliefRow> {
        sh.beliefs
            .ready()
            .map(|r| {
                r.iter()
                    .filter(|b| self.list.matches(&format!("{} {}", b.id, b.statement)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Pane for BeliefsPane {
    fn name(&self) -> &'static str {
        "beliefs"
    }
    fn title(&self) -> &'static str {
        S::PANE_BELIEFS
    }
    fn status(&self, sh: &Shared) -> String {
        let Some(all) = sh.beliefs.ready() else {
            return String::new();
        };
        let mine = all.iter().filter(|b| b.this_session).count();
        let mut s = n_of_m(self.list.sel, self.rows(sh).len(), all.len());
        if mine > 0 {
            s.push_str(&format!(" · {mine} this session"));
        }
        s
    }
    fn context(&self) -> Context {
        Context::Beliefs
    }
    fn typing(&self) -> Option<Context> {
        self.list.filtering.then_some(Context::FilterInput)
    }
    fn column(&self) -> Column {
        Column::Right
    }
    fn command(&mut self, cmd: Command, cx: &mut Cx) -> bool {
        match cmd {
            Command::Open | Command::Edit => {
                if let Some(b) = self.rows(cx.sh).get(self.list.sel) {
                    let path = b.path.clone();
                    cx.effect(Effect::OpenEditor { path, line: 1 });
                }
                true
            }
            _ => {
                let n = self.rows(cx.sh).len();
                self.list.command(cmd, n)
            }
        }
    }
    fn key(&mut self, key: &KeyEvent, cx: &mut Cx) -> bool {
        if self.list.filtering {
            self.list.filter_key(&cx.sh.keymap, key);
            return true;
        }
        false
    }
    fn msg(&mut self, msg: &Msg, cx: &mut Cx) {
        if let Msg::Beliefs(_) = msg {
            let n = self.rows(cx.sh).len();
            self.list.clamp(n);
        }
    }
    fn click(&mut self, row: u16, cx: &mut Cx) {
        let n = self.rows(cx.sh).len();
        self.list.click(row, n);
    }
    fn draw(&self, sh: &Shared, f: &mut Frame, area: Rect, focused: bool) {
        let t = sh.theme();
        let all = match &sh.beliefs {
            Feed::Ready(r) => r,
            Feed::Loading => {
                f.render_widget(Paragraph::new(S::LOADING).style(t.dim()), area);
                return;
            }
            Feed::Unavailable(w) => {
                f.render_widget(
                    Paragraph::new(S::unavailable("beliefs", w))
                        .style(t.fg(t.warn))
                        .wrap(Wrap { trim: true }),
                    area,
                );
                return;
            }
        };
        if all.is_empty() {
            let k = sh.keymap.hint(Command::Belief);
            f.render_widget(
                Paragraph::new(S::beliefs_none(&k))
                    .style(t.dim())
                    .wrap(Wrap { trim: true }),
                area,
            );
            return;
        }
        let rows = self.rows(sh);
        let preview_h = if area.height >= 9 { 3 } else { 0 };
        let [list, prev] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(preview_h)]).areas(area);
        let width = list.width.saturating_sub(1) as usize;
        let lines: Vec<Line<'static>> = rows
            .iter()
            .map(|b| {
                let mark = if b.this_session { "● " } else { "  " };
                let rest = width.saturating_sub(b.id.width() + 4);
                Line::from(vec![
                    Span::styled(mark, t.fg(t.ok)),
                    Span::styled(b.id.clone(), t.fg(t.accent)),
                    Span::styled(format!("  {}", text::truncate(&b.statement, rest)), t.dim()),
                ])
            })
            .collect();
        if lines.is_empty() {
            f.render_widget(
                Paragraph::new(S::filter_none(&self.list.filter_text())).style(t.dim()),
                list,
            );
        }
        self.list.draw(t, f, list, lines, focused);
        if preview_h > 0
            && let Some(b) = rows.get(self.list.sel)
        {
            let lines = vec![
                Line::styled(format!("─ {} · {} ", b.id, b.entrenchment), t.fg(t.border)),
                Line::raw(b.statement.clone()),
            ];
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), prev);
        }
    }
    any_impl!();
}
