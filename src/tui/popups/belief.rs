//! Belief capture: id (checked as you type), statement and evidence (multi-line), supports /
//! attacks with a completion list to choose from (Ctrl-N/P or ↓/↑ pick, Enter takes), facets,
//! entrenchment (←/→).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::any_impl;
use crate::tui::action::{Effect, Msg, Op};
use crate::tui::app::Shared;
use crate::tui::component::{Cx, Flow, Popup};
use crate::tui::field::{FieldEdit, TextField};
use crate::tui::keymap::{Command, Context};
use crate::tui::model::BeliefDraft;
use crate::tui::strings as S;
use crate::tui::widgets::{popup_frame, popup_width, status_line, wrap_lines};

/// The form's fields, in Tab order.
pub const BELIEF_FIELDS: [&str; 7] = [
    "id",
    "statement",
    "evidence",
    "supports",
    "attacks",
    "facets",
    "entrenchment",
];
const ENTRENCHMENTS: [&str; 4] = ["low", "medium", "high", "very-high"];
const LINK_FIELDS: [usize; 2] = [3, 4];

/// Problems with a belief id as typed, or `None` when it is fine.
pub fn id_problem(id: &str, known: &[String]) -> Option<String> {
    if id.is_empty() {
        return Some("required".into());
    }
    let first_ok = id.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if !first_ok
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Some("use a-z, 0-9 and -, starting with a letter".into());
    }
    if known.iter().any(|k| k == id) {
        return Some(format!("`{id}` already exists"));
    }
    None
}

pub struct BeliefForm {
    pub fields: Vec<TextField>,
    pub field: usize,
    /// Known ids completing the current supports/attacks token.
    pub completions: Vec<String>,
    /// The highlighted completion (None until ↓ / Ctrl-N).
    pub pick: Option<usize>,
    pub waiting: Option<u64>,
    pub error: Option<String>,
    held: usize,
}

impl Default for BeliefForm {
    fn default() -> Self {
        BeliefForm::new()
    }
}

impl BeliefForm {
    pub fn new() -> BeliefForm {
        let fields = BELIEF_FIELDS
            .iter()
            .enumerate()
            .map(|(i, _)| match i {
                1 | 2 => TextField::multi(""),
                6 => TextField::single("medium"),
                _ => TextField::single(""),
            })
            .collect();
        let mut f = BeliefForm {
            fields,
            field: 0,
            completions: vec![],
            pick: None,
            waiting: None,
            error: None,
            held: 0,
        };
        f.focus(0);
        f
    }

    fn focus(&mut self, i: usize) {
        self.field = i;
        self.completions.clear();
        self.pick = None;
        for (k, f) in self.fields.iter_mut().enumerate() {
            f.set_focused(k == i);
        }
    }

    fn list(&self, i: usize) -> Vec<String> {
        self.fields[i]
            .text()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }

    pub fn draft(&self) -> BeliefDraft {
        let evidence = self.fields[2].text().trim().to_string();
        BeliefDraft {
            id: self.fields[0].text().trim().to_string(),
            statement: self.fields[1].text().trim().to_string(),
            evidence: if evidence.is_empty() {
                vec![]
            } else {
                vec![evidence]
            },
            supports: self.list(3),
            attacks: self.list(4),
            facets: self.list(5),
            entrenchment: self.fields[6].text().trim().to_string(),
        }
    }

    /// The token being completed in a supports/attacks field.
    pub fn current_token(&self) -> Option<String> {
        if !LINK_FIELDS.contains(&self.field) {
            return None;
        }
        let text = self.fields[self.field].text();
        Some(text.rsplit(',').next().unwrap_or("").trim().to_string())
    }

    fn accept(&mut self, i: usize) {
        let f = self.field;
        let text = self.fields[f].text();
        let head = match text.rfind(',') {
            Some(k) => format!("{}, ", text[..k].trim_end()),
            None => String::new(),
        };
        if let Some(c) = self.completions.get(i).cloned() {
            self.fields[f].set_text(&format!("{head}{c}"));
        }
        self.completions.clear();
        self.pick = None;
    }

