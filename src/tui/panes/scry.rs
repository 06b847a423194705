//! The Scry pane: the query input, a coverage gauge while the index is partly semantic, the
//! results (kind, score, `path:line` always whole, title with the query's words highlighted)
//! and a preview of the selected result's lines. Enter opens the selected result in $EDITOR at
//! its line — it never re-runs the query. While an answer is pending the list says
//! "searching…" instead of showing old results, and navigation keys typed meanwhile wait for
//! the answer (App holds them), so `Down Down Enter` opens the row you meant.

use std::path::PathBuf;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use crate::any_impl;
use crate::tui::action::{Effect, Msg};
use crate::tui::app::{Level, Shared};
use crate::tui::component::{Column, Cx, Pane};
use crate::tui::field::{FieldEdit, TextField};
use crate::tui::keymap::{Command, Context};
use crate::tui::model::*;
use crate::tui::popups::viewer::Viewer;
use crate::tui::strings as S;
use crate::tui::text;
use crate::tui::widgets::{ListView, n_of_m, spans};

const HISTORY_MAX: usize = 100;

#[derive(Default)]
pub struct ScryPane {
    pub input: TextField,
    pub editing: bool,
    pub seq: u64,
    pub view: Option<ScryView>,
    pub error: Option<String>,
    /// An answer for the current text is on its way.
    pub waiting: bool,
    pub list: ListView,
    /// All registered projects instead of this one.
    pub all: bool,
    /// Position while browsing the query history (from the newest).
    history_pos: Option<usize>,
    /// Lines of the selected result's region: (path, line, lines).
    preview: Option<(PathBuf, usize, Vec<String>)>,
}

impl ScryPane {
    pub fn scope_label(&self) -> &'static str {
        if self.all { S::SCRY_ALL } else { S::SCRY_HERE }
    }

    /// Navigation that must wait for a pending answer (else it would act on nothing).
    pub fn holds(&self, cmd: Command) -> bool {
        self.waiting
            && matches!(
                cmd,
                Command::Up
                    | Command::Down
                    | Command::PageUp
                    | Command::PageDown
                    | Command::Top
                    | Command::Bottom
                    | Command::Open
                    | Command::Preview
            )
    }

    fn hits(&self) -> &[ScryHitView] {
        self.view.as_ref().map_or(&[], |v| v.hits.as_slice())
    }

    fn selected(&self) -> Option<&ScryHitView> {
        if self.waiting {
            return None;
        }
        self.hits().get(self.list.sel)
    }

    fn send(&mut self, cx: &mut Cx) {
        let q = self.input.text().trim().to_string();
        self.seq += 1;
        self.list.sel = 0;
        self.preview = None;
        if q.is_empty() {
            self.view = None;
            self.error = None;
            self.waiting = false;
            return;
        }
        self.waiting = true;
        cx.effect(Effect::Scry {
            seq: self.seq,
            query: q,
            all: self.all,
        });
    }

    fn remember(&mut self, cx: &mut Cx) {
        let q = self.input.text().trim().to_string();
        if q.is_empty() {
            return;
        }
        let h = &mut cx.sh.scry_history;
        h.retain(|x| *x != q);
        h.push(q);
        if h.len() > HISTORY_MAX {
            h.remove(0);
        }
        self.history_pos = None;
        let state = cx.sh.ui_state();
        cx.effect(Effect::SaveState(state));
    }

    fn history(&mut self, older: bool, cx: &mut Cx) {
        let h = &cx.sh.scry_history;
        if h.is_empty() {
            return;
        }
        let pos = match (self.history_pos, older) {
            (None, true) => Some(0),
            (None, false) => None,
            (Some(p), true) => Some((p + 1).min(h.len() - 1)),
            (Some(0), false) => None,
            (Some(p), false) => Some(p - 1),
        };
        self.history_pos = pos;
        let text = pos.map(|p| h[h.len() - 1 - p].clone()).unwrap_or_default();
        self.input.set_text(&text);
        self.send(cx);
    }

    fn open(&mut self, cx: &mut Cx) {
        let Some(h) = self.selected().cloned() else {
            return;
        };
        self.remember(cx);
        if h.kind == "commit" {
            cx.effect(Effect::Diff(h.path.clone()));
            cx.open(Box::new(Viewer::diff(&h.path, &h.path, &h.title)));
            return;
        }
        let Some(root) = h.root.clone().or_else(|| cx.sh.project_root().cloned()) else {
            return;
        };
        cx.effect(Effect::OpenEditor {
            path: root.join(&h.path),
            line: h.line.max(1),
        });
    }

    fn request_preview(&mut self, cx: &mut Cx) {
        let Some(h) = self.selected().cloned() else {
            return;
        };
        if h.kind == "commit" {
            return;
        }
        let Some(root) = h.root.clone().or_else(|| cx.sh.project_root().cloned()) else {
            return;
        };
        let path = root.join(&h.path);
        if self
            .preview
            .as_ref()
            .is_some_and(|(p, l, _)| *p == path && *l == h.line)
        {
            return;
        }
        cx.effect(Effect::Preview {
            path,
            line: h.line.max(1),
            line_end: h.line_end.max(h.line),
        });
    }

    fn full_preview(&mut self, cx: &mut Cx) {
        let Some(h) = self.selected().cloned() else {
            return;
        };
        let query = self.input.text();
        let lines = match &self.preview {
            Some((_, l, lines)) if *l == h.line => lines.clone(),
            _ => h.snippet.lines().map(str::to_string).collect(),
        };
        let title = S::preview_title(&format!("{}:{}", h.path, h.line));
        cx.open(Box::new(Viewer::preview(&title, lines, &query, h.line)));
    }

    fn moved(&mut self, cx: &mut Cx) {
        self.request_preview(cx);
    }

    /// The coverage gauge: (embedded, total) from the answer, else the daemon's index job.
    fn gauge(&self, sh: &Shared) -> Option<(usize, usize, String)> {
        if let IndexState::Building { phase, done, total } = &sh.index
            && *total > 0
        {
            return Some((*done, *total, phase.clone()));
        }
        let (e, t) = self.view.as_ref()?.coverage?;
        (t > 0 && e < t).then(|| (e, t, "semantic".into()))
    }
}

