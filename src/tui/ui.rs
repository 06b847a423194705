//! Rendering: pure functions of `&App` into a `Frame`. The frame is composed here (banner,
//! panes, toasts, hint bar, status bar, popups); each component draws its own inside.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use super::app::{App, Level};
use super::keymap::{Command, Context};
use super::layout::{self, PaneRect};
use super::model::*;
use super::strings as S;
use super::text;
use super::widgets::{centered, pane_block, wrap_lines};

pub use super::layout::layout;

/// Draw the whole cockpit.
pub fn draw(app: &App, f: &mut Frame) {
    let area = f.area();
    let t = app.theme();
    f.render_widget(Block::default().style(t.base()), area);
    let l = layout::layout(area, app);
    if l.too_small {
        f.render_widget(
            Paragraph::new(S::too_small(area.width, area.height))
                .style(t.fg(t.warn))
                .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    if let ProjectState::NoGit { cwd } = &app.sh.project {
        draw_no_git(app, f, l.body, cwd);
        draw_hints(app, f, l.hints);
        draw_status(app, f, l.status);
        return;
    }
    if let Some(b) = l.banner {
        draw_banner(app, f, b);
    }
    if let Some((row, cells)) = &l.tabs {
        draw_tabs(app, f, *row, cells);
    }
    for p in &l.panes {
        draw_pane(app, f, p);
    }
    draw_toasts(app, f, l.body);
    draw_hints(app, f, l.hints);
    draw_status(app, f, l.status);
    for p in &app.popups {
        p.draw(&app.sh, f, area);
    }
}

fn draw_pane(app: &App, f: &mut Frame, p: &PaneRect) {
    let t = app.theme();
    let pane = &app.panes[p.index];
    let focused = p.index == app.focus;
    let status = pane.status(&app.sh);
    let block = pane_block(t, p.index + 1, pane.title(), &status, focused);
    if p.collapsed {
        f.render_widget(block.borders(Borders::TOP), p.rect);
        return;
    }
    let inner = block.inner(p.rect);
    f.render_widget(block, p.rect);
    pane.draw(&app.sh, f, inner, focused);
}

fn draw_no_git(app: &App, f: &mut Frame, area: Rect, cwd: &std::path::Path) {
    let t = app.theme();
    let q = app.sh.keymap.hint(Command::Quit);
    let mut lines = vec![Line::styled(S::NO_GIT_TITLE, t.title())];
    for l in S::no_git_lines(&cwd.display().to_string(), &q) {
        let style = if l.starts_with("  git") {
            t.fg(t.accent)
        } else {
            t.base()
        };
        lines.push(Line::styled(l, style));
    }
    let r = centered(area, 74, lines.len() as u16 + 2);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(pane_block(t, 1, "patina", "", true)),
        r,
    );
}

fn draw_tabs(app: &App, f: &mut Frame, row: Rect, cells: &[(usize, Rect)]) {
    let t = app.theme();
    for (i, r) in cells {
        let style = if *i == app.focus {
            t.selected()
        } else {
            t.dim()
        };
        let label = format!(" {} {} ", i + 1, app.panes[*i].title());
        f.render_widget(
            Paragraph::new(Span::styled(
                text::truncate(&label, r.width as usize),
                style,
            )),
            *r,
        );
    }
    let _ = row;
}

fn draw_banner(app: &App, f: &mut Frame, area: Rect) {
    let t = app.theme();
    let Some(r) = app.sh.pending.first() else {
        return;
    };
    let left = app
        .sh
        .pending_until
        .get(&r.id)
        .map(|u| (*u - app.sh.now).num_seconds().max(0) as u64)
        .unwrap_or(r.expires_in_secs);
    let key = app.sh.keymap.hint(Command::ReviewRelease);
    let names = r.names.join(", ");
    let n = app.sh.pending.len();
    // The names, the countdown and the key must stay readable: a long command line (a script
    // with paths) gives up its middle, never the end of the banner.
    let fixed = S::release_banner(n, &names, "", left, &key).width();
    let room = (area.width as usize).saturating_sub(fixed);
    let command = if room >= 8 {
        text::truncate_middle(&r.command, room)
    } else {
        "…".to_string()
    };
    let text = S::release_banner(n, &names, &command, left, &key);
    let style = Style::default()
        .fg(t.selection_fg)
        .bg(t.warn)
        .add_modifier(Modifier::BOLD);
    f.render_widget(
        Paragraph::new(text::truncate(&text, area.width as usize)).style(style),
        area,
    );
}

/// Toasts, wrapped (never cut to one line), just above the hint bar, over the panes.
fn draw_toasts(app: &App, f: &mut Frame, body: Rect) {
    if app.sh.toasts.is_empty() || !app.popups.is_empty() {
        return;
    }
    let t = app.theme();
    let w = body.width.saturating_sub(4).min(100);
    let mut rows: Vec<Line> = vec![];
    for toast in &app.sh.toasts {
        let c = match toast.level {
            Level::Info => t.info,
            Level::Ok => t.ok,
            Level::Warn => t.warn,
            Level::Error => t.error,
        };
        let mut wrapped = wrap_lines(std::slice::from_ref(&toast.text), w.saturating_sub(2));
        if wrapped.len() > 4 {
            wrapped.truncate(3);
            wrapped.push(S::more_in_messages(&app.sh.keymap.hint(Command::Messages)));
        }
        for l in wrapped {
            rows.push(Line::styled(
                format!(" {l} "),
                Style::default()
                    .fg(c)
                    .bg(t.popup_bg)
                    .add_modifier(Modifier::BOLD),
            ));
        }
    }
    let h = (rows.len() as u16).min(body.height);
    let width = rows
        .iter()
        .map(|l| l.width() as u16)
        .max()
        .unwrap_or(0)
        .min(body.width);
    let r = Rect::new(
        body.right().saturating_sub(width + 1),
        body.bottom().saturating_sub(h),
        width,
        h,
    );
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(rows), r);
}

