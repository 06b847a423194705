//! A text field: `ratatui-textarea` underneath (undo, word motions, wrapping, one `String` per
//! line, so a key costs the same in a 20 kB field as in an empty one, up to a linear memmove),
//! driven by our own keymap (`Context::Field`) rather than the widget's built-in shortcuts, so
//! help shows the real keys and `[keys]` can remap them.
//!
//! Rules: a printable key is text; Alt+anything is editing or nothing, never a command (macOS
//! Option-←/→ arrive as Alt-b/Alt-f); single-line fields turn pasted newlines into spaces.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui_textarea::{CursorMove, TextArea, WrapMode};

use super::keymap::{Command, Context, Keymap};

/// What a key did to the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldEdit {
    /// The text changed.
    Changed,
    /// The key belonged to the field (cursor moved, or an Alt-key with no meaning).
    Consumed,
    /// Not the field's key; the caller handles it (Enter, Esc, Tab...).
    Ignored,
}

#[derive(Clone)]
pub struct TextField {
    area: TextArea<'static>,
    multiline: bool,
    focused: bool,
    text_style: Style,
    cursor_style: Style,
}

impl std::fmt::Debug for TextField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextField")
            .field("text", &self.text())
            .field("multiline", &self.multiline)
            .finish()
    }
}

impl PartialEq for TextField {
    fn eq(&self, other: &Self) -> bool {
        self.area.lines() == other.area.lines() && self.multiline == other.multiline
    }
}

impl Default for TextField {
    fn default() -> Self {
        TextField::single("")
    }
}

impl TextField {
    fn build(text: &str, multiline: bool) -> TextField {
        let lines: Vec<String> = if multiline {
            text.split('\n').map(str::to_string).collect()
        } else {
            vec![one_line(text)]
        };
        let mut area = TextArea::new(lines);
        area.set_cursor_line_style(Style::default());
        area.set_max_histories(200);
        if multiline {
            area.set_wrap_mode(WrapMode::WordOrGlyph);
        }
        area.move_cursor(CursorMove::Bottom);
        area.move_cursor(CursorMove::End);
        let mut f = TextField {
            area,
            multiline,
            focused: true,
            text_style: Style::default(),
            cursor_style: Style::default().add_modifier(ratatui::style::Modifier::REVERSED),
        };
        f.apply_styles();
        f
    }

    /// A one-line field.
    pub fn single(text: &str) -> TextField {
        TextField::build(text, false)
    }

    /// A multi-line field (notes, belief statements): Ctrl-J / Alt-Enter insert a newline.
    pub fn multi(text: &str) -> TextField {
        TextField::build(text, true)
    }

    pub fn is_multiline(&self) -> bool {
        self.multiline
    }

    /// The text, lines joined with `\n`.
    pub fn text(&self) -> String {
        self.area.lines().join("\n")
    }

    pub fn is_empty(&self) -> bool {
        self.area.is_empty()
    }

    /// Characters in the field (for the 20 kB checks and the counter).
    pub fn len_chars(&self) -> usize {
        self.area
            .lines()
            .iter()
            .map(|l| l.chars().count() + 1)
            .sum::<usize>()
            .saturating_sub(1)
    }

    pub fn set_text(&mut self, text: &str) {
        let focused = self.focused;
        *self = TextField::build(text, self.multiline);
        self.set_focused(focused);
    }

    /// The cursor as (line, column in characters).
    pub fn cursor(&self) -> (usize, usize) {
        let c = self.area.cursor();
        (c.0, c.1)
    }

    /// The cursor is at the very end of the text.
    pub fn at_end(&self) -> bool {
        let (row, col) = self.cursor();
        let lines = self.area.lines();
        row + 1 == lines.len() && col == lines[row].chars().count()
    }

    pub fn set_focused(&mut self, focused: bool) {
        self.focused = focused;
        self.apply_styles();
    }

    pub fn set_styles(&mut self, text: Style, cursor: Style) {
        self.text_style = text;
        self.cursor_style = cursor;
        self.apply_styles();
    }

    pub fn set_placeholder(&mut self, text: &str, style: Style) {
        self.area.set_placeholder_text(text.to_string());
        self.area.set_placeholder_style(style);
    }

    fn apply_styles(&mut self) {
        self.area.set_style(self.text_style);
        self.area.set_cursor_style(if self.focused {
            self.cursor_style
        } else {
            self.text_style
        });
    }

    /// Insert pasted text at the cursor (one undo step).
    pub fn paste(&mut self, text: &str) -> bool {
        let clean: String = if self.multiline {
            text.replace("\r\n", "\n").replace('\r', "\n")
        } else {
            one_line(text)
        };
        let clean: String = clean
            .chars()
            .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
            .collect();
        self.area.insert_str(clean)
    }

