//! The Past sessions pane: the archive, newest first; Enter reads one, `o` opens it in $EDITOR.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use crate::any_impl;
use crate::tui::action::{Effect, Msg};
use crate::tui::app::Shared;
use crate::tui::component::{Column, Cx, Pane};
use crate::tui::keymap::{Command, Context};
use crate::tui::model::*;
use crate::tui::popups::viewer::Viewer;
use crate::tui::strings as S;
use crate::tui::text;
use crate::tui::widgets::{ListView, n_of_m};

pub struct HistoryPane {
    pub feed: Feed<Vec<SessionRow>>,
    pub list: ListView,
}

impl Default for HistoryPane {
    fn default() -> Self {
        HistoryPane {
            feed: Feed::Loading,
            list: ListView::default(),
        }
    }
}

impl HistoryPane {
    fn rows(&self) -> Vec<&SessionRow> {
        self.feed
            .ready()
            .map(|r| {
                r.iter()
                    .filter(|s| {
                        self.list.matches(&format!(
                            "{} {} {} {}",
                            s.id,
                            s.title,
                            s.status,
                            s.work_type.as_deref().unwrap_or("")
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Pane for HistoryPane {
    fn name(&self) -> &'static str {
        "history"
    }
    fn title(&self) -> &'static str {
        S::PANE_HISTORY
    }
    fn status(&self, _sh: &Shared) -> String {
        let total = self.feed.ready().map_or(0, |r| r.len());
        n_of_m(self.list.sel, self.rows().len(), total)
    }
    fn context(&self) -> Context {
        Context::History
    }
    fn typing(&self) -> Option<Context> {
        self.list.filtering.then_some(Context::FilterInput)
    }
    fn column(&self) -> Column {
        Column::Left
    }
    fn weight(&self) -> u16 {
        1
    }
    fn command(&mut self, cmd: Command, cx: &mut Cx) -> bool {
        match cmd {
            Command::Open => {
                if let Some(s) = self.rows().get(self.list.sel) {
                    cx.effect(Effect::ReadSession(s.path.clone()));
                    cx.open(Box::new(Viewer::session(&s.id, &s.path)));
                }
                true
            }
            Command::Edit => {
                if let Some(s) = self.rows().get(self.list.sel) {
                    cx.effect(Effect::OpenEditor {
                        path: s.path.clone(),
                        line: 1,
                    });
                }
                true
            }
            _ => {
                let n = self.rows().len();
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
    fn msg(&mut self, msg: &Msg, _cx: &mut Cx) {
        if let Msg::History(h) = msg {
            self.feed = h.clone();
            let n = self.rows().len();
            self.list.clamp(n);
        }
    }
    fn click(&mut self, row: u16, _cx: &mut Cx) {
        let n = self.rows().len();
        self.list.click(row, n);
    }
    fn draw(&self, sh: &Shared, f: &mut Frame, area: Rect, focused: bool) {
        let t = sh.theme();
        let all = match &self.feed {
            Feed::Ready(r) => r,
            Feed::Loading => {
                let msg = match &sh.session {
                    Feed::Unavailable(w) if !matches!(sh.project, ProjectState::Ready { .. }) => {
                        w.clone()
                    }
                    _ => S::LOADING.into(),
                };
                f.render_widget(
                    Paragraph::new(msg).style(t.dim()).wrap(Wrap { trim: true }),
                    area,
                );
                return;
            }
            Feed::Unavailable(w) => {
                f.render_widget(
                    Paragraph::new(S::unavailable("past sessions", w))
                        .style(t.fg(t.warn))
                        .wrap(Wrap { trim: true }),
                    area,
                );
                return;
            }
        };
        if all.is_empty() {
            f.render_widget(Paragraph::new(S::HISTORY_NONE).style(t.dim()), area);
            return;
        }
        let width = area.width.saturating_sub(1) as usize;
        let lines: Vec<Line<'static>> = self
            .rows()
            .into_iter()
            .map(|s| {
                let kind = s.work_type.clone().unwrap_or_else(|| s.status.clone());
                let right = format!("  {kind}");
                let left_w = width.saturating_sub(s.id.width() + 1 + right.width());
                let title = text::truncate(&s.title, left_w);
                let pad = left_w.saturating_sub(title.width());
                Line::from(vec![
                    Span::styled(format!("{} ", s.id), t.fg(t.accent)),
                    Span::raw(format!("{title}{}", " ".repeat(pad))),
                    Span::styled(right, t.dim()),
                ])
            })
            .collect();
        if lines.is_empty() {
            f.render_widget(
                Paragraph::new(S::filter_none(&self.list.filter_text())).style(t.dim()),
                area,
            );
        }
        self.list.draw(t, f, area, lines, focused);
    }
    any_impl!();
}
