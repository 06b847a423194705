//! Drawing pieces every component uses: pane frames with "n of m", lists with a scrollbar and a
//! `/` filter, popup frames, and text wrapped the way it is counted (so no popup loses lines).

use std::cell::Cell;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Margin, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, BorderType, Borders, Clear, Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState,
};

use super::field::{FieldEdit, TextField};
use super::keymap::{Command, Context, Keymap};
use super::text::{self, Piece};
use super::theme::Theme;

/// A pane's frame: ` 3 Commits · 2 of 14 ` (the number is its jump key).
pub fn pane_block<'a>(
    t: &Theme,
    number: usize,
    title: &str,
    status: &str,
    focused: bool,
) -> Block<'a> {
    let mut spans = vec![Span::styled(format!(" {number} "), t.fg(t.key))];
    spans.push(Span::styled(
        title.to_string(),
        if focused {
            t.title()
        } else {
            t.fg(t.dim).add_modifier(Modifier::BOLD)
        },
    ));
    if !status.is_empty() {
        spans.push(Span::styled(format!(" · {status}"), t.dim()));
    }
    spans.push(Span::raw(" "));
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(t.border(focused))
        .title(Line::from(spans))
}

/// Pieces as spans: strong pieces in `strong`, the rest in `base`.
pub fn spans<'a>(pieces: Vec<Piece>, base: Style, strong: Style) -> Vec<Span<'a>> {
    pieces
        .into_iter()
        .map(|p| Span::styled(p.text, if p.strong { strong } else { base }))
        .collect()
}

/// Text wrapped to `width`: every logical line becomes one or more display lines. Popups size
/// themselves from this count, so nothing is cut.
pub fn wrap_lines(lines: &[String], width: u16) -> Vec<String> {
    let w = width.max(1) as usize;
    let mut out = vec![];
    for l in lines {
        if l.is_empty() {
            out.push(String::new());
            continue;
        }
        // Keep leading indentation on the first display line.
        let indent: String = l.chars().take_while(|c| *c == ' ').collect();
        let wrapped = text::wrap(l, w.saturating_sub(indent.len()).max(1));
        for part in wrapped {
            out.push(format!("{indent}{part}"));
        }
    }
    out
}

