//! Thin command handlers: parse flags, call the domain, print human text or JSON.

pub mod agent;
pub mod belief;
pub mod cli;
pub mod compat;
pub mod init;
pub mod model;
pub mod mother;
pub mod scry;
pub mod secrets;
pub mod serve;
pub mod session;
pub mod tui;
