//! What a pane and a popup are. Each lives in one file (`panes/*.rs`, `popups/*.rs`) with its
//! state, its keys and its draw; `App` holds only what several of them share ([`Shared`]) and
//! routes input: the top popup first, else the focused pane, else the global commands.
//!
//! A component never does I/O: it asks through [`Cx`] (effects, ops, popups, focus).

use std::any::Any;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::action::{Effect, Msg, Op};
use super::app::{Level, Shared};
use super::keymap::{Command, Context};

/// Which column a pane sits in when two fit side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Left,
    Right,
}

/// A pane: a region of the main screen that can take focus.
pub trait Pane: Any {
    /// Stable name (`session`, `scry`…), used for focus requests and tests.
    fn name(&self) -> &'static str;
    /// The title without decorations; `status` adds "n of m" etc.
    fn title(&self) -> &'static str;
    /// What the title shows after the name ("3 of 12", "paused").
    fn status(&self, _sh: &Shared) -> String {
        String::new()
    }
    /// The keymap context of the pane when no text input of it has the keyboard.
    fn context(&self) -> Context;
    /// The keymap context when a text input of the pane has the keyboard (`None`: it has none
    /// or it is not typing).
    fn typing(&self) -> Option<Context> {
        None
    }
    fn column(&self) -> Column;
    /// Share of its column's height (the focused pane gets more).
    fn weight(&self) -> u16 {
        2
    }
    /// Rows it needs at least, borders included.
    fn min_height(&self, _sh: &Shared, _width: u16) -> u16 {
        3
    }
    /// Rows it would like (None: as much as it gets).
    fn want_height(&self, _sh: &Shared, _width: u16) -> Option<u16> {
        None
    }
    /// A command from its context (or `List`). True when handled.
    fn command(&mut self, cmd: Command, cx: &mut Cx) -> bool;
    /// A raw key while `typing()`: true when consumed.
    fn key(&mut self, _key: &KeyEvent, _cx: &mut Cx) -> bool {
        false
    }
    fn paste(&mut self, _text: &str, _cx: &mut Cx) -> bool {
        false
    }
    fn msg(&mut self, _msg: &Msg, _cx: &mut Cx) {}
    /// Gaining focus by a command that means "type here" (scry's `s`).
    fn start_typing(&mut self, _cx: &mut Cx) {}
    /// A mouse click on row `row` of its inner area.
    fn click(&mut self, _row: u16, _cx: &mut Cx) {}
    /// Time-dependent text it shows (the tick redraws only when this changes).
    fn clock(&self, _sh: &Shared) -> String {
        String::new()
    }
    fn draw(&self, sh: &Shared, f: &mut Frame, area: Rect, focused: bool);
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// What a popup wants after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Keep,
    Close,
}

/// A popup: drawn over the panes, takes every key while it is on top of the stack.
pub trait Popup: Any {
    fn name(&self) -> &'static str;
    fn context(&self) -> Context;
    fn key(&mut self, key: &KeyEvent, cx: &mut Cx) -> Flow;
    fn paste(&mut self, _text: &str, _cx: &mut Cx) {}
    fn msg(&mut self, _msg: &Msg, _cx: &mut Cx) {}
    /// The op it waits for: while set, keys are held back and replayed after the answer.
    fn waiting(&self) -> Option<u64> {
        None
    }
    /// Its op answered. `Close` on success is the usual.
    fn done(&mut self, _result: &Result<String, String>, _cx: &mut Cx) -> Flow {
        Flow::Close
    }
    /// Typed-ahead keys held for it (shown as "n keys typed ahead").
    fn set_held(&mut self, _n: usize) {}
    /// Time-dependent text (countdowns).
    fn clock(&self, _sh: &Shared) -> String {
        String::new()
    }
    /// Called on each tick; true when it changed.
    fn tick(&mut self, _sh: &Shared) -> bool {
        false
    }
    fn draw(&self, sh: &Shared, f: &mut Frame, area: Rect);
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// What a component may ask for while handling input.
pub struct Cx<'a> {
    pub sh: &'a mut Shared,
    pub fx: &'a mut Vec<Effect>,
    pub(crate) next_op: &'a mut u64,
    pub(crate) opened: Vec<Box<dyn Popup>>,
    pub(crate) focus: Option<&'static str>,
    pub(crate) commands: Vec<Command>,
}

impl<'a> Cx<'a> {
    pub(crate) fn new(sh: &'a mut Shared, fx: &'a mut Vec<Effect>, next_op: &'a mut u64) -> Cx<'a> {
        Cx {
            sh,
            fx,
            next_op,
            opened: vec![],
            focus: None,
            commands: vec![],
        }
    }

    /// Queue a mutation; returns its id (the popup keeps it to recognise the answer).
    pub fn op(&mut self, op: Op) -> u64 {
        *self.next_op += 1;
        let id = *self.next_op;
        self.fx.push(Effect::Op { id, op });
        id
    }

    pub fn effect(&mut self, e: Effect) {
        self.fx.push(e);
    }

    /// Open a popup on top of the stack.
    pub fn open(&mut self, p: Box<dyn Popup>) {
        self.opened.push(p);
    }

    /// Focus the pane named `name`.
    pub fn focus(&mut self, name: &'static str) {
        self.focus = Some(name);
    }

    /// Run an app-level command after this handler (e.g. a pane's Enter that means "note").
    pub fn command(&mut self, cmd: Command) {
        self.commands.push(cmd);
    }

    pub fn toast(&mut self, level: Level, text: impl Into<String>) {
        self.sh.toast(level, text);
    }
}