impl Pane for ScryPane {
    fn name(&self) -> &'static str {
        "scry"
    }
    fn title(&self) -> &'static str {
        S::PANE_SCRY
    }
    fn status(&self, _sh: &Shared) -> String {
        let mut s = self.scope_label().to_string();
        if let Some(v) = &self.view
            && !self.waiting
        {
            s.push_str(&format!(" · {} · {} ms", v.mode, v.took_ms));
            if let Some(b) = &v.backend {
                s.push_str(&format!(" · {b}"));
            }
            let n = v.hits.len();
            if n > 0 {
                s.push_str(&format!(" · {}", n_of_m(self.list.sel, n, n)));
            }
        }
        s
    }
    fn context(&self) -> Context {
        Context::Scry
    }
    fn typing(&self) -> Option<Context> {
        self.editing.then_some(Context::ScryInput)
    }
    fn column(&self) -> Column {
        Column::Right
    }
    fn weight(&self) -> u16 {
        4
    }
    fn start_typing(&mut self, _cx: &mut Cx) {
        self.editing = true;
        self.input.set_focused(true);
    }
    fn command(&mut self, cmd: Command, cx: &mut Cx) -> bool {
        let n = if self.waiting { 0 } else { self.hits().len() };
        match cmd {
            Command::Filter => self.start_typing(cx),
            Command::Open => self.open(cx),
            Command::Preview => self.full_preview(cx),
            Command::Leave => {
                self.editing = false;
                self.input.set_focused(false);
                self.remember(cx);
            }
            Command::ScryScope => {
                self.all = !self.all;
                let label = self.scope_label();
                cx.toast(Level::Info, S::scope_now(label));
                self.send(cx);
            }
            Command::HistoryPrev => self.history(true, cx),
            Command::HistoryNext => self.history(false, cx),
            Command::Up
            | Command::Down
            | Command::PageUp
            | Command::PageDown
            | Command::Top
            | Command::Bottom => {
                self.list.command(cmd, n);
                self.moved(cx);
            }
            _ => return false,
        }
        true
    }
    fn key(&mut self, key: &KeyEvent, cx: &mut Cx) -> bool {
        if !self.editing {
            return false;
        }
        if let Some(cmd) = cx.sh.keymap.lookup(Context::ScryInput, key)
            && !matches!(cmd, Command::FocusNext | Command::FocusPrev | Command::Quit)
        {
            return self.command(cmd, cx);
        }
        match self.input.handle(&cx.sh.keymap, key) {
            FieldEdit::Changed => {
                self.history_pos = None;
                self.send(cx);
                true
            }
            FieldEdit::Consumed => true,
            FieldEdit::Ignored => {
                if matches!(
                    cx.sh.keymap.lookup(Context::ScryInput, key),
                    Some(Command::FocusNext | Command::FocusPrev)
                ) {
                    self.editing = false;
                    self.input.set_focused(false);
                }
                false
            }
        }
    }
    fn paste(&mut self, text: &str, cx: &mut Cx) -> bool {
        if !self.editing {
            return false;
        }
        if self.input.paste(text) {
            self.send(cx);
        }
        true
    }
    fn msg(&mut self, msg: &Msg, cx: &mut Cx) {
        match msg {
            Msg::Scry { seq, result } => {
                // Newest query wins: answers to older queries are dropped.
                if *seq < self.seq {
                    return;
                }
                self.waiting = false;
                match result {
                    Ok(v) => {
                        self.view = Some(v.clone());
                        self.error = None;
                        self.list.sel = 0;
                        self.list.top.set(0);
                        self.request_preview(cx);
                    }
                    Err(e) => self.error = Some(e.clone()),
                }
            }
            Msg::Preview {
                path,
                line,
                result: Ok(lines),
            } => {
                self.preview = Some((path.clone(), *line, lines.clone()));
            }
            _ => {}
        }
    }
    fn click(&mut self, row: u16, cx: &mut Cx) {
        // Row 0 is the input; results start below (after the gauge, when shown).
        if row == 0 {
            self.start_typing(cx);
            return;
        }
        let skip = 1 + u16::from(self.gauge(cx.sh).is_some());
        if row >= skip {
            let n = self.hits().len();
            if self.list.click(row - skip, n).is_some() {
                self.moved(cx);
            }
        }
    }
    fn draw(&self, sh: &Shared, f: &mut Frame, area: Rect, focused: bool) {
        let t = sh.theme();
        if area.height == 0 {
            return;
        }
        let gauge = self.gauge(sh);
        let [input, gauge_row, body] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(u16::from(gauge.is_some())),
            Constraint::Min(0),
        ])
        .areas(area);
        // The input line.
        let prompt = "/ ";
        f.render_widget(Paragraph::new(Span::styled(prompt, t.fg(t.accent))), input);
        let field = Rect::new(input.x + 2, input.y, input.width.saturating_sub(2), 1);
        if self.input.is_empty() && !self.editing {
            let k = sh.keymap.hint(Command::Scry);
            f.render_widget(
                Paragraph::new(Span::styled(S::scry_prompt_idle(&k), t.dim())),
                field,
            );
        } else {
            self.input.draw(f, field);
        }
        if let Some((done, total, phase)) = gauge {
            let ratio = (done as f64 / total.max(1) as f64).clamp(0.0, 1.0);
            f.render_widget(
                LineGauge::default()
                    .filled_style(t.fg(t.info))
                    .unfilled_style(t.fg(t.border))
                    .label(format!("{phase} {done}/{total}"))
                    .ratio(ratio),
                gauge_row,
            );
        }
        let mut lines: Vec<Line> = vec![];
        if let Some(e) = &self.error {
            for l in crate::tui::widgets::wrap_lines(&[format!("error: {e}")], body.width) {
                lines.push(Line::styled(l, t.fg(t.error)));
            }
        }
        if self.waiting {
            lines.push(Line::styled(S::SCRY_SEARCHING, t.fg(t.info)));
            f.render_widget(Paragraph::new(lines), body);
            return;
        }
        let Some(v) = &self.view else {
            if let ModelState::Lexical(why) = &sh.model {
                lines.push(Line::styled(S::lexical_only(why), t.dim()));
            }
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), body);
            return;
        };
        if v.hits.is_empty() {
            lines.push(Line::styled(S::scry_no_results(&v.query), t.dim()));
        }
        let width = body.width.saturating_sub(1) as usize;
        let query = v.query.clone();
        let preview_h: u16 = match body.height {
            h if h >= 16 => h / 2,
            h if h >= 9 => 4,
            _ => 0,
        };
        let notes_h = v.notes.len().min(1) as u16;
        let [list, notes, prev] = Layout::vertical([
            Constraint::Min(0),
            Constraint::Length(notes_h),
            Constraint::Length(preview_h),
        ])
        .areas(body);
        let head = lines.len() as u16;
        if head > 0 {
            f.render_widget(
                Paragraph::new(lines),
                Rect::new(list.x, list.y, list.width, head.min(list.height)),
            );
        }
        let list = Rect::new(
            list.x,
            list.y + head.min(list.height),
            list.width,
            list.height.saturating_sub(head),
        );
        let rows: Vec<Line<'static>> = v
            .hits
            .iter()
            .map(|h| {
                let loc = if h.line > 0 {
                    format!("{}:{}", h.path, h.line)
                } else {
                    h.path.clone()
                };
                let mut spans_: Vec<Span<'static>> = vec![
                    Span::styled(format!("{:<7}", h.kind), t.fg(t.info)),
                    Span::styled(format!("{:>5.3} ", h.score), t.dim()),
                ];
                let mut rest = width.saturating_sub(14);
                if let Some(src) = &h.source {
                    let src = text::truncate(src, 14);
                    rest = rest.saturating_sub(src.width() + 1);
                    spans_.push(Span::styled(format!("{src} "), t.fg(t.accent)));
                }
                // The location is kept whole (the :line tells rows of one file apart); the title
                // gets what is left.
                // A code hit's title is its path: then the location gets the whole row.
                let title_is_path = h.title == h.path;
                let loc_w = if title_is_path {
                    rest
                } else {
                    loc.width()
                        .min(rest.saturating_sub(rest / 3).max(12).min(rest))
                };
                let loc = text::truncate_middle(&loc, loc_w);
                rest = rest.saturating_sub(loc.width() + 2);
                spans_.push(Span::styled(loc, t.fg(t.sha)));
                if title_is_path {
                    return Line::from(spans_);
                }
                spans_.push(Span::raw("  "));
                spans_.extend(spans(
                    text::truncate_pieces(&text::highlight_terms(&h.title, &query), rest),
                    t.base(),
                    t.fg(t.accent).add_modifier(Modifier::BOLD),
                ));
                Line::from(spans_)
            })
            .collect();
        self.list.draw(t, f, list, rows, focused);
        if let Some(n) = v.notes.first() {
            f.render_widget(
                Paragraph::new(Span::styled(text::truncate(n, width), t.dim())),
                notes,
            );
        }
        if preview_h > 0
            && let Some(h) = v.hits.get(self.list.sel)
        {
            let strong = t.fg(t.accent).add_modifier(Modifier::BOLD);
            let mut pl = vec![Line::styled(
                text::truncate(&format!("─ {}:{} ", h.path, h.line), width),
                t.fg(t.border),
            )];
            let region: Vec<String> = match &self.preview {
                Some((_, l, lines)) if *l == h.line => lines.clone(),
                _ => h.snippet.lines().map(str::to_string).collect(),
            };
            for (i, l) in region.iter().enumerate().take(preview_h as usize - 1) {
                let num = if h.line > 0 && region.len() > 1 {
                    format!("{:>4} ", h.line + i)
                } else {
                    String::new()
                };
                let mut s = vec![Span::styled(num.clone(), t.dim())];
                s.extend(spans(
                    text::truncate_pieces(
                        &text::highlight_terms(&text::strip_ansi(l), &query),
                        width.saturating_sub(num.width()),
                    ),
                    Style::default(),
                    strong,
                ));
                pl.push(Line::from(s));
            }
            f.render_widget(Paragraph::new(pl), prev);
        }
    }
    any_impl!();
}
