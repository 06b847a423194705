//! Rendering: pure functions of `&App` into a `Frame`. Nothing here changes state or does I/O.
//!
//! Layouts: wide (≥ 100×20: two columns, every pane visible), stacked (smaller: a tab line, a
//! session summary, the focused pane) and tiny (< 30×8: one line saying so). Every rectangle is
//! computed with saturating arithmetic, so no size panics.

use chrono::{DateTime, FixedOffset};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout as RLayout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use super::app::{App, BELIEF_FIELDS, Level, Pane, Popup};
use super::keymap::Command;
use super::model::*;
use super::text;
use super::theme::Theme;

/// Where each pane goes for a given screen size.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub panes: Vec<(Pane, Rect)>,
    pub tabs: Option<Rect>,
    pub summary: Option<Rect>,
    pub status: Rect,
    pub too_small: bool,
}

impl Layout {
    pub fn pane_at(&self, x: u16, y: u16) -> Option<Pane> {
        self.panes
            .iter()
            .find(|(_, r)| x >= r.x && x < r.right() && y >= r.y && y < r.bottom())
            .map(|(p, _)| *p)
    }
}

pub const WIDE_MIN_WIDTH: u16 = 100;

pub fn layout(area: Rect, app: &App) -> Layout {
    let mut l = Layout::default();
    if area.width < 30 || area.height < 8 {
        l.too_small = true;
        l.status = area;
        return l;
    }
    let [body, status] = RLayout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    l.status = status;
    if area.width >= WIDE_MIN_WIDTH && area.height >= 20 {
        let [left, right] =
            RLayout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(body);
        let goals = app.active_session().map_or(0, |s| s.goals.len()) as u16;
        let session_h = (goals + 6).clamp(7, left.height / 2);
        let [s, a] =
            RLayout::vertical([Constraint::Length(session_h), Constraint::Min(3)]).areas(left);
        let [c, b, q] = RLayout::vertical([
            Constraint::Percentage(28),
            Constraint::Percentage(30),
            Constraint::Percentage(42),
        ])
        .areas(right);
        l.panes = vec![
            (Pane::Session, s),
            (Pane::Activity, a),
            (Pane::Commits, c),
            (Pane::Beliefs, b),
            (Pane::Scry, q),
        ];
    } else {
        let show_summary = app.focus != Pane::Session && body.height >= 14;
        let [tabs, rest] =
            RLayout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(body);
        l.tabs = Some(tabs);
        let main = if show_summary {
            let [sum, main] =
                RLayout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(rest);
            l.summary = Some(sum);
            main
        } else {
            rest
        };
        l.panes = vec![(app.focus, main)];
    }
    l
}

