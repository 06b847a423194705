//! The Commits pane: the session range, newest first; Enter shows a commit's diff.

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

pub struct CommitsPane {
    pub feed: Feed<Vec<CommitRow>>,
    pub list: ListView,
}

impl Default for CommitsPane {
    fn default() -> Self {
        CommitsPane {
            feed: Feed::Loading,
            list: ListView::default(),
        }
    }
}

/// "now", "5 min ago", "3 h ago", "2 d ago".
pub fn age(
    now: chrono::DateTime<chrono::FixedOffset>,
    then: chrono::DateTime<chrono::FixedOffset>,
) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        s if s < 60 => "now".into(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}

impl CommitsPane {
    fn rows(&self) -> Vec<&CommitRow> {
        self.feed
            .ready()
            .map(|r| {
                r.iter()
                    .filter(|c| self.list.matches(&format!("{} {}", c.short, c.subject)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Pane for CommitsPane {
    fn name(&self) -> &'static str {
        "commits"
    }
    fn title(&self) -> &'static str {
        S::PANE_COMMITS
    }
    fn status(&self, _sh: &Shared) -> String {
        let total = self.feed.ready().map_or(0, |r| r.len());
        n_of_m(self.list.sel, self.rows().len(), total)
    }
    fn context(&self) -> Context {
        Context::Commits
    }
    fn typing(&self) -> Option<Context> {
        self.list.filtering.then_some(Context::FilterInput)
    }
    fn column(&self) -> Column {
        Column::Right
    }
    fn command(&mut self, cmd: Command, cx: &mut Cx) -> bool {
        match cmd {
            Command::Open => {
                if let Some(c) = self.rows().get(self.list.sel) {
                    cx.effect(Effect::Diff(c.sha.clone()));
                    cx.open(Box::new(Viewer::diff(&c.sha, &c.short, &c.subject)));
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
        if let Msg::Commits(c) = msg {
            self.feed = c.clone();
            let n = self.rows().len();
            self.list.clamp(n);
        }
    }
    fn click(&mut self, row: u16, _cx: &mut Cx) {
        let n = self.rows().len();
        self.list.click(row, n);
    }
    fn clock(&self, sh: &Shared) -> String {
        self.feed
            .ready()
            .into_iter()
            .flatten()
            .take(40)
            .map(|c| age(sh.now, c.time))
            .collect::<Vec<_>>()
            .join(",")
    }
    fn draw(&self, sh: &Shared, f: &mut Frame, area: Rect, focused: bool) {
        let t = sh.theme();
        let rows = match &self.feed {
            Feed::Ready(rows) => rows,
            Feed::Loading => {
                let msg = match &sh.session {
                    Feed::Unavailable(w) => w.clone(),
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
                    Paragraph::new(S::unavailable("commits", w))
                        .style(t.fg(t.warn))
                        .wrap(Wrap { trim: true }),
                    area,
                );
                return;
            }
        };
        if rows.is_empty() {
            let msg = if sh.active_session().is_some() {
                S::COMMITS_NONE
            } else {
                S::COMMITS_NO_SESSION
            };
            f.render_widget(
                Paragraph::new(msg).style(t.dim()).wrap(Wrap { trim: true }),
                area,
            );
            return;
        }
        let width = area.width.saturating_sub(1) as usize;
        let lines: Vec<Line<'static>> = self
            .rows()
            .into_iter()
            .map(|c| {
                let files = if c.files == 1 {
                    "1 file".to_string()
                } else {
                    format!("{} files", c.files)
                };
                let right = format!("  {} · {files}", age(sh.now, c.time));
                let right = if width > 50 { right } else { String::new() };
                let left_w = width.saturating_sub(right.width() + c.short.width() + 1);
                let subject = text::truncate(&c.subject, left_w);
                let pad = left_w.saturating_sub(subject.width());
                Line::from(vec![
                    Span::styled(format!("{} ", c.short), t.fg(t.sha)),
                    Span::raw(format!("{subject}{}", " ".repeat(pad))),
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
