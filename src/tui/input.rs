//! A one-line text field: editing by characters (never bytes), emacs-style shortcuts.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use unicode_width::UnicodeWidthStr;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    text: String,
    /// Cursor position in characters.
    cursor: usize,
}

/// What a key did to the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The text changed.
    Changed,
    /// Only the cursor moved.
    Moved,
    /// Not an editing key; the caller handles it.
    Ignored,
}

impl Input {
    pub fn new(text: &str) -> Input {
        Input {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn set(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = text.chars().count();
    }

    pub fn clear(&mut self) {
        self.set("");
    }

    fn byte_at(&self, char_idx: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_idx)
            .map(|(b, _)| b)
            .unwrap_or(self.text.len())
    }

    pub fn insert_str(&mut self, s: &str) {
        // Pasted newlines become spaces: every field is one line.
        let clean: String = s
            .chars()
            .map(|c| {
                if c == '\n' || c == '\r' || c == '\t' {
                    ' '
                } else {
                    c
                }
            })
            .filter(|c| !c.is_control())
            .collect();
        let at = self.byte_at(self.cursor);
        self.text.insert_str(at, &clean);
        self.cursor += clean.chars().count();
    }

    /// Apply an editing key.
    pub fn handle(&mut self, key: &KeyEvent) -> Edit {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let len = self.text.chars().count();
        match key.code {
            KeyCode::Char(c) if !ctrl && !alt => {
                let at = self.byte_at(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
                Edit::Changed
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let at = self.byte_at(self.cursor - 1);
                self.text.remove(at);
                self.cursor -= 1;
                Edit::Changed
            }
            KeyCode::Backspace => Edit::Moved,
            KeyCode::Delete | KeyCode::Char('d') if ctrl || key.code == KeyCode::Delete => {
                if self.cursor < len {
                    let at = self.byte_at(self.cursor);
                    self.text.remove(at);
                    Edit::Changed
                } else {
                    Edit::Moved
                }
            }
            KeyCode::Left | KeyCode::Char('b') if key.code == KeyCode::Left || ctrl => {
                self.cursor = self.cursor.saturating_sub(1);
                Edit::Moved
            }
            KeyCode::Right | KeyCode::Char('f') if key.code == KeyCode::Right || ctrl => {
                self.cursor = (self.cursor + 1).min(len);
                Edit::Moved
            }
            KeyCode::Home | KeyCode::Char('a') if key.code == KeyCode::Home || ctrl => {
                self.cursor = 0;
                Edit::Moved
            }
            KeyCode::End | KeyCode::Char('e') if key.code == KeyCode::End || ctrl => {
                self.cursor = len;
                Edit::Moved
            }
            KeyCode::Char('u') if ctrl => {
                let at = self.byte_at(self.cursor);
                self.text.replace_range(..at, "");
                self.cursor = 0;
                Edit::Changed
            }
            KeyCode::Char('k') if ctrl => {
                let at = self.byte_at(self.cursor);
                self.text.truncate(at);
                Edit::Changed
            }
            KeyCode::Char('w') if ctrl => {
                let chars: Vec<char> = self.text.chars().collect();
                let mut start = self.cursor;
                while start > 0 && chars[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && chars[start - 1] != ' ' {
                    start -= 1;
                }
                let (a, b) = (self.byte_at(start), self.byte_at(self.cursor));
                self.text.replace_range(a..b, "");
                self.cursor = start;
                Edit::Changed
            }
            _ => Edit::Ignored,
        }
    }

    /// The visible slice for a field `width` cells wide and the cursor's cell offset in it.
    pub fn view(&self, width: usize) -> (String, usize) {
        if width == 0 {
            return (String::new(), 0);
        }
        let chars: Vec<char> = self.text.chars().collect();
        // Scroll so the cursor stays inside the field.
        let mut start = 0;
        loop {
            let before: String = chars[start..self.cursor].iter().collect();
            if before.width() < width || start >= self.cursor {
                break;
            }
            start += 1;
        }
        let mut shown = String::new();
        for c in &chars[start..] {
            let mut next = shown.clone();
            next.push(*c);
            if next.width() > width {
                break;
            }
            shown = next;
        }
        let before: String = chars[start..self.cursor].iter().collect();
        (shown, before.width())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEvent;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn edits_by_characters() {
        let mut i = Input::default();
        for c in "héllo wörld".chars() {
            i.handle(&k(KeyCode::Char(c)));
        }
        i.handle(&k(KeyCode::Backspace));
        assert_eq!(i.text(), "héllo wörl");
        i.handle(&KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL));
        assert_eq!(i.text(), "héllo ");
        i.handle(&k(KeyCode::Home));
        i.handle(&k(KeyCode::Delete));
        assert_eq!(i.text(), "éllo ");
        i.insert_str("a\nb");
        assert_eq!(i.text(), "a béllo ");
    }

    #[test]
    fn view_keeps_cursor_visible() {
        let i = Input::new("abcdefghij");
        let (shown, cur) = i.view(5);
        assert_eq!(shown, "ghij");
        assert_eq!(cur, 4);
        assert_eq!(Input::new("").view(0), (String::new(), 0));
    }
}