/// Draw the whole cockpit.
pub fn draw(app: &App, f: &mut Frame) {
    let area = f.area();
    let t = app.theme();
    f.render_widget(Block::default().style(t.base()), area);
    let l = layout(area, app);
    if l.too_small {
        let msg = format!("patina: {}×{} is too small", area.width, area.height);
        f.render_widget(
            Paragraph::new(msg)
                .style(t.fg(t.warn))
                .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    match &app.project {
        ProjectState::NoGit { cwd } => {
            draw_no_git(app, f, area, cwd);
            draw_status(app, f, l.status);
            return;
        }
        ProjectState::Loading
        | ProjectState::Ready { .. }
        | ProjectState::NotInitialized { .. } => {}
    }
    if let Some(tabs) = l.tabs {
        draw_tabs(app, f, tabs);
    }
    if let Some(sum) = l.summary {
        draw_summary(app, f, sum);
    }
    for (pane, rect) in &l.panes {
        let focused = *pane == app.focus;
        match pane {
            Pane::Session => draw_session(app, f, *rect, focused),
            Pane::Activity => draw_activity(app, f, *rect, focused),
            Pane::Commits => draw_commits(app, f, *rect, focused),
            Pane::Beliefs => draw_beliefs(app, f, *rect, focused),
            Pane::Scry => draw_scry(app, f, *rect, focused),
        }
    }
    draw_status(app, f, l.status);
    if let Some(p) = &app.popup {
        draw_popup(app, p, f, area);
    }
}

fn pane_block<'a>(t: &Theme, title: String, focused: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(t.border(focused))
        .title(Span::styled(
            format!(" {title} "),
            if focused {
                t.title()
            } else {
                t.fg(t.dim).add_modifier(Modifier::BOLD)
            },
        ))
}

/// Short age: "now", "5m", "3h", "2d".
pub fn age(now: DateTime<FixedOffset>, then: DateTime<FixedOffset>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        s if s < 60 => "now".into(),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn elapsed(now: DateTime<FixedOffset>, then: DateTime<FixedOffset>) -> String {
    let mins = (now - then).num_minutes().max(0);
    if mins < 60 {
        format!("{mins}m")
    } else {
        format!("{}h {:02}m", mins / 60, mins % 60)
    }
}

fn draw_no_git(app: &App, f: &mut Frame, area: Rect, cwd: &std::path::Path) {
    let t = app.theme();
    let q = app.keymap.hint(Command::Quit);
    let lines = vec![
        Line::styled("patina needs a git repository", t.title()),
        Line::raw(""),
        Line::raw(format!("{} is not inside one.", cwd.display())),
        Line::raw(""),
        Line::raw("Sessions are git tags and beliefs live in the repository, so run:"),
        Line::styled("  git init && patina init", t.fg(t.accent)),
        Line::raw("then start `patina tui` again."),
        Line::raw(""),
        Line::styled(format!("{q} quits"), t.dim()),
    ];
    let r = centered(area, 72, lines.len() as u16 + 2);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(pane_block(t, "patina".into(), true)),
        r,
    );
}

fn draw_tabs(app: &App, f: &mut Frame, area: Rect) {
    let t = app.theme();
    let mut spans = vec![];
    for p in Pane::ALL {
        let style = if p == app.focus {
            t.selected()
        } else {
            t.dim()
        };
        spans.push(Span::styled(format!(" {} ", p.title()), style));
        spans.push(Span::raw(" "));
    }
    let k = app.keymap.hint(Command::FocusNext);
    spans.push(Span::styled(format!("({k})"), t.dim()));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_summary(app: &App, f: &mut Frame, area: Rect) {
    let t = app.theme();
    let line = match (&app.project, &app.session) {
        (ProjectState::NotInitialized { .. }, _) => {
            Line::styled("not a patina project yet", t.fg(t.warn))
        }
        (_, Feed::Ready(Some(s))) => {
            let mut spans = vec![
                Span::styled("● ", t.fg(t.ok)),
                Span::styled(s.title.clone(), t.title()),
            ];
            if let Some(st) = s.started {
                spans.push(Span::styled(format!("  {}", elapsed(app.now, st)), t.dim()));
            }
            let done = s.goals.iter().filter(|g| g.done).count();
            if !s.goals.is_empty() {
                spans.push(Span::styled(
                    format!("  goals {done}/{}", s.goals.len()),
                    t.dim(),
                ));
            }
            spans.push(Span::styled(format!("  {}", s.id), t.dim()));
            Line::from(spans)
        }
        (_, Feed::Ready(None)) => Line::styled(
            format!(
                "no active session — {} starts one",
                app.keymap.hint(Command::StartSession)
            ),
            t.dim(),
        ),
        (_, Feed::Loading) => Line::styled("loading…", t.dim()),
        (_, Feed::Unavailable(w)) => {
            Line::styled(format!("sessions unavailable: {w}"), t.fg(t.warn))
        }
    };
    f.render_widget(Paragraph::new(line), area);
}

fn message_lines<'a>(t: &Theme, text: &str, warn: bool) -> Vec<Line<'a>> {
    text.lines()
        .map(|l| Line::styled(l.to_string(), if warn { t.fg(t.warn) } else { t.dim() }))
        .collect()
}

fn draw_session(app: &App, f: &mut Frame, area: Rect, focused: bool) {
    let t = app.theme();
    let block = pane_block(t, Pane::Session.title().into(), focused);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mut lines: Vec<Line> = vec![];
    match (&app.project, &app.session) {
        (ProjectState::NotInitialized { root }, _) => {
            lines.extend(message_lines(
                t,
                &format!(
                    "{} is a git repository but not a patina project yet.\nPress {} to set it up (patina init).",
                    root.display(),
                    app.keymap.hint(Command::StartSession)
                ),
                true,
            ));
        }
        (_, Feed::Loading) => lines.push(Line::styled("loading…", t.dim())),
        (_, Feed::Unavailable(why)) => lines.extend(message_lines(
            t,
            &format!("Sessions are not available:\n{why}"),
            true,
        )),
        (_, Feed::Ready(None)) => lines.extend(message_lines(
            t,
            &format!(
                "No active session.\nPress {} to start one.",
                app.keymap.hint(Command::StartSession)
            ),
            false,
        )),
        (_, Feed::Ready(Some(s))) => {
            lines.push(Line::styled(s.title.clone(), t.title()));
            let mut meta = vec![Span::styled(s.id.clone(), t.fg(t.accent))];
            for part in [&s.branch, &s.llm] {
                if !part.is_empty() {
                    meta.push(Span::styled(" · ", t.dim()));
                    meta.push(Span::raw(part.clone()));
                }
            }
            if let Some(st) = s.started {
                meta.push(Span::styled(" · ", t.dim()));
                meta.push(Span::raw(elapsed(app.now, st)));
            }
            if s.stale {
                meta.push(Span::styled(" · stale", t.fg(t.warn)));
            }
            lines.push(Line::from(meta));
            if let Some(tv) = &app.transcript {
                let mut text = format!("Prompts {}", tv.prompt_count);
                if let Some((time, agent, what)) = &tv.last_action {
                    text.push_str(&format!(" · {} {agent}: {what}", time.format("%H:%M")));
                }
                let w = inner.width as usize;
                lines.push(Line::styled(text::truncate(&text, w), t.dim()));
            }
            let done = s.goals.iter().filter(|g| g.done).count();
            lines.push(Line::styled(
                format!("Goals {done}/{}", s.goals.len()),
                t.dim().add_modifier(Modifier::BOLD),
            ));
            if s.goals.is_empty() {
                lines.push(Line::styled(
                    format!("  none — {} adds one", app.keymap.hint(Command::Goal)),
                    t.dim(),
                ));
            }
            let room = (inner.height as usize).saturating_sub(lines.len());
            let (start, _) = window(s.goals.len(), app.goal_sel, room);
            for (i, g) in s.goals.iter().enumerate().skip(start).take(room) {
                let mark = if g.done { "[x] " } else { "[ ] " };
                let style = if focused && i == app.goal_sel {
                    t.selected()
                } else if g.done {
                    t.fg(t.ok)
                } else {
                    t.base()
                };
                lines.push(Line::styled(format!("{mark}{}", g.text), style));
            }
        }
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// First visible index so that `sel` is visible in `room` rows.
fn window(len: usize, sel: usize, room: usize) -> (usize, usize) {
    if room == 0 || len <= room {
        return (0, len.min(room));
    }
    let start = sel.saturating_sub(room - 1).min(len - room);
    (start, start + room)
}

fn draw_activity(app: &App, f: &mut Frame, area: Rect, focused: bool) {
    let t = app.theme();
    let follow = app.activity_top.is_none();
    let title = if follow {
        "Activity".to_string()
    } else {
        "Activity · paused (G follows)".to_string()
    };
    let block = pane_block(t, title, focused);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(s) = app.active_session() else {
        let msg = match &app.session {
            Feed::Unavailable(w) => format!("not available: {w}"),
            Feed::Loading => "loading…".into(),
            _ => "The log of the active session shows here.".into(),
        };
        f.render_widget(
            Paragraph::new(msg).style(t.dim()).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    };
    let width = inner.width as usize;
    let mut lines: Vec<Line> = vec![];
    let mut entry_start = vec![];
    for e in &s.activity {
        entry_start.push(lines.len());
        let time = e.time.rsplit(' ').next().unwrap_or(&e.time).to_string();
        lines.push(Line::from(vec![
            Span::styled(format!("{time} "), t.fg(t.accent)),
            Span::styled(
                text::truncate(&e.heading, width.saturating_sub(6)),
                t.title(),
            ),
        ]));
        for body in e.body.lines().filter(|l| !l.trim().is_empty()) {
            for wrapped in text::wrap(body, width.saturating_sub(2)) {
                lines.push(Line::styled(format!("  {wrapped}"), t.base()));
            }
        }
    }
    let h = inner.height as usize;
    let top = match app.activity_top {
        None => lines.len().saturating_sub(h),
        Some(i) => entry_start.get(i).copied().unwrap_or(0),
    };
    let shown: Vec<Line> = lines.into_iter().skip(top).take(h).collect();
    if shown.is_empty() {
        f.render_widget(Paragraph::new("(empty)").style(t.dim()), inner);
    } else {
        f.render_widget(Paragraph::new(shown), inner);
    }
}

fn draw_commits(app: &App, f: &mut Frame, area: Rect, focused: bool) {
    let t = app.theme();
    let n = app.commits.ready().map_or(0, |c| c.len());
    let title = if n > 0 {
        format!("Commits · {n}")
    } else {
        "Commits".into()
    };
    let block = pane_block(t, title, focused);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let rows = match &app.commits {
        Feed::Ready(rows) => rows,
        Feed::Loading => {
            f.render_widget(Paragraph::new("loading…").style(t.dim()), inner);
            return;
        }
        Feed::Unavailable(w) => {
            f.render_widget(
                Paragraph::new(format!("not available: {w}"))
                    .style(t.fg(t.warn))
                    .wrap(Wrap { trim: true }),
                inner,
            );
            return;
        }
    };
    if rows.is_empty() {
        let msg = if app.active_session().is_some() {
            "No commits in this session yet."
        } else {
            "Commits of the active session show here."
        };
        f.render_widget(
            Paragraph::new(msg).style(t.dim()).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    let width = inner.width as usize;
    let room = inner.height as usize;
    let (start, _) = window(rows.len(), app.commit_sel, room);
    let mut lines = vec![];
    for (i, c) in rows.iter().enumerate().skip(start).take(room) {
        let right = format!(" {} {}f", age(app.now, c.time), c.files);
        let left_w = width.saturating_sub(right.width() + c.short.width() + 1);
        let subject = text::truncate(&c.subject, left_w);
        let pad = left_w.saturating_sub(subject.width());
        let sel = focused && i == app.commit_sel;
        let line = Line::from(vec![
            Span::styled(format!("{} ", c.short), t.fg(t.sha)),
            Span::raw(format!("{subject}{}", " ".repeat(pad))),
            Span::styled(right, t.dim()),
        ]);
        lines.push(if sel { line.style(t.selected()) } else { line });
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_beliefs(app: &App, f: &mut Frame, area: Rect, focused: bool) {
    let t = app.theme();
    let rows = app.beliefs.ready();
    let title = match rows {
        Some(r) if !r.is_empty() => {
            let mine = r.iter().filter(|b| b.this_session).count();
            format!("Beliefs · {} ({mine} this session)", r.len())
        }
        _ => "Beliefs".into(),
    };
    let block = pane_block(t, title, focused);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let rows = match &app.beliefs {
        Feed::Ready(r) => r,
        Feed::Loading => {
            f.render_widget(Paragraph::new("loading…").style(t.dim()), inner);
            return;
        }
        Feed::Unavailable(w) => {
            f.render_widget(
                Paragraph::new(format!("not available: {w}"))
                    .style(t.fg(t.warn))
                    .wrap(Wrap { trim: true }),
                inner,
            );
            return;
        }
    };
    if rows.is_empty() {
        let k = app.keymap.hint(Command::Belief);
        f.render_widget(
            Paragraph::new(format!("No beliefs yet — {k} captures one."))
                .style(t.dim())
                .wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    let width = inner.width as usize;
    // A preview of the selection at the bottom when there is room.
    let preview_h = if inner.height >= 9 { 3 } else { 0 };
    let list_h = (inner.height as usize).saturating_sub(preview_h);
    let (start, _) = window(rows.len(), app.belief_sel, list_h);
    let mut lines = vec![];
    for (i, b) in rows.iter().enumerate().skip(start).take(list_h) {
        let mark = if b.this_session { "● " } else { "  " };
        let rest = width.saturating_sub(b.id.width() + 4);
        let line = Line::from(vec![
            Span::styled(mark, t.fg(t.ok)),
            Span::styled(b.id.clone(), t.fg(t.accent)),
            Span::styled(format!("  {}", text::truncate(&b.statement, rest)), t.dim()),
        ]);
        lines.push(if focused && i == app.belief_sel {
            line.style(t.selected())
        } else {
            line
        });
    }
    let [list, prev] =
        RLayout::vertical([Constraint::Min(0), Constraint::Length(preview_h as u16)]).areas(inner);
    f.render_widget(Paragraph::new(lines), list);
    if preview_h > 0
        && let Some(b) = rows.get(app.belief_sel)
    {
        let lines = vec![
            Line::styled(format!("─ {} · {} ", b.id, b.entrenchment), t.fg(t.border)),
            Line::raw(b.statement.clone()),
        ];
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), prev);
    }
}

fn draw_scry(app: &App, f: &mut Frame, area: Rect, focused: bool) {
    let t = app.theme();
    let mut title = format!("Scry · {}", app.scry_scope_label());
    if let Some(v) = &app.scry {
        title.push_str(&format!(" · {} · {} ms", v.mode, v.took_ms));
        if let Some(b) = &v.backend {
            title.push_str(&format!(" · {b}"));
        }
    }
    let block = pane_block(t, title, focused);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let [input, body] = RLayout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let prompt = "/ ";
    let (shown, cur) = app
        .scry_input
        .view((input.width as usize).saturating_sub(3));
    let input_style = if app.scry_editing {
        Style::default().fg(t.text).bg(t.input_bg)
    } else {
        t.base()
    };
    let mut spans = vec![Span::styled(prompt, t.fg(t.accent))];
    if shown.is_empty() && !app.scry_editing {
        spans.push(Span::styled(
            format!(
                "press {} and type to search",
                app.keymap.hint(Command::Scry)
            ),
            t.dim(),
        ));
    } else {
        let pad = (input.width as usize).saturating_sub(prompt.len() + shown.width());
        spans.push(Span::styled(
            format!("{shown}{}", " ".repeat(pad)),
            input_style,
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), input);
    if app.scry_editing && focused && app.popup.is_none() {
        f.set_cursor_position((input.x + prompt.len() as u16 + cur as u16, input.y));
    }
    let mut lines: Vec<Line> = vec![];
    if let Some(e) = &app.scry_error {
        lines.push(Line::styled(format!("error: {e}"), t.fg(t.error)));
    }
    let Some(v) = &app.scry else {
        if app.scry_waiting {
            lines.push(Line::styled("searching…", t.dim()));
        } else if let ModelState::Lexical(why) = &app.model {
            lines.push(Line::styled(format!("lexical search only: {why}"), t.dim()));
        }
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), body);
        return;
    };
    if v.hits.is_empty() {
        lines.push(Line::styled(
            format!("no results for {:?}", v.query),
            t.dim(),
        ));
    }
    let width = body.width as usize;
    let preview_h = if body.height >= 10 { 4 } else { 0 };
    let notes_h = v.notes.len().min(1);
    let list_h = (body.height as usize).saturating_sub(preview_h + notes_h + lines.len());
    let (start, _) = window(v.hits.len(), app.scry_sel, list_h);
    for (i, h) in v.hits.iter().enumerate().skip(start).take(list_h) {
        let loc = if h.line > 0 {
            format!("{}:{}", h.path, h.line)
        } else {
            h.path.clone()
        };
        let kind = format!("{:<7}", h.kind);
        let rest = width.saturating_sub(kind.width() + 1);
        let mut spans = vec![Span::styled(kind, t.fg(t.info)), Span::raw(" ")];
        let rest = match &h.source {
            Some(src) => {
                let src = text::truncate(src, 16);
                let w = src.width() + 1;
                spans.push(Span::styled(src, t.fg(t.accent)));
                spans.push(Span::raw(" "));
                rest.saturating_sub(w)
            }
            None => rest,
        };
        spans.push(Span::raw(text::truncate(
            &format!("{}  {loc}", h.title),
            rest,
        )));
        let line = Line::from(spans);
        lines.push(if focused && i == app.scry_sel {
            line.style(t.selected())
        } else {
            line
        });
    }
    for n in v.notes.iter().take(notes_h) {
        lines.push(Line::styled(text::truncate(n, width), t.dim()));
    }
    let [list, prev] =
        RLayout::vertical([Constraint::Min(0), Constraint::Length(preview_h as u16)]).areas(body);
    f.render_widget(Paragraph::new(lines), list);
    if preview_h > 0
        && let Some(h) = v.hits.get(app.scry_sel)
    {
        let mut pl = vec![Line::styled(
            text::truncate(&format!("─ {} ", h.path), width),
            t.fg(t.border),
        )];
        for l in h.snippet.lines().filter(|l| !l.trim().is_empty()).take(3) {
            pl.push(Line::raw(text::truncate(l.trim(), width)));
        }
        f.render_widget(Paragraph::new(pl), prev);
    }
}

fn draw_status(app: &App, f: &mut Frame, area: Rect) {
    let t = app.theme();
    let base = Style::default().fg(t.status_fg).bg(t.status_bg);
    f.render_widget(Block::default().style(base), area);
    // Narrow screens get the short forms so the left side keeps room for messages.
    let short = area.width < WIDE_MIN_WIDTH;
    let on = |c| Style::default().fg(c).bg(t.status_bg);
    let mut right: Vec<Span> = vec![];
    let sep = || Span::styled(if short { " " } else { " │ " }, base.fg(t.border));
    let (dtext, dcolor) = match &app.daemon {
        DaemonState::Unknown => ("daemon …".to_string(), t.dim),
        DaemonState::Starting => ("daemon starting".to_string(), t.warn),
        DaemonState::Up { protocol, .. } if short => (format!("d● p{protocol}"), t.ok),
        DaemonState::Up { protocol, .. } => (format!("daemon ● p{protocol}"), t.ok),
        DaemonState::Down(_) if short => ("d○".to_string(), t.warn),
        DaemonState::Down(_) => ("daemon ○ down".to_string(), t.warn),
    };
    right.push(Span::styled(dtext, on(dcolor)));
    right.push(sep());
    let (mtext, mcolor) = match &app.model {
        ModelState::Unknown => ("model …".to_string(), t.dim),
        ModelState::Ready if short => ("model".to_string(), t.ok),
        ModelState::Ready => ("model ready".to_string(), t.ok),
        ModelState::Lexical(_) if short => ("lex".to_string(), t.warn),
        ModelState::Lexical(_) => ("lexical".to_string(), t.warn),
        ModelState::Installing(p) => (
            format!("model {}", text::truncate(p, if short { 10 } else { 24 })),
            t.info,
        ),
    };
    right.push(Span::styled(mtext, on(mcolor)));
    if let IndexState::Building { done, total, .. } = &app.index {
        let s = if *total > 0 {
            format!(" idx {done}/{total}")
        } else {
            " idx…".to_string()
        };
        right.push(Span::styled(s, on(t.info)));
    }
    right.push(sep());
    let (stext, scolor) = match &app.secrets {
        Feed::Ready(v) => match v.iter().find(|v| !v.locked) {
            Some(open) => {
                let left = open
                    .expires_at
                    .map(|e| (e - app.now).num_seconds().max(0))
                    .unwrap_or(0);
                let label = if short { "open" } else { "secrets open" };
                (format!("{label} {}:{:02}", left / 60, left % 60), t.warn)
            }
            None if short => ("locked".to_string(), t.ok),
            None => ("secrets locked".to_string(), t.ok),
        },
        Feed::Loading => ("secrets …".to_string(), t.dim),
        Feed::Unavailable(_) if short => ("s n/a".to_string(), t.dim),
        Feed::Unavailable(_) => ("secrets n/a".to_string(), t.dim),
    };
    right.push(Span::styled(stext, on(scolor)));
    let agent = match app.agent {
        AgentState::Unknown => None,
        AgentState::Busy => Some(("agent busy", t.warn)),
        AgentState::Waiting => Some(("agent waiting", t.accent)),
        AgentState::Idle => Some(("agent idle", t.dim)),
    };
    if let Some((a, c)) = agent {
        right.push(sep());
        right.push(Span::styled(if short { &a[6..] } else { a }, on(c)));
    }
    right.push(sep());
    let help = app.keymap.hint(Command::Help);
    right.push(Span::styled(
        if short { help } else { format!("{help} help") },
        base.fg(t.key),
    ));
    let right_line = Line::from(right);
    // The left side keeps at least a third of the row.
    let rw = (right_line.width() as u16).min(area.width.saturating_sub(area.width / 3));
    let left_w = area.width.saturating_sub(rw + 1) as usize;
    let left: Line = match &app.toast {
        Some(toast) => {
            let c = match toast.level {
                Level::Info => t.info,
                Level::Ok => t.ok,
                Level::Warn => t.warn,
                Level::Error => t.error,
            };
            Line::styled(
                format!(" {}", text::truncate(&toast.text, left_w.saturating_sub(1))),
                base.fg(c).add_modifier(Modifier::BOLD),
            )
        }
        None => {
            let name = match &app.project {
                ProjectState::Ready { name, .. } => name.clone(),
                ProjectState::NotInitialized { .. } => "not initialised".into(),
                ProjectState::NoGit { .. } => "no git repository".into(),
                ProjectState::Loading => "loading".into(),
            };
            let s = if app.scry_editing {
                " typing in scry · Esc leaves".to_string()
            } else {
                format!(" patina · {name}")
            };
            Line::styled(text::truncate(&s, left_w), base)
        }
    };
    let [l, r] = RLayout::horizontal([Constraint::Min(0), Constraint::Length(rw)]).areas(area);
    f.render_widget(Paragraph::new(left), l);
    f.render_widget(Paragraph::new(right_line), r);
}

/// A rectangle of at most `w`×`h` centred in `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn popup_frame(app: &App, f: &mut Frame, area: Rect, title: &str, w: u16, h: u16) -> Rect {
    let t = app.theme();
    let r = centered(area, w, h.saturating_add(2));
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(t.fg(t.popup_border))
        .style(Style::default().fg(t.text).bg(t.popup_bg))
        .title(Span::styled(format!(" {title} "), t.title()));
    let inner = block.inner(r);
    f.render_widget(block, r);
    inner
}

fn field_line<'a>(
    app: &App,
    label: &str,
    label_w: usize,
    input: &super::input::Input,
    active: bool,
    width: u16,
) -> (Line<'a>, Option<u16>) {
    let t = app.theme();
    let field_w = (width as usize).saturating_sub(label_w + 1);
    let (shown, cur) = input.view(field_w.saturating_sub(1));
    let pad = field_w.saturating_sub(shown.width());
    let style = if active {
        Style::default().fg(t.text).bg(t.input_bg)
    } else {
        Style::default().fg(t.text)
    };
    let label_style = if active { t.fg(t.accent) } else { t.dim() };
    (
        Line::from(vec![
            Span::styled(format!("{label:>label_w$} "), label_style),
            Span::styled(format!("{shown}{}", " ".repeat(pad)), style),
        ]),
        active.then_some((label_w + 1 + cur) as u16),
    )
}

fn draw_popup(app: &App, p: &Popup, f: &mut Frame, area: Rect) {
    let t = app.theme();
    let width = 72.min(area.width.saturating_sub(2)).max(10);
    match p {
        Popup::Help { scroll } => {
            let mut lines = vec![];
            let wide = area.width >= 80;
            for (keys, name, desc) in app.keymap.help() {
                let mut spans = vec![
                    Span::styled(format!("{keys:>12} "), t.fg(t.key)),
                    Span::raw(desc.to_string()),
                ];
                if wide {
                    spans.push(Span::styled(format!("  [{name}]"), t.dim()));
                }
                lines.push(Line::from(spans));
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                "In text fields: ←/→ move, ctrl-a/e/u/k/w edit, Enter saves, Esc cancels.",
                t.dim(),
            ));
            lines.push(Line::styled(
                "Remap in $XDG_CONFIG_HOME/patina/config.toml under [keys], e.g. note = \"N\".",
                t.dim(),
            ));
            let h = (lines.len() as u16).min(area.height.saturating_sub(4));
            let inner = popup_frame(
                app,
                f,
                area,
                "Keys · j/k scroll · Esc closes",
                width.max(60),
                h,
            );
            f.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .scroll((*scroll, 0)),
                inner,
            );
        }
        Popup::Message { title, lines } => {
            let ls: Vec<Line> = lines.iter().map(|l| Line::raw(l.clone())).collect();
            simple_popup(
                app,
                f,
                area,
                title,
                ls,
                Line::styled("Enter or Esc closes", t.dim()),
            );
        }
        Popup::Start {
            title,
            llm,
            field,
            busy,
            error,
        } => {
            let inner = popup_frame(app, f, area, "Start a session", width, 5);
            let (l1, c1) = field_line(app, "title", 6, title, *field == 0, inner.width);
            let (l2, c2) = field_line(app, "llm", 6, llm, *field == 1, inner.width);
            let status = status_line(
                t,
                *busy,
                error.as_deref(),
                "Enter starts · Tab switches field · Esc cancels",
            );
            f.render_widget(Paragraph::new(vec![l1, l2, Line::raw(""), status]), inner);
            place_cursor(f, inner, [(0, c1), (1, c2)], *busy);
        }
        Popup::Note { text, busy, error } | Popup::Goal { text, busy, error } => {
            let (title, label) = if matches!(p, Popup::Note { .. }) {
                ("Note for the activity log", "note")
            } else {
                ("New goal", "goal")
            };
            let inner = popup_frame(app, f, area, title, width, 3);
            let (l1, c1) = field_line(app, label, 5, text, true, inner.width);
            let status = status_line(t, *busy, error.as_deref(), "Enter saves · Esc cancels");
            f.render_widget(Paragraph::new(vec![l1, Line::raw(""), status]), inner);
            place_cursor(f, inner, [(0, c1), (0, None)], *busy);
        }
        Popup::End {
            preview,
            busy,
            error,
        } => {
            let mut lines = vec![];
            if let Some(s) = app.active_session() {
                lines.push(Line::styled(format!("{} · {}", s.id, s.title), t.title()));
            }
            match preview {
                Feed::Loading => lines.push(Line::styled("classifying…", t.dim())),
                Feed::Unavailable(e) => {
                    lines.push(Line::styled(format!("no preview: {e}"), t.fg(t.warn)))
                }
                Feed::Ready(ls) => lines.extend(ls.iter().map(|l| Line::raw(l.clone()))),
            }
            let status = status_line(
                t,
                *busy,
                error.as_deref(),
                "y or Enter ends (tag, classify, archive) · n or Esc keeps it",
            );
            simple_popup(app, f, area, "End the session?", lines, status);
        }
        Popup::Recover { id, busy, error } => {
            let what = if id.is_empty() {
                "Recover a crashed or forgotten session?".to_string()
            } else {
                format!("Session {id} looks stale (no activity for a long time).")
            };
            let lines = vec![
                Line::raw(what),
                Line::raw(
                    "Recovering ends it with an end tag and classification, and archives it.",
                ),
            ];
            let status = status_line(
                t,
                *busy,
                error.as_deref(),
                "y or Enter recovers · n or Esc keeps it",
            );
            simple_popup(app, f, area, "Recover", lines, status);
        }
        Popup::Init { root, busy, error } => {
            let lines = vec![
                Line::raw(format!(
                    "{} is a git repository, but not a patina project yet. Set it up now?",
                    root.display()
                )),
                Line::styled(
                    "Creates .patina/config.toml, layer/ and sessions/; touches none of your files.",
                    t.dim(),
                ),
            ];
            let status = status_line(
                t,
                *busy,
                error.as_deref(),
                "y or Enter runs `patina init` · n or Esc browses without",
            );
            simple_popup(app, f, area, "patina init", lines, status);
        }
        Popup::Release(r) => {
            let lines = vec![
                Line::raw("A process asks for secrets:"),
                Line::from(vec![
                    Span::styled("  names    ", t.dim()),
                    Span::styled(r.names.join(", "), t.fg(t.warn)),
                ]),
                Line::from(vec![
                    Span::styled("  pid      ", t.dim()),
                    Span::raw(r.pid.to_string()),
                ]),
                Line::from(vec![
                    Span::styled("  command  ", t.dim()),
                    Span::raw(r.command.clone()),
                ]),
            ];
            let status = Line::styled(
                "y releases them into its environment · n or Esc refuses",
                t.dim(),
            );
            simple_popup(app, f, area, "Release secrets?", lines, status);
        }
        Popup::Belief(form) => {
            let label_w = 12;
            let mut lines = vec![];
            let mut cursor = None;
            for (i, name) in BELIEF_FIELDS.iter().enumerate() {
                let active = i == form.field;
                let (line, c) = field_line(
                    app,
                    name,
                    label_w,
                    &form.fields[i],
                    active,
                    width.saturating_sub(2),
                );
                if let Some(c) = c {
                    cursor = Some((lines.len() as u16, c));
                }
                lines.push(line);
                if i == 0
                    && let Some(problem) = app.belief_id_hint()
                {
                    lines.push(Line::styled(
                        format!("{:>label_w$} {problem}", ""),
                        t.fg(t.warn),
                    ));
                }
                if active && (i == 3 || i == 4) && !form.completions.is_empty() {
                    lines.push(Line::styled(
                        format!("{:>label_w$} → {}", "", form.completions.join("  ")),
                        t.fg(t.info),
                    ));
                }
                if active && i == 6 {
                    lines.push(Line::styled(
                        format!("{:>label_w$} ←/→ low · medium · high · very-high", ""),
                        t.dim(),
                    ));
                }
            }
            lines.push(Line::raw(""));
            lines.push(status_line(
                t,
                form.busy,
                form.error.as_deref(),
                "Tab next field · Enter saves · lists are comma-separated · Esc cancels",
            ));
            let h = (lines.len() as u16).min(area.height.saturating_sub(2));
            let inner = popup_frame(app, f, area, "Capture a belief", width, h);
            f.render_widget(Paragraph::new(lines), inner);
            if let Some((row, col)) = cursor
                && !form.busy
                && row < inner.height
                && col < inner.width
            {
                f.set_cursor_position((inner.x + col, inner.y + row));
            }
        }
    }
}

/// Rows `lines` take when wrapped to `width` (an estimate by cells; words may need one more).
fn wrapped_height(lines: &[Line], width: u16) -> u16 {
    let w = width.max(1) as usize;
    lines
        .iter()
        .map(|l| l.width().div_ceil(w).max(1) as u16)
        .sum()
}

/// A popup of wrapped text with a status/hint line pinned to its last row.
fn simple_popup(app: &App, f: &mut Frame, area: Rect, title: &str, lines: Vec<Line>, status: Line) {
    let width = 72.min(area.width.saturating_sub(2)).max(10);
    let body_h = wrapped_height(&lines, width.saturating_sub(2));
    let h = (body_h + 2).min(area.height.saturating_sub(2));
    let inner = popup_frame(app, f, area, title, width, h);
    let [body, _, foot] = RLayout::vertical([
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
    f.render_widget(Paragraph::new(status), foot);
}

fn status_line<'a>(t: &Theme, busy: bool, error: Option<&str>, hint: &str) -> Line<'a> {
    if busy {
        Line::styled("working…", t.fg(t.info))
    } else if let Some(e) = error {
        Line::styled(format!("✗ {e}"), t.fg(t.error))
    } else {
        Line::styled(hint.to_string(), t.dim())
    }
}

fn place_cursor(f: &mut Frame, inner: Rect, rows: [(u16, Option<u16>); 2], busy: bool) {
    if busy {
        return;
    }
    for (row, col) in rows {
        if let Some(col) = col
            && row < inner.height
            && col < inner.width
        {
            f.set_cursor_position((inner.x + col, inner.y + row));
        }
    }
}