/// The key-hint bar: the focused context's important keys, from the keymap.
fn draw_hints(app: &App, f: &mut Frame, area: Option<Rect>) {
    let Some(area) = area else {
        return;
    };
    let t = app.theme();
    let ctxs = app.contexts();
    let mut spans: Vec<Span> = vec![];
    let mut used = 0usize;
    let mut hints = app.sh.keymap.hints(&ctxs);
    if !ctxs.contains(&Context::Global) {
        hints.extend(app.sh.keymap.hints(&[Context::Always]));
    }
    for (key, cmd) in hints {
        let label = S::describe(cmd).1;
        let piece = format!("{key} {label}");
        let w = piece.width() + 2;
        if used + w > area.width as usize {
            break;
        }
        used += w;
        spans.push(Span::styled(key, t.fg(t.key).add_modifier(Modifier::BOLD)));
        spans.push(Span::styled(format!(" {label}  "), t.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_status(app: &App, f: &mut Frame, area: Rect) {
    let t = app.theme();
    let sh = &app.sh;
    let base = Style::default().fg(t.status_fg).bg(t.status_bg);
    f.render_widget(Block::default().style(base), area);
    let on = |c| Style::default().fg(c).bg(t.status_bg);
    let mut right: Vec<(String, ratatui::style::Color)> = vec![];
    right.push(match &sh.daemon {
        _ if sh.daemon_restarting && !matches!(sh.daemon, DaemonState::Up { .. }) => {
            (S::DAEMON_RESTARTING.into(), t.warn)
        }
        DaemonState::Unknown => (S::DAEMON_UNKNOWN.into(), t.dim),
        DaemonState::Starting => (S::DAEMON_STARTING.into(), t.warn),
        DaemonState::Up { .. } => (S::DAEMON_UP.into(), t.ok),
        DaemonState::Down(_) => (S::DAEMON_DOWN.into(), t.warn),
    });
    right.push(match &sh.model {
        ModelState::Unknown => (S::MODEL_UNKNOWN.into(), t.dim),
        ModelState::Ready => (S::MODEL_READY.into(), t.ok),
        ModelState::Lexical(_) => (S::MODEL_LEXICAL.into(), t.warn),
        ModelState::Installing(p) => (S::model_installing(&text::truncate(p, 20)), t.info),
    });
    if let IndexState::Building { done, total, .. } = &sh.index {
        right.push((S::indexing(*done, *total), t.info));
    }
    right.push(match &sh.secrets {
        Feed::Ready(v) => match v.iter().find(|v| !v.locked) {
            Some(open) => {
                let left = open
                    .expires_at
                    .map(|e| (e - sh.now).num_seconds().max(0))
                    .unwrap_or(0);
                (S::secrets_unlocked(left / 60, left % 60), t.warn)
            }
            None => (S::SECRETS_LOCKED.into(), t.ok),
        },
        Feed::Loading => (S::SECRETS_UNKNOWN.into(), t.dim),
        Feed::Unavailable(_) => (S::SECRETS_NA.into(), t.dim),
    });
    match sh.agent {
        AgentState::Unknown => {}
        AgentState::Busy => right.push((S::AGENT_BUSY.into(), t.warn)),
        AgentState::Waiting => right.push((S::AGENT_WAITING.into(), t.accent)),
        AgentState::Idle => right.push((S::AGENT_IDLE.into(), t.dim)),
    }
    right.push((S::help_hint(&sh.keymap.hint(Command::Help)), t.key));
    let name = match &sh.project {
        ProjectState::Ready { name, .. } => format!(" patina · {name}"),
        ProjectState::NotInitialized { .. } => " patina · not initialised".into(),
        ProjectState::NoGit { .. } => " patina · no git repository".into(),
        ProjectState::Loading => " patina".into(),
    };
    // Drop the least important items (from the left of the right side) until it fits.
    let sep = " │ ";
    let total = |items: &[(String, ratatui::style::Color)]| -> usize {
        items.iter().map(|(s, _)| s.width()).sum::<usize>() + sep.width() * items.len()
    };
    while right.len() > 1 && total(&right) + name.width().min(20) > area.width as usize {
        right.remove(right.len().saturating_sub(2).min(1));
    }
    let mut spans = vec![];
    for (i, (s, c)) in right.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(sep, base.fg(t.border)));
        }
        spans.push(Span::styled(s.clone(), on(*c)));
    }
    spans.push(Span::styled(" ", base));
    let right_line = Line::from(spans);
    let rw = (right_line.width() as u16).min(area.width);
    let left_w = area.width.saturating_sub(rw) as usize;
    f.render_widget(
        Paragraph::new(Line::styled(text::truncate(&name, left_w), base)),
        Rect::new(area.x, area.y, left_w as u16, 1),
    );
    f.render_widget(
        Paragraph::new(right_line),
        Rect::new(area.x + left_w as u16, area.y, rw, 1),
    );
}
