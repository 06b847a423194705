//! Yes/no popups: end the session (with a classification preview and "commit the archive"),
//! recover, set an unreadable active session aside, `patina init`. One key rule for all:
//! `y`/Enter confirm, `n`/Esc decline.

use std::path::PathBuf;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::any_impl;
use crate::tui::action::{Msg, Op};
use crate::tui::app::Shared;
use crate::tui::component::{Cx, Flow, Popup};
use crate::tui::keymap::{Command, Context};
use crate::tui::model::*;
use crate::tui::strings as S;
use crate::tui::widgets::{popup_frame, popup_width, status_line, wrap_lines};

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    End {
        preview: Feed<Vec<String>>,
        commit: bool,
    },
    Recover {
        lines: Vec<String>,
    },
    SetAside {
        why: String,
    },
    Init {
        root: PathBuf,
    },
}

pub struct Confirm {
    pub kind: Kind,
    pub waiting: Option<u64>,
    pub error: Option<String>,
    held: usize,
}

/// "3 h 10 min", "5 min".
fn idle_text(mins: i64) -> String {
    if mins >= 60 {
        format!("{} h {:02} min", mins / 60, mins % 60)
    } else {
        format!("{mins} min")
    }
}

impl Confirm {
    fn new(kind: Kind) -> Confirm {
        Confirm {
            kind,
            waiting: None,
            error: None,
            held: 0,
        }
    }

    pub fn end() -> Confirm {
        Confirm::new(Kind::End {
            preview: Feed::Loading,
            commit: false,
        })
    }

    /// Recover, worded after how long the session has really been idle.
    pub fn recover(
        session: Option<&SessionView>,
        now: chrono::DateTime<chrono::FixedOffset>,
    ) -> Confirm {
        let lines = match session {
            None => vec![S::RECOVER_NONE.to_string()],
            Some(s) => {
                let idle = s
                    .last_activity
                    .or(s.started)
                    .map(|t| (now - t).num_minutes().max(0))
                    .unwrap_or(0);
                let first = if s.stale {
                    S::recover_stale(&s.id, &idle_text(idle))
                } else {
                    S::recover_active(&s.id, &idle_text(idle))
                };
                vec![first]
            }
        };
        Confirm::new(Kind::Recover { lines })
    }

    pub fn set_aside(why: String) -> Confirm {
        Confirm::new(Kind::SetAside { why })
    }

    pub fn init(root: PathBuf) -> Confirm {
        Confirm::new(Kind::Init { root })
    }

    fn title(&self) -> &'static str {
        match self.kind {
            Kind::End { .. } => S::END_TITLE,
            Kind::Recover { .. } => S::RECOVER_TITLE,
            Kind::SetAside { .. } => S::UNREADABLE_TITLE,
            Kind::Init { .. } => S::INIT_TITLE,
        }
    }
}

impl Popup for Confirm {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::End { .. } => "end",
            Kind::Recover { .. } => "recover",
            Kind::SetAside { .. } => "set-aside",
            Kind::Init { .. } => "init",
        }
    }
    fn context(&self) -> Context {
        Context::Confirm
    }
    fn waiting(&self) -> Option<u64> {
        self.waiting
    }
    fn set_held(&mut self, n: usize) {
        self.held = n;
    }
    fn key(&mut self, key: &KeyEvent, cx: &mut Cx) -> Flow {
        if self.waiting.is_some() {
            return Flow::Keep;
        }
        match cx.sh.keymap.lookup(Context::Confirm, key) {
            Some(Command::Yes) => {
                let op = match &self.kind {
                    Kind::End { commit, .. } => Op::EndSession { commit: *commit },
                    Kind::Recover { .. } => Op::Recover,
                    Kind::SetAside { .. } => Op::SetAsideSession,
                    Kind::Init { .. } => Op::InitProject,
                };
                self.error = None;
                self.waiting = Some(cx.op(op));
                Flow::Keep
            }
            Some(Command::No) => Flow::Close,
            Some(Command::CommitArchive) => {
                if let Kind::End { commit, .. } = &mut self.kind {
                    *commit = !*commit;
                }
                Flow::Keep
            }
            _ => Flow::Keep,
        }
    }
    fn done(&mut self, result: &Result<String, String>, _cx: &mut Cx) -> Flow {
        self.waiting = None;
        match result {
            Ok(_) => Flow::Close,
            Err(e) => {
                self.error = Some(e.clone());
                Flow::Keep
            }
        }
    }
    fn msg(&mut self, msg: &Msg, _cx: &mut Cx) {
        if let (Msg::EndPreview(r), Kind::End { preview, .. }) = (msg, &mut self.kind) {
            *preview = match r {
                Ok(lines) => Feed::Ready(lines.clone()),
                Err(e) => Feed::Unavailable(e.clone()),
            };
        }
    }
    fn draw(&self, sh: &Shared, f: &mut Frame, area: Rect) {
        let t = sh.theme();
        let km = &sh.keymap;
        let yes = km.hint_in(Context::Confirm, Command::Yes);
        let no = km.hint_in(Context::Confirm, Command::No);
        let mut text: Vec<(bool, String)> = vec![];
        let hint = match &self.kind {
            Kind::End { preview, commit } => {
                if let Some(s) = sh.active_session() {
                    text.push((true, format!("{} · {}", s.id, s.title)));
                }
                match preview {
                    Feed::Loading => text.push((false, S::END_CLASSIFYING.into())),
                    Feed::Unavailable(e) => text.push((false, format!("no preview: {e}"))),
                    Feed::Ready(ls) => text.extend(ls.iter().map(|l| (false, l.clone()))),
                }
                let c = km.hint_in(Context::Confirm, Command::CommitArchive);
                text.push((
                    false,
                    format!(
                        "[{}] commit the archive file",
                        if *commit { "x" } else { " " }
                    ),
                ));
                S::end_hint(*commit, &yes, &no, &c)
            }
            Kind::Recover { lines } => {
                text.extend(lines.iter().map(|l| (false, l.clone())));
                text.push((false, S::RECOVER_WHAT.into()));
                S::recover_hint(&yes, &no)
            }
            Kind::SetAside { why } => {
                text.push((false, S::unreadable_what(why)));
                S::unreadable_hint(&yes, &no)
            }
            Kind::Init { root } => {
                text.push((false, S::init_what(&root.display().to_string())));
                text.push((false, S::INIT_DETAIL.into()));
                S::init_hint(&yes, &no)
            }
        };
        let w = popup_width(area, 76);
        let mut lines: Vec<Line> = vec![];
        for (strong, l) in &text {
            for r in wrap_lines(&l.lines().map(str::to_string).collect::<Vec<_>>(), w) {
                lines.push(if *strong {
                    Line::styled(r, t.title())
                } else {
                    Line::raw(r)
                });
            }
        }
        lines.push(Line::raw(""));
        let busy = self.waiting.map(|_| {
            if self.held > 0 {
                S::waiting_keys(self.held)
            } else {
                S::WORKING.to_string()
            }
        });
        let err = self
            .error
            .as_ref()
            .map(|e| wrap_lines(std::slice::from_ref(e), w.saturating_sub(2)).join("\n"));
        let hint = wrap_lines(&[hint], w).join("\n");
        lines.extend(status_line(t, busy, err.as_deref(), &hint));
        let h = (lines.len() as u16).min(area.height.saturating_sub(2));
        let inner = popup_frame(t, f, area, self.title(), w, h);
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }
    any_impl!();
}
