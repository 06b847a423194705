//! The panes, one file each (state, keys, draw). **Adding a pane is one new file here plus one
//! line in [`all`]**: its position there is its focus order and its jump key (1-9), its
//! `column()` says where it goes when two columns fit, and its `context()` names its keys in
//! `keymap::DEFAULTS` (a new context is one more line there).

pub mod activity;
pub mod beliefs;
pub mod commits;
pub mod history;
pub mod scry;
pub mod session;

use super::component::Pane;

/// Every pane, in focus order.
pub fn all() -> Vec<Box<dyn Pane>> {
    vec![
        Box::new(session::SessionPane::default()),
        Box::new(activity::ActivityPane::default()),
        Box::new(history::HistoryPane::default()),
        Box::new(commits::CommitsPane::default()),
        Box::new(beliefs::BeliefsPane::default()),
        Box::new(scry::ScryPane::default()),
    ]
}

/// Boilerplate every pane needs for downcasting.
#[macro_export]
macro_rules! any_impl {
    () => {
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
            self
        }
    };
}
