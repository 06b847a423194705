//! The terminal: raw mode + alternate screen + bracketed paste + focus events, and the promise
//! that they are undone on every way out — normal quit, error, panic (a hook restores before the
//! message prints), Ctrl-Z (restored before stopping, re-entered on `fg`) and `$EDITOR`.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, DisableMouseCapture, EnableBracketedPaste,
    EnableFocusChange, EnableMouseCapture,
};
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// True while the terminal is in cockpit mode (so restore runs once, and the panic hook knows).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Enter cockpit mode.
pub fn enter(mouse: bool) -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = io::stdout();
    execute!(
        out,
        EnterAlternateScreen,
        EnableBracketedPaste,
        EnableFocusChange,
        cursor::Hide
    )?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
    }
    Ok(())
}

/// The cockpit's terminal handle.
pub type Term = Terminal<CrosstermBackend<io::Stdout>>;

/// A blank screen and a terminal handle that redraws every cell on its next draw — at start,
/// after `$EDITOR` and after `fg`. Not ratatui's `Terminal::clear`: it asks the terminal for the
/// cursor position first, and a reply that is slow (a terminal just handed back by an editor) or
/// never comes ended the cockpit with "the cursor position could not be read". A full-screen
/// cockpit positions the cursor on every draw, so there is nothing to preserve.
pub fn fresh() -> io::Result<Term> {
    execute!(io::stdout(), Clear(ClearType::All))?;
    Terminal::new(CrosstermBackend::new(io::stdout()))
}

/// Leave cockpit mode; safe to call more than once and from the panic hook.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableMouseCapture,
        DisableFocusChange,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

pub fn set_mouse(on: bool) -> io::Result<()> {
    let mut out = io::stdout();
    if on {
        execute!(out, EnableMouseCapture)
    } else {
        execute!(out, DisableMouseCapture)
    }
}

/// Restore the terminal before any panic message is printed.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Undoes cockpit mode when dropped (error paths, early returns).
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Ctrl-Z: restore, stop the process like the shell expects, and come back on `fg`.
pub fn suspend(mouse: bool) -> io::Result<()> {
    restore();
    // SAFETY: raise(3) with a valid signal number; SIGTSTP's default action stops the process and
    // execution resumes here after SIGCONT.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    enter(mouse)
}
