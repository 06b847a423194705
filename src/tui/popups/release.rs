//! The secret-release review. A request never takes keys from a text field: it shows as a
//! banner; this review opens only by a deliberate key that no text field types (F2) or a click
//! on the banner; answering takes another such key (Ctrl-Y releases, Ctrl-N refuses) and only
//! after the request has been on screen for a moment (arming), so a key typed by accident —
//! or a `y` in a word — can never release a secret. Esc goes back without answering.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::any_impl;
use crate::tui::action::Op;
use crate::tui::app::{RELEASE_ARM_TICKS, Shared};
use crate::tui::component::{Cx, Flow, Popup};
use crate::tui::keymap::{Command, Context};
use crate::tui::strings as S;
use crate::tui::widgets::{popup_frame, popup_width, wrap_lines};

pub struct ReleaseReview {
    pub sel: usize,
    /// Ticks since the review opened (arming counts from here too).
    pub ticks: u32,
}

impl ReleaseReview {
    pub fn new(_sh: &Shared) -> ReleaseReview {
        ReleaseReview { sel: 0, ticks: 0 }
    }

    fn armed(&self, sh: &Shared, id: &str) -> bool {
        self.ticks >= RELEASE_ARM_TICKS && sh.release_armed(id)
    }
}

impl Popup for ReleaseReview {
    fn name(&self) -> &'static str {
        "release"
    }
    fn context(&self) -> Context {
        Context::Release
    }
    fn tick(&mut self, _sh: &Shared) -> bool {
        if self.ticks < RELEASE_ARM_TICKS {
            self.ticks += 1;
            return true;
        }
        false
    }
    fn clock(&self, _sh: &Shared) -> String {
        format!("rel{}", self.ticks)
    }
    fn key(&mut self, key: &KeyEvent, cx: &mut Cx) -> Flow {
        let n = cx.sh.pending.len();
        if n == 0 {
            return Flow::Close;
        }
        self.sel = self.sel.min(n - 1);
        match cx.sh.keymap.lookup(Context::Release, key) {
            Some(Command::Down) => self.sel = (self.sel + 1) % n,
            Some(Command::Up) => self.sel = (self.sel + n - 1) % n,
            Some(Command::Close) => return Flow::Close,
            Some(cmd @ (Command::Allow | Command::Deny)) => {
                let r = cx.sh.pending[self.sel].clone();
                let allow = cmd == Command::Allow;
                if allow && !self.armed(cx.sh, &r.id) {
                    return Flow::Keep;
                }
                cx.op(Op::AnswerRelease {
                    id: r.id.clone(),
                    allow,
                });
                cx.sh.pending.retain(|p| p.id != r.id);
                cx.sh.pending_ticks.remove(&r.id);
                cx.sh.pending_until.remove(&r.id);
                if cx.sh.pending.is_empty() {
                    return Flow::Close;
                }
                self.sel = self.sel.min(cx.sh.pending.len() - 1);
            }
            // Everything else — letters included — does nothing here.
            _ => {}
        }
        Flow::Keep
    }
    fn draw(&self, sh: &Shared, f: &mut Frame, area: Rect) {
        let t = sh.theme();
        let km = &sh.keymap;
        let w = popup_width(area, 80);
        let mut lines: Vec<Line> = vec![];
        if sh.pending.is_empty() {
            lines.push(Line::styled(S::RELEASE_GONE, t.dim()));
        }
        let root = sh.project_root().map(|r| r.to_string_lossy().into_owned());
        for (i, r) in sh.pending.iter().enumerate() {
            let sel = i == self.sel.min(sh.pending.len().saturating_sub(1));
            let left = sh
                .pending_until
                .get(&r.id)
                .map(|u| (*u - sh.now).num_seconds().max(0))
                .unwrap_or(r.expires_in_secs as i64);
            let other = match (&root, &r.project) {
                (Some(root), Some(p)) => p != root,
                _ => false,
            };
            let marker = if sel { "▶ " } else { "  " };
            let mut head = vec![
                Span::styled(marker, t.fg(t.accent)),
                Span::styled(r.names.join(", "), t.fg(t.warn)),
                Span::styled(format!("  {left} s left"), t.dim()),
            ];
            if other {
                head.push(Span::styled(
                    format!("  [{}]", S::RELEASE_OTHER),
                    t.fg(t.warn),
                ));
            }
            lines.push(Line::from(head));
            let mut detail = vec![
                format!("command  {}", r.command),
                format!("pid      {}", r.pid),
            ];
            if let Some(c) = &r.cwd {
                detail.push(format!("cwd      {c}"));
            }
            if let Some(p) = &r.project {
                detail.push(format!("project  {p}"));
            }
            for d in wrap_lines(
                &detail
                    .iter()
                    .map(|d| format!("    {d}"))
                    .collect::<Vec<_>>(),
                w,
            ) {
                lines.push(Line::raw(d));
            }
        }
        lines.push(Line::raw(""));
        let armed = sh
            .pending
            .get(self.sel)
            .is_some_and(|r| self.armed(sh, &r.id));
        if !armed && !sh.pending.is_empty() {
            lines.push(Line::styled(S::release_arming(1), t.fg(t.info)));
        }
        let hint = S::release_hint(
            &km.hint_in(Context::Release, Command::Allow),
            &km.hint_in(Context::Release, Command::Deny),
            &km.hint_in(Context::Release, Command::Close),
        );
        for l in wrap_lines(&[hint], w) {
            lines.push(Line::styled(l, t.dim()));
        }
        let h = (lines.len() as u16).min(area.height.saturating_sub(2));
        let inner = popup_frame(t, f, area, S::RELEASE_TITLE, w, h);
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }
    any_impl!();
}