    fn submit(&mut self, cx: &mut Cx) {
        let draft = self.draft();
        let known = cx.sh.known_belief_ids();
        let problem = if let Some(p) = id_problem(&draft.id, &known) {
            self.focus(0);
            Some(format!("id: {p}"))
        } else if draft.statement.is_empty() {
            self.focus(1);
            Some("statement: required".into())
        } else if !ENTRENCHMENTS.contains(&draft.entrenchment.as_str()) {
            self.focus(6);
            Some(format!("entrenchment: one of {}", ENTRENCHMENTS.join(", ")))
        } else {
            None
        };
        match problem {
            Some(p) => self.error = Some(p),
            None => {
                self.error = None;
                self.waiting = Some(cx.op(Op::CreateBelief(draft)));
            }
        }
    }

    fn completing(&self) -> bool {
        LINK_FIELDS.contains(&self.field) && !self.completions.is_empty()
    }
}

impl Popup for BeliefForm {
    fn name(&self) -> &'static str {
        "belief"
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
        let n = BELIEF_FIELDS.len();
        let cmd = cx.sh.keymap.lookup(Context::Form, key);
        // The completion list takes ↑/↓ (and Ctrl-P/N) and Enter while it is open.
        if self.completing() {
            let len = self.completions.len();
            let down = matches!(cmd, Some(Command::CompletionNext)) || key.code == KeyCode::Down;
            let up = matches!(cmd, Some(Command::CompletionPrev)) || key.code == KeyCode::Up;
            if down {
                self.pick = Some(self.pick.map_or(0, |p| (p + 1) % len));
                return Flow::Keep;
            }
            if up {
                self.pick = Some(self.pick.map_or(len - 1, |p| (p + len - 1) % len));
                return Flow::Keep;
            }
            if matches!(cmd, Some(Command::Submit))
                && let Some(p) = self.pick
            {
                self.accept(p);
                return Flow::Keep;
            }
            if key.code == KeyCode::Right && self.fields[self.field].at_end() {
                self.accept(self.pick.unwrap_or(0));
                return Flow::Keep;
            }
        }
        match cmd {
            Some(Command::Submit) => self.submit(cx),
            Some(Command::Cancel) => return Flow::Close,
            Some(Command::NextField) => self.focus((self.field + 1) % n),
            Some(Command::PrevField) => self.focus((self.field + n - 1) % n),
            _ if self.field == 6 && matches!(key.code, KeyCode::Left | KeyCode::Right) => {
                let cur = ENTRENCHMENTS
                    .iter()
                    .position(|e| *e == self.fields[6].text())
                    .unwrap_or(1);
                let next = if key.code == KeyCode::Right {
                    (cur + 1).min(ENTRENCHMENTS.len() - 1)
                } else {
                    cur.saturating_sub(1)
                };
                self.fields[6].set_text(ENTRENCHMENTS[next]);
            }
            _ => {
                let f = self.field;
                if self.fields[f].handle(&cx.sh.keymap, key) == FieldEdit::Changed {
                    self.error = None;
                    if let Some(tok) = self.current_token() {
                        self.pick = None;
                        self.completions = if tok.is_empty() {
                            vec![]
                        } else {
                            cx.sh
                                .known_belief_ids()
                                .into_iter()
                                .filter(|k| k.starts_with(&tok) && *k != tok)
                                .take(8)
                                .collect()
                        };
                        if !tok.is_empty() {
                            cx.effect(Effect::CompleteLink(tok));
                        }
                    }
                }
            }
        }
        Flow::Keep
    }
    fn paste(&mut self, text: &str, _cx: &mut Cx) {
        if self.waiting.is_none() {
            let f = self.field;
            self.fields[f].paste(text);
        }
    }
    fn msg(&mut self, msg: &Msg, _cx: &mut Cx) {
        if let Msg::Completions { prefix, items } = msg
            && self.current_token().as_deref() == Some(prefix.as_str())
        {
            let mut all = items.clone();
            for c in std::mem::take(&mut self.completions) {
                if !all.contains(&c) {
                    all.push(c);
                }
            }
            all.retain(|c| c != prefix);
            all.truncate(8);
            self.completions = all;
            self.pick = self.pick.filter(|p| *p < self.completions.len());
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
        let w = popup_width(area, 80);
        let label_w: u16 = 13;
        let field_w = w.saturating_sub(label_w);
        // Rows: each field (multi-line ones grow), plus hint rows under some fields.
        let mut rows: Vec<(u16, Option<usize>, Line)> = vec![];
        let id_hint = {
            let id = self.fields[0].text();
            (!id.is_empty())
                .then(|| id_problem(id.trim(), &sh.known_belief_ids()))
                .flatten()
        };
        for (i, name) in BELIEF_FIELDS.iter().enumerate() {
            let h = self.fields[i].rows(field_w).clamp(1, 6);
            rows.push((
                h,
                Some(i),
                Line::styled(
                    format!("{name:>12} "),
                    if i == self.field {
                        t.fg(t.accent)
                    } else {
                        t.dim()
                    },
                ),
            ));
            if i == 0
                && let Some(p) = &id_hint
            {
                rows.push((
                    1,
                    None,
                    Line::styled(format!("{:>12} {p}", ""), t.fg(t.warn)),
                ));
            }
            if i == self.field && self.completing() {
                for (k, c) in self.completions.iter().enumerate() {
                    let style = if self.pick == Some(k) {
                        t.selected()
                    } else {
                        t.fg(t.info)
                    };
                    rows.push((
                        1,
                        None,
                        Line::from(vec![
                            Span::raw(format!("{:>12} ", "")),
                            Span::styled(format!(" {c} "), style),
                        ]),
                    ));
                }
                let hint = S::completion_hint(
                    &km.hint_in(Context::Form, Command::CompletionNext),
                    &km.hint_in(Context::Form, Command::Submit),
                );
                rows.push((1, None, Line::styled(format!("{:>12} {hint}", ""), t.dim())));
            }
            if i == self.field && i == 6 {
                rows.push((
                    1,
                    None,
                    Line::styled(format!("{:>12} {}", "", S::ENTRENCHMENT_HINT), t.dim()),
                ));
            }
        }
        let submit = km.hint_in(Context::Form, Command::Submit);
        let hint = format!(
            "{} · {}",
            S::form_hint(
                &submit,
                &km.hint_in(Context::Form, Command::NextField),
                &km.hint_in(Context::Form, Command::Cancel)
            ),
            S::BELIEF_LISTS
        );
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
        let mut status = vec![Line::raw("")];
        status.extend(status_line(
            t,
            busy,
            err.as_deref(),
            &wrap_lines(&[hint], w).join("\n"),
        ));
        let h: u16 = rows.iter().map(|r| r.0).sum::<u16>() + status.len() as u16;
        let inner = popup_frame(
            t,
            f,
            area,
            S::BELIEF_TITLE,
            w,
            h.min(area.height.saturating_sub(2)),
        );
        let mut y = inner.y;
        for (h, field, line) in rows {
            if y >= inner.bottom() {
                break;
            }
            let h = h.min(inner.bottom() - y);
            f.render_widget(Paragraph::new(line), Rect::new(inner.x, y, inner.width, 1));
            if let Some(i) = field {
                let mut fl = self.fields[i].clone();
                let bg = if i == self.field {
                    ratatui::style::Style::default().fg(t.text).bg(t.input_bg)
                } else {
                    ratatui::style::Style::default().fg(t.text)
                };
                fl.set_styles(bg, bg.add_modifier(ratatui::style::Modifier::REVERSED));
                fl.set_focused(i == self.field && self.waiting.is_none());
                fl.draw(
                    f,
                    Rect::new(
                        inner.x + label_w,
                        y,
                        field_w.min(inner.width.saturating_sub(label_w)),
                        h,
                    ),
                );
            }
            y += h;
        }
        if y < inner.bottom() {
            f.render_widget(
                Paragraph::new(status),
                Rect::new(inner.x, y, inner.width, inner.bottom() - y),
            );
        }
    }
    any_impl!();
}