    /// Apply a key: the field's commands from `Context::Field`, then text.
    pub fn handle(&mut self, km: &Keymap, key: &KeyEvent) -> FieldEdit {
        if let Some(cmd) = km.lookup(Context::Field, key)
            && let Some(edit) = self.command(cmd)
        {
            return edit;
        }
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char(c) if !alt && !ctrl => {
                self.area.insert_char(c);
                FieldEdit::Changed
            }
            // Alt+anything else is editing that means nothing here: swallowed, never a command.
            KeyCode::Char(_) if alt && !ctrl => FieldEdit::Consumed,
            _ => FieldEdit::Ignored,
        }
    }

    /// Run an editing command; `None` when it does not apply to this field (the caller may use
    /// the key: Up/Down in a one-line field, Newline in a one-line field).
    pub fn command(&mut self, cmd: Command) -> Option<FieldEdit> {
        use FieldEdit::{Changed, Consumed};
        let moved = |area: &mut TextArea<'static>, m: CursorMove| {
            area.move_cursor(m);
            Consumed
        };
        let changed = |b: bool| if b { Changed } else { Consumed };
        Some(match cmd {
            Command::CharLeft => moved(&mut self.area, CursorMove::Back),
            Command::CharRight => moved(&mut self.area, CursorMove::Forward),
            Command::WordLeft => moved(&mut self.area, CursorMove::WordBack),
            Command::WordRight => moved(&mut self.area, CursorMove::WordForward),
            Command::LineStart => moved(&mut self.area, CursorMove::Head),
            Command::LineEnd => moved(&mut self.area, CursorMove::End),
            Command::LineUp if self.multiline && self.cursor().0 > 0 => {
                moved(&mut self.area, CursorMove::Up)
            }
            Command::LineDown
                if self.multiline && self.cursor().0 + 1 < self.area.lines().len() =>
            {
                moved(&mut self.area, CursorMove::Down)
            }
            Command::DeleteBack => changed(self.area.delete_char()),
            Command::DeleteForward => changed(self.area.delete_next_char()),
            Command::DeleteWordBack => changed(self.area.delete_word()),
            Command::DeleteWordForward => changed(self.area.delete_next_word()),
            Command::KillToEnd => {
                let (row, col) = self.cursor();
                if col == self.area.lines()[row].chars().count() {
                    changed(self.area.delete_next_char())
                } else {
                    changed(self.area.delete_line_by_end())
                }
            }
            Command::KillToStart => changed(self.area.delete_line_by_head()),
            Command::Undo => changed(self.area.undo()),
            Command::Redo => changed(self.area.redo()),
            Command::Newline if self.multiline => {
                self.area.insert_newline();
                Changed
            }
            _ => return None,
        })
    }

    /// Rows the text takes when wrapped to `width` (one-line fields: 1).
    pub fn rows(&self, width: u16) -> u16 {
        if !self.multiline {
            return 1;
        }
        let w = width.max(1) as usize;
        self.area
            .lines()
            .iter()
            .map(|l| {
                (unicode_width::UnicodeWidthStr::width(l.as_str()) + 1)
                    .div_ceil(w)
                    .max(1)
            })
            .sum::<usize>()
            .min(u16::MAX as usize) as u16
    }

    pub fn draw(&self, f: &mut Frame, area: Rect) {
        f.render_widget(&self.area, area);
    }
}

/// Newlines, tabs and runs of them become one space.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = false;
    for c in s.chars() {
        if c == '\n' || c == '\r' || c == '\t' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else if !c.is_control() {
            out.push(c);
            last_space = c == ' ';
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    fn typed(f: &mut TextField, km: &Keymap, s: &str) {
        for c in s.chars() {
            f.handle(km, &k(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    #[test]
    fn emacs_motions_word_deletion_and_undo() {
        let km = Keymap::default();
        let mut f = TextField::single("");
        typed(&mut f, &km, "héllo wörld again");
        assert_eq!(
            f.handle(&km, &k(KeyCode::Char('b'), KeyModifiers::ALT)),
            FieldEdit::Consumed
        );
        typed(&mut f, &km, "X");
        assert_eq!(f.text(), "héllo wörld Xagain");
        f.handle(&km, &k(KeyCode::Char('w'), KeyModifiers::CONTROL));
        assert_eq!(f.text(), "héllo wörld again");
        f.handle(&km, &k(KeyCode::Char('_'), KeyModifiers::CONTROL));
        assert_eq!(f.text(), "héllo wörld Xagain");
        // An Alt-letter that means nothing is swallowed, not typed.
        assert_eq!(
            f.handle(&km, &k(KeyCode::Char('z'), KeyModifiers::ALT)),
            FieldEdit::Consumed
        );
        assert_eq!(f.text(), "héllo wörld Xagain");
        f.handle(&km, &k(KeyCode::Char('a'), KeyModifiers::CONTROL));
        f.handle(&km, &k(KeyCode::Char('k'), KeyModifiers::CONTROL));
        assert_eq!(f.text(), "");
    }

    #[test]
    fn single_line_flattens_pastes_multi_keeps_lines() {
        let mut s = TextField::single("");
        s.paste("a\nb\r\nc");
        assert_eq!(s.text(), "a b c");
        let mut m = TextField::multi("");
        m.paste("a\nb\r\nc");
        assert_eq!(m.text(), "a\nb\nc");
        let km = Keymap::default();
        m.handle(&km, &k(KeyCode::Char('j'), KeyModifiers::CONTROL));
        typed(&mut m, &km, "d");
        assert_eq!(m.text(), "a\nb\nc\nd");
        assert_eq!(
            s.handle(&km, &k(KeyCode::Char('j'), KeyModifiers::CONTROL)),
            FieldEdit::Ignored
        );
    }
}
