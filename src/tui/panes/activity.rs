//! The Activity pane: the session's log, newest at the bottom, following new entries until you
//! scroll up (by line, from where the view is — `k` after `G` moves one line up, it does not jump).
//! Markdown emphasis is drawn, not shown as asterisks; terminal escapes from agents are removed.

use std::cell::Cell;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::any_impl;
use crate::tui::app::Shared;
use crate::tui::component::{Column, Cx, Pane};
use crate::tui::keymap::{Command, Context};
use crate::tui::model::*;
use crate::tui::strings as S;
use crate::tui::text;
use crate::tui::widgets::{ListView, scrollbar, spans};

#[derive(Default)]
pub struct ActivityPane {
    /// `None` follows the newest entry; `Some(row)` is the first display row shown.
    pub top: Option<usize>,
    /// Filter only (its `sel` is unused: this pane scrolls by rows).
    pub list: ListView,
    total: Cell<usize>,
    room: Cell<usize>,
}

impl ActivityPane {
    /// Display lines of the (filtered) log at `width`.
    fn lines(&self, sh: &Shared, width: usize) -> Vec<Line<'static>> {
        let t = sh.theme();
        let Some(s) = sh.active_session() else {
            return vec![];
        };
        let mut lines = vec![];
        for e in &s.activity {
            let body = text::strip_ansi(&e.body);
            let heading = text::strip_ansi(&e.heading);
            if !self.list.matches(&format!("{} {heading} {body}", e.time)) {
                continue;
            }
            let time = e.time.rsplit(' ').next().unwrap_or(&e.time).to_string();
            let mut head = vec![Span::styled(format!("{time} "), t.fg(t.accent))];
            head.extend(spans(
                text::truncate_pieces(&text::markdown_pieces(&heading), width.saturating_sub(6)),
                t.title(),
                t.title(),
            ));
            lines.push(Line::from(head));
            for raw in body.lines().filter(|l| !l.trim().is_empty()) {
                // Wrap the plain text, then re-apply emphasis per wrapped row.
                let plain: String = text::markdown_pieces(raw)
                    .iter()
                    .map(|p| p.text.as_str())
                    .collect();
                let strong_words: Vec<String> = text::markdown_pieces(raw)
                    .into_iter()
                    .filter(|p| p.strong)
                    .map(|p| p.text)
                    .collect();
                for row in text::wrap(&plain, width.saturating_sub(2)) {
                    let mut pieces = vec![text::Piece {
                        text: row.clone(),
                        strong: false,
                    }];
                    for w in &strong_words {
                        if let Some(i) = row.find(w.as_str()) {
                            pieces = vec![
                                text::Piece {
                                    text: row[..i].to_string(),
                                    strong: false,
                                },
                                text::Piece {
                                    text: w.clone(),
                                    strong: true,
                                },
                                text::Piece {
                                    text: row[i + w.len()..].to_string(),
                                    strong: false,
                                },
                            ];
                            break;
                        }
                    }
                    let mut l = vec![Span::raw("  ")];
                    l.extend(spans(
                        pieces,
                        t.base(),
                        t.base().add_modifier(ratatui::style::Modifier::BOLD),
                    ));
                    lines.push(Line::from(l));
                }
            }
        }
        lines
    }

    fn max_top(&self) -> usize {
        self.total.get().saturating_sub(self.room.get())
    }

    fn scroll(&mut self, delta: isize) {
        let cur = self.top.unwrap_or(self.max_top()) as isize;
        let next = (cur + delta).max(0) as usize;
        self.top = if next >= self.max_top() {
            None
        } else {
            Some(next)
        };
    }
}

impl Pane for ActivityPane {
    fn name(&self) -> &'static str {
        "activity"
    }
    fn title(&self) -> &'static str {
        S::PANE_ACTIVITY
    }
    fn status(&self, sh: &Shared) -> String {
        let n = sh.active_session().map_or(0, |s| s.activity.len());
        let mut s = if n > 0 {
            format!("{n} entries")
        } else {
            String::new()
        };
        if self.list.has_filter() {
            s.push_str(&format!(" · filter {:?}", self.list.filter_text()));
        }
        if self.top.is_some() {
            s.push_str(&format!(" · {}", S::ACTIVITY_PAUSED));
        }
        s
    }
    fn context(&self) -> Context {
        Context::Activity
    }
    fn typing(&self) -> Option<Context> {
        self.list.filtering.then_some(Context::FilterInput)
    }
    fn column(&self) -> Column {
        Column::Left
    }
    fn weight(&self) -> u16 {
        3
    }
    fn command(&mut self, cmd: Command, _cx: &mut Cx) -> bool {
        let page = self.room.get().max(1) as isize;
        match cmd {
            Command::Up => self.scroll(-1),
            Command::Down => self.scroll(1),
            Command::PageUp => self.scroll(-page),
            Command::PageDown => self.scroll(page),
            Command::Top => self.top = Some(0),
            Command::Bottom => self.top = None,
            Command::Filter => {
                self.list.filtering = true;
                self.list.filter.set_focused(true);
            }
            _ => return false,
        }
        true
    }
    fn key(&mut self, key: &KeyEvent, cx: &mut Cx) -> bool {
        if self.list.filtering {
            if self.list.filter_key(&cx.sh.keymap, key) {
                self.top = None;
            }
            return true;
        }
        false
    }
    fn draw(&self, sh: &Shared, f: &mut Frame, area: Rect, focused: bool) {
        let t = sh.theme();
        let _ = focused;
        if sh.active_session().is_none() {
            let msg = match &sh.session {
                Feed::Unavailable(w) => S::unavailable("the log is", w),
                Feed::Loading => S::LOADING.into(),
                _ => S::ACTIVITY_EMPTY.into(),
            };
            f.render_widget(
                Paragraph::new(msg).style(t.dim()).wrap(Wrap { trim: true }),
                area,
            );
            return;
        }
        let mut area = area;
        if self.list.filtering || self.list.has_filter() {
            let row = Rect::new(area.x, area.bottom().saturating_sub(1), area.width, 1);
            area.height = area.height.saturating_sub(1);
            f.render_widget(Paragraph::new(Span::styled("/ ", t.fg(t.accent))), row);
            self.list.filter.draw(
                f,
                Rect::new(row.x + 2, row.y, row.width.saturating_sub(2), 1),
            );
        }
        let width = area.width.saturating_sub(1) as usize;
        let lines = self.lines(sh, width);
        let h = area.height as usize;
        self.total.set(lines.len());
        self.room.set(h);
        let top = match self.top {
            None => lines.len().saturating_sub(h),
            Some(i) => i.min(lines.len().saturating_sub(h)),
        };
        let len = lines.len();
        if lines.is_empty() {
            let msg = if self.list.has_filter() {
                S::filter_none(&self.list.filter_text())
            } else {
                "(empty)".into()
            };
            f.render_widget(Paragraph::new(msg).style(t.dim()), area);
            return;
        }
        let shown: Vec<Line> = lines.into_iter().skip(top).take(h).collect();
        f.render_widget(
            Paragraph::new(shown),
            Rect::new(area.x, area.y, area.width.saturating_sub(1), area.height),
        );
        scrollbar(t, f, area, len, top);
    }
    any_impl!();
}
