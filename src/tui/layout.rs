//! Where everything goes for a screen size. Pure: the same function places the frame for
//! drawing and answers "what is under the mouse".
//!
//! - ≥ 80 columns and ≥ 14 body rows: two columns (each pane says which); the focused pane gets
//!   twice the weight; when a column is too short every pane keeps at least its title row.
//! - narrower: one column with every pane stacked, the same rules; when even that does not fit,
//!   a tab row (scrolled so the focused tab is always on screen) and the focused pane alone.
//! - below 30×8: a one-line notice.
//!
//! Rows from the top: the release banner (only while a request waits), the panes, the toasts
//! (drawn over the panes' bottom), the key-hint bar, the status bar.

use ratatui::layout::Rect;
use unicode_width::UnicodeWidthStr;

use super::app::App;
use super::component::Column;

pub const TWO_COLUMNS_MIN_WIDTH: u16 = 80;
const TWO_COLUMNS_MIN_HEIGHT: u16 = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaneRect {
    pub index: usize,
    pub rect: Rect,
    /// Only its title row shows.
    pub collapsed: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub banner: Option<Rect>,
    pub panes: Vec<PaneRect>,
    /// Tab mode: the row and each visible tab's cell.
    pub tabs: Option<(Rect, Vec<(usize, Rect)>)>,
    pub hints: Option<Rect>,
    pub status: Rect,
    pub body: Rect,
    pub too_small: bool,
}

impl Layout {
    /// The pane under a point.
    pub fn pane_at(&self, x: u16, y: u16) -> Option<usize> {
        self.panes
            .iter()
            .find(|p| contains(p.rect, x, y))
            .map(|p| p.index)
    }

    /// The tab under a point (tab mode).
    pub fn tab_at(&self, x: u16, y: u16) -> Option<usize> {
        let (_, cells) = self.tabs.as_ref()?;
        cells
            .iter()
            .find(|(_, r)| contains(*r, x, y))
            .map(|(i, _)| *i)
    }

    /// A pane's inner area (inside its border), if it is shown expanded.
    pub fn inner_of(&self, index: usize) -> Option<Rect> {
        let p = self
            .panes
            .iter()
            .find(|p| p.index == index && !p.collapsed)?;
        let r = p.rect;
        Some(Rect::new(
            r.x + 1,
            r.y + 1,
            r.width.saturating_sub(2),
            r.height.saturating_sub(2),
        ))
    }
}

fn contains(r: Rect, x: u16, y: u16) -> bool {
    x >= r.x && x < r.right() && y >= r.y && y < r.bottom()
}

pub fn layout(area: Rect, app: &App) -> Layout {
    let mut l = Layout::default();
    if area.width < 30 || area.height < 8 {
        l.too_small = true;
        l.status = area;
        return l;
    }
    let mut top = area.y;
    let mut bottom = area.bottom();
    if !app.sh.pending.is_empty() {
        l.banner = Some(Rect::new(area.x, top, area.width, 1));
        top += 1;
    }
    bottom -= 1;
    l.status = Rect::new(area.x, bottom, area.width, 1);
    if area.height >= 12 {
        bottom -= 1;
        l.hints = Some(Rect::new(area.x, bottom, area.width, 1));
    }
    let body = Rect::new(area.x, top, area.width, bottom.saturating_sub(top));
    l.body = body;
    let n = app.panes.len();
    if n == 0 {
        return l;
    }
    if body.width >= TWO_COLUMNS_MIN_WIDTH && body.height >= TWO_COLUMNS_MIN_HEIGHT {
        let left_w = if body.width >= 100 {
            body.width * 45 / 100
        } else {
            body.width / 2
        };
        let left = Rect::new(body.x, body.y, left_w, body.height);
        let right = Rect::new(body.x + left_w, body.y, body.width - left_w, body.height);
        let in_col =
            |c: Column| -> Vec<usize> { (0..n).filter(|i| app.panes[*i].column() == c).collect() };
        l.panes.extend(column(app, left, &in_col(Column::Left)));
        l.panes.extend(column(app, right, &in_col(Column::Right)));
        return l;
    }
    let all: Vec<usize> = (0..n).collect();
    if body.height >= n as u16 + 5 {
        l.panes = column(app, body, &all);
        return l;
    }
    // Tab mode: one row of tabs, scrolled so the focused one is visible, then the pane.
    let tab_row = Rect::new(body.x, body.y, body.width, 1);
    let labels: Vec<String> = app
        .panes
        .iter()
        .enumerate()
        .map(|(i, p)| format!(" {} {} ", i + 1, p.title()))
        .collect();
    let widths: Vec<u16> = labels.iter().map(|s| s.width() as u16 + 1).collect();
    let mut first = 0;
    loop {
        let span: u16 = widths[first..=app.focus.max(first)].iter().sum();
        if span <= tab_row.width || first >= app.focus {
            break;
        }
        first += 1;
    }
    let mut x = tab_row.x;
    let mut cells = vec![];
    for (i, w) in widths.iter().enumerate().skip(first) {
        if x + w > tab_row.right() && i != app.focus {
            break;
        }
        let w = (*w).min(tab_row.right().saturating_sub(x));
        cells.push((i, Rect::new(x, tab_row.y, w, 1)));
        x += w;
    }
    l.tabs = Some((tab_row, cells));
    let rest = Rect::new(
        body.x,
        body.y + 1,
        body.width,
        body.height.saturating_sub(1),
    );
    l.panes = vec![PaneRect {
        index: app.focus,
        rect: rest,
        collapsed: false,
    }];
    l
}

