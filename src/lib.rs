//! patina: a terminal cockpit for AI-assisted coding.
//!
//! Module rules (docs/ARCHITECTURE.md): `commands/` and `tui/` sit on top; the domain
//! (`project`, `session`, `belief`, `layer`, `git`, `scry`, `secrets`, `mother`, `transcript`,
//! `agent`) knows nothing of ratatui or HTTP and reads its markdown files through `doc` (the
//! document layer); `serve/` and `client/` share `proto/`; `store/`
//! holds the durable-write primitives everything uses.

pub mod clock;
pub mod commands;
pub mod config_file;
pub mod error;
pub mod logging;
pub mod output;
pub mod paths;
pub mod store;
pub mod user_config;

pub mod activity;
pub mod agent;
pub mod belief;
pub mod doc;
pub mod git;
pub mod layer;
pub mod mother;
pub mod project;
pub mod scry;
pub mod secrets;
pub mod session;
pub mod transcript;

pub mod backend;
pub mod client;
pub mod mcp;
pub mod proto;
pub mod serve;
pub mod tui;
