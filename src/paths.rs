//! Where patina keeps per-user state: `PATINA_HOME` and the XDG config directory.
//!
//! Every test sets both `PATINA_HOME` and `XDG_CONFIG_HOME`, so nothing here may fall back to
//! the real home when those are set.

use std::path::PathBuf;

/// `PATINA_HOME`, default `~/.patina`.
pub fn patina_home() -> PathBuf {
    match std::env::var_os("PATINA_HOME") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => home_dir().join(".patina"),
    }
}

/// `$XDG_CONFIG_HOME/patina`, default `~/.config/patina`.
pub fn user_config_dir() -> PathBuf {
    match std::env::var_os("XDG_CONFIG_HOME") {
        Some(p) if !p.is_empty() => PathBuf::from(p).join("patina"),
        _ => home_dir().join(".config").join("patina"),
    }
}

/// The user's home directory (`$HOME`); `/` only if HOME is unset.
pub fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// `PATINA_HOME/run`: the daemon's socket, lock and token (0700, checked by `store`).
pub fn run_dir() -> PathBuf {
    patina_home().join("run")
}

/// `PATINA_HOME/logs`.
pub fn logs_dir() -> PathBuf {
    patina_home().join("logs")
}

/// `PATINA_HOME/models`.
pub fn models_dir() -> PathBuf {
    patina_home().join("models")
}
