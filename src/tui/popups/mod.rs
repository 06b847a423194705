//! The popups, one file each (state, keys, draw). `App` keeps them on a stack: the top one
//! takes every key; one that submits an operation holds the keys typed after it until the
//! answer (see `app.rs`).

pub mod belief;
pub mod confirm;
pub mod form;
pub mod release;
pub mod viewer;