/// Stack `panes` in `area`: minimums first, then what fixed-height panes want, then the rest
/// by weight (the focused pane counts twice). Panes that do not fit show their title row only.
fn column(app: &App, area: Rect, panes: &[usize]) -> Vec<PaneRect> {
    if panes.is_empty() {
        return vec![];
    }
    let h = area.height;
    let w = area.width;
    let focused = |i: usize| i == app.focus;
    let mut heights: Vec<u16> = panes
        .iter()
        .map(|i| {
            let m = app.panes[*i].min_height(&app.sh, w);
            if focused(*i) { m.max(5) } else { m }
        })
        .collect();
    let mut collapsed = vec![false; panes.len()];
    // Too short: collapse unfocused panes, last first, until the rest fits.
    let mut total: u16 = heights.iter().sum();
    for k in (0..panes.len()).rev() {
        if total <= h {
            break;
        }
        if !focused(panes[k]) {
            total -= heights[k] - 1;
            heights[k] = 1;
            collapsed[k] = true;
        }
    }
    if total > h {
        // Even collapsed it does not fit: the focused pane takes what is left.
        for (k, i) in panes.iter().enumerate() {
            if focused(*i) {
                let others: u16 = total - heights[k];
                heights[k] = h.saturating_sub(others).max(1);
            }
        }
    }
    let mut left = h.saturating_sub(heights.iter().sum());
    // Fixed wants (the session pane's content height).
    for (k, i) in panes.iter().enumerate() {
        if collapsed[k] {
            continue;
        }
        if let Some(want) = app.panes[*i].want_height(&app.sh, w) {
            let cap = if focused(*i) { h } else { h / 2 };
            let add = want.min(cap).saturating_sub(heights[k]).min(left);
            heights[k] += add;
            left -= add;
        }
    }
    // The rest by weight among flexible panes.
    let flex: Vec<usize> = (0..panes.len())
        .filter(|k| !collapsed[*k] && app.panes[panes[*k]].want_height(&app.sh, w).is_none())
        .collect();
    let weight = |k: usize| -> u32 {
        let base = app.panes[panes[k]].weight() as u32;
        if focused(panes[k]) { base * 2 } else { base }
    };
    let total_w: u32 = flex.iter().map(|k| weight(*k)).sum();
    if total_w > 0 {
        let pool = left;
        let mut given = 0;
        for k in &flex {
            let add = (pool as u32 * weight(*k)).checked_div(total_w).unwrap_or(0) as u16;
            heights[*k] += add;
            given += add;
        }
        // Rounding leftovers to the focused (else the last) flexible pane.
        let target = flex
            .iter()
            .copied()
            .find(|k| focused(panes[*k]))
            .or(flex.last().copied());
        if let Some(k) = target {
            heights[k] += pool - given;
        }
    } else if let Some(k) = (0..panes.len()).rev().find(|k| !collapsed[*k]) {
        heights[k] += left;
    }
    let mut y = area.y;
    let mut out = vec![];
    for (k, i) in panes.iter().enumerate() {
        let hh = heights[k].min(area.bottom().saturating_sub(y));
        out.push(PaneRect {
            index: *i,
            rect: Rect::new(area.x, y, w, hh),
            collapsed: collapsed[k] || hh < 3,
        });
        y += hh;
    }
    out
}