/// A rectangle of at most `w`×`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// A popup's frame (title, double border), cleared underneath; returns the inner area.
/// `h` is the inner height wanted; the popup never exceeds the screen.
pub fn popup_frame(t: &Theme, f: &mut Frame, area: Rect, title: &str, w: u16, h: u16) -> Rect {
    let r = centered(area, w.saturating_add(2), h.saturating_add(2));
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

/// The width popups use on a screen `area` wide.
pub fn popup_width(area: Rect, want: u16) -> u16 {
    want.min(area.width.saturating_sub(4)).max(10)
}

/// A vertical scrollbar on the right edge of `area` when `len` rows do not fit.
pub fn scrollbar(t: &Theme, f: &mut Frame, area: Rect, len: usize, top: usize) {
    let h = area.height as usize;
    if len <= h || area.width == 0 {
        return;
    }
    let mut state = ScrollbarState::new(len.saturating_sub(h)).position(top);
    f.render_stateful_widget(
        Scrollbar::new(ScrollbarOrientation::VerticalRight)
            .begin_symbol(None)
            .end_symbol(None)
            .track_style(t.fg(t.border))
            .thumb_style(t.fg(t.accent)),
        area.inner(Margin {
            vertical: 0,
            horizontal: 0,
        }),
        &mut state,
    );
}

/// The first visible row so that `sel` is visible in `room` rows, moving as little as possible
/// from `prev`.
pub fn window_from(prev: usize, len: usize, sel: usize, room: usize) -> usize {
    if room == 0 || len <= room {
        return 0;
    }
    let mut top = prev.min(len - room);
    if sel < top {
        top = sel;
    } else if sel >= top + room {
        top = sel + 1 - room;
    }
    top
}

/// Selection, scroll and `/` filter of a list pane. Indices are into the *filtered* rows.
#[derive(Debug, Clone, Default)]
pub struct ListView {
    pub sel: usize,
    /// First row drawn last time (kept so the view scrolls only when it must).
    pub top: Cell<usize>,
    /// Rows the list had room for last time (page size).
    pub room: Cell<usize>,
    pub filter: TextField,
    pub filtering: bool,
}

impl ListView {
    /// Whether `text` passes the filter (every word, case-insensitive).
    pub fn matches(&self, text: &str) -> bool {
        let f = self.filter.text();
        if f.trim().is_empty() {
            return true;
        }
        let hay = text.to_lowercase();
        f.to_lowercase().split_whitespace().all(|w| hay.contains(w))
    }

    pub fn filter_text(&self) -> String {
        self.filter.text()
    }

    pub fn has_filter(&self) -> bool {
        !self.filter.is_empty()
    }

    /// Movement and filter commands; true when handled.
    pub fn command(&mut self, cmd: Command, len: usize) -> bool {
        let page = self.room.get().max(1) as isize;
        let delta: isize = match cmd {
            Command::Up => -1,
            Command::Down => 1,
            Command::PageUp => -page,
            Command::PageDown => page,
            Command::Top => isize::MIN / 2,
            Command::Bottom => isize::MAX / 2,
            Command::Filter => {
                self.filtering = true;
                self.filter.set_focused(true);
                return true;
            }
            _ => return false,
        };
        self.sel = if len == 0 {
            0
        } else {
            (self.sel as isize + delta).clamp(0, len as isize - 1) as usize
        };
        true
    }

    /// A key while the filter input has the keyboard. Returns true when the filter text changed.
    pub fn filter_key(&mut self, km: &Keymap, key: &KeyEvent) -> bool {
        match km.lookup(Context::FilterInput, key) {
            Some(Command::Submit) => {
                self.filtering = false;
                self.filter.set_focused(false);
                false
            }
            Some(Command::Cancel) => {
                self.filtering = false;
                self.filter.set_text("");
                self.sel = 0;
                true
            }
            _ => {
                // Up/Down still move through the filtered rows while typing.
                if self.filter.handle(km, key) == FieldEdit::Changed {
                    self.sel = 0;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Keep `sel` inside `len` rows.
    pub fn clamp(&mut self, len: usize) {
        self.sel = self.sel.min(len.saturating_sub(1));
    }

    /// Draw `rows` (already filtered) into `area` with the selection highlighted and a
    /// scrollbar; a filter line at the bottom while a filter is set. Returns nothing; remembers
    /// the window for paging and clicks.
    pub fn draw(
        &self,
        t: &Theme,
        f: &mut Frame,
        area: Rect,
        rows: Vec<Line<'static>>,
        focused: bool,
    ) {
        let mut area = area;
        if self.filtering || self.has_filter() {
            let bottom = Rect::new(
                area.x,
                area.bottom().saturating_sub(1),
                area.width,
                1.min(area.height),
            );
            area.height = area.height.saturating_sub(1);
            let label = Span::styled("/ ", t.fg(t.accent));
            f.render_widget(Paragraph::new(Line::from(vec![label])), bottom);
            let field_area = Rect::new(
                bottom.x + 2,
                bottom.y,
                bottom.width.saturating_sub(2),
                bottom.height,
            );
            self.filter.draw(f, field_area);
        }
        let room = area.height as usize;
        self.room.set(room);
        let top = window_from(self.top.get(), rows.len(), self.sel, room);
        self.top.set(top);
        let len = rows.len();
        let has_bar = len > room;
        let width = if has_bar {
            area.width.saturating_sub(1)
        } else {
            area.width
        };
        let shown: Vec<Line> = rows
            .into_iter()
            .enumerate()
            .skip(top)
            .take(room)
            .map(|(i, l)| {
                if focused && i == self.sel {
                    l.style(t.selected())
                } else {
                    l
                }
            })
            .collect();
        f.render_widget(
            Paragraph::new(shown),
            Rect::new(area.x, area.y, width, area.height),
        );
        scrollbar(t, f, area, len, top);
    }

    /// The row index a click on inner row `row` selects.
    pub fn click(&mut self, row: u16, len: usize) -> Option<usize> {
        let i = self.top.get() + row as usize;
        (i < len).then(|| {
            self.sel = i;
            i
        })
    }
}

/// "3 of 12" (with the filter: "3 of 5 matching, 12 in all").
pub fn n_of_m(sel: usize, shown: usize, total: usize) -> String {
    if total == 0 {
        return String::new();
    }
    if shown == total {
        format!("{} of {total}", (sel + 1).min(shown))
    } else if shown == 0 {
        format!("0 of {total}")
    } else {
        format!(
            "{} of {shown} matching, {total} in all",
            (sel + 1).min(shown)
        )
    }
}

/// A one-line status under a form: working, the error, or the hint.
pub fn status_line<'a>(
    t: &Theme,
    busy: Option<String>,
    error: Option<&str>,
    hint: &str,
) -> Vec<Line<'a>> {
    // (A `Line` does not break at '\n': one Line per text line.)
    if let Some(b) = busy {
        b.lines()
            .map(|l| Line::styled(l.to_string(), t.fg(t.info)))
            .collect()
    } else if let Some(e) = error {
        e.lines()
            .enumerate()
            .map(|(i, l)| {
                let mark = if i == 0 { "✗ " } else { "  " };
                Line::styled(format!("{mark}{l}"), t.fg(t.error))
            })
            .collect()
    } else {
        hint.lines()
            .map(|l| Line::styled(l.to_string(), t.dim()))
            .collect()
    }
}
