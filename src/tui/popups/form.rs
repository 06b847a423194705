//! Text forms: start a session (title, llm), a note (multi-line), a goal. Enter saves, Tab moves
//! between fields, Esc cancels; while the save runs the form says "working…" and the keys typed
//! meanwhile wait (App replays them after the answer). A failure keeps the text and shows why.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::any_impl;
use crate::tui::action::Op;
use crate::tui::app::Shared;
use crate::tui::component::{Cx, Flow, Popup};
use crate::tui::field::TextField;
use crate::tui::keymap::{Command, Context};
use crate::tui::strings as S;
use crate::tui::widgets::{popup_frame, popup_width, status_line, wrap_lines};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    Start,
    Note,
    Goal,
}

pub struct Form {
    pub kind: FormKind,
    /// (label, field)
    pub fields: Vec<(&'static str, TextField)>,
    pub field: usize,
    pub waiting: Option<u64>,
    pub error: Option<String>,
    held: usize,
}

impl Form {
    fn new(kind: FormKind, fields: Vec<(&'static str, TextField)>) -> Form {
        let mut f = Form {
            kind,
            fields,
            field: 0,
            waiting: None,
            error: None,
            held: 0,
        };
        f.focus(0);
        f
    }

    pub fn start(default_llm: &str) -> Form {
        Form::new(
            FormKind::Start,
            vec![
                ("title", TextField::single("")),
                ("llm", TextField::single(default_llm)),
            ],
        )
    }

    pub fn note() -> Form {
        Form::new(FormKind::Note, vec![("note", TextField::multi(""))])
    }

    pub fn goal() -> Form {
        Form::new(FormKind::Goal, vec![("goal", TextField::single(""))])
    }

    fn focus(&mut self, i: usize) {
        self.field = i;
        for (k, (_, f)) in self.fields.iter_mut().enumerate() {
            f.set_focused(k == i);
        }
    }

    /// The text of field `i` (tests).
    pub fn text(&self, i: usize) -> String {
        self.fields[i].1.text()
    }

    fn submit(&mut self, cx: &mut Cx) {
        let first = self.fields[0].1.text().trim().to_string();
        if first.is_empty() {
            self.error = Some(match self.kind {
                FormKind::Start => S::TITLE_REQUIRED.into(),
                _ => S::EMPTY_TEXT.into(),
            });
            self.focus(0);
            return;
        }
        let op = match self.kind {
            FormKind::Start => {
                let llm = self.fields[1].1.text().trim().to_string();
                Op::StartSession {
                    title: first,
                    llm: (!llm.is_empty()).then_some(llm),
                }
            }
            FormKind::Note => Op::Note(first),
            FormKind::Goal => Op::AddGoal(first),
        };
        self.error = None;
        self.waiting = Some(cx.op(op));
    }

    fn title(&self) -> &'static str {
        match self.kind {
            FormKind::Start => S::START_TITLE,
            FormKind::Note => S::NOTE_TITLE,
            FormKind::Goal => S::GOAL_TITLE,
        }
    }
}

impl Popup for Form {
    fn name(&self) -> &'static str {
        match self.kind {
            FormKind::Start => "start",
            FormKind::Note => "note",
            FormKind::Goal => "goal",
        }
    }
    fn context(&self) -> Context {
        Context::Form
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
        let n = self.fields.len();
        match cx.sh.keymap.lookup(Context::Form, key) {
            Some(Command::Submit) => self.submit(cx),
            Some(Command::Cancel) => return Flow::Close,
            Some(Command::NextField) => self.focus((self.field + 1) % n),
            Some(Command::PrevField) => self.focus((self.field + n - 1) % n),
            _ => {
                let field = &mut self.fields[self.field].1;
                if field.handle(&cx.sh.keymap, key) == crate::tui::field::FieldEdit::Changed {
                    self.error = None;
                }
            }
        }
        Flow::Keep
    }
    fn paste(&mut self, text: &str, _cx: &mut Cx) {
        if self.waiting.is_none() {
            self.fields[self.field].1.paste(text);
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
    fn draw(&self, sh: &Shared, f: &mut Frame, area: Rect) {
        let t = sh.theme();
        let km = &sh.keymap;
        let w = popup_width(area, 76);
        let label_w = self.fields.iter().map(|(l, _)| l.len()).max().unwrap_or(4) as u16 + 1;
        let field_w = w.saturating_sub(label_w + 1);
        // Multi-line fields grow with their text, up to half the screen.
        let heights: Vec<u16> = self
            .fields
            .iter()
            .map(|(_, fl)| fl.rows(field_w).clamp(1, (area.height / 2).max(1)))
            .collect();
        let submit = km.hint_in(Context::Form, Command::Submit);
        let cancel = km.hint_in(Context::Form, Command::Cancel);
        let hint = if self.kind == FormKind::Note {
            S::note_hint(
                &submit,
                &km.hint_in(Context::Field, Command::Newline),
                &cancel,
            )
        } else {
            S::form_hint(
                &submit,
                &km.hint_in(Context::Form, Command::NextField),
                &cancel,
            )
        };
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
        let status = status_line(t, busy, err.as_deref(), &wrap_lines(&[hint], w).join("\n"));
        let status_h = status.len() as u16;
        let h = heights.iter().sum::<u16>() + 1 + status_h;
        let inner = popup_frame(
            t,
            f,
            area,
            self.title(),
            w,
            h.min(area.height.saturating_sub(2)),
        );
        let mut y = inner.y;
        for (i, ((label, field), fh)) in self.fields.iter().zip(&heights).enumerate() {
            if y >= inner.bottom() {
                break;
            }
            let fh = (*fh).min(inner.bottom() - y);
            let style = if i == self.field {
                t.fg(t.accent)
            } else {
                t.dim()
            };
            f.render_widget(
                Paragraph::new(Span::styled(
                    format!("{label:>lw$} ", lw = label_w as usize - 1),
                    style,
                )),
                Rect::new(inner.x, y, label_w, 1),
            );
            let mut field = field.clone();
            let bg = if i == self.field {
                ratatui::style::Style::default().fg(t.text).bg(t.input_bg)
            } else {
                ratatui::style::Style::default().fg(t.text)
            };
            field.set_styles(bg, bg.add_modifier(ratatui::style::Modifier::REVERSED));
            field.set_focused(i == self.field && self.waiting.is_none());
            field.draw(
                f,
                Rect::new(
                    inner.x + label_w,
                    y,
                    field_w.min(inner.width.saturating_sub(label_w)),
                    fh,
                ),
            );
            y += fh;
        }
        let mut lines = vec![Line::raw("")];
        lines.extend(status);
        if y < inner.bottom() {
            f.render_widget(
                Paragraph::new(lines),
                Rect::new(inner.x, y, inner.width, inner.bottom() - y),
            );
        }
    }
    any_impl!();
}
