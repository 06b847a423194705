//! The cockpit (`patina tui`, DESIGN §9).
//!
//! Shape (the ratatui component pattern, gitui's async jobs):
//! - one **event task** turns crossterm's `EventStream` (keys, paste, resize, focus, mouse) and a
//!   1 Hz tick into [`Action`]s;
//! - [`App::update`] is the only state transition: plain state in, [`Effect`]s out, no I/O;
//! - [`ui::draw`] renders `&App` into a frame and changes nothing;
//! - [`jobs`] runs the domain (git, files, sockets, ONNX) on background threads and answers
//!   with `Action::Msg`; the UI task never blocks on them;
//! - the loop redraws only when `update` marked the state dirty, and sleeps in `recv().await`
//!   otherwise (no busy loop, no frame timer);
//! - [`terminal`] restores the terminal on quit, on error, on panic, around Ctrl-Z and `$EDITOR`.

pub mod action;
pub mod app;
pub mod component;
mod domain;
pub mod field;
mod jobs;
pub mod keymap;
pub mod layout;
pub mod model;
pub mod panes;
pub mod popups;
pub mod strings;
mod terminal;
pub mod text;
pub mod theme;
pub mod ui;
mod watch;
pub mod widgets;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use serde::Deserialize;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

pub use action::{Action, Effect, Msg};
pub use app::App;

use crate::error::Error;
use crate::user_config::UserConfig;

/// How `patina tui` was asked to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub cwd: PathBuf,
    /// `--theme NAME` (overrides `[tui] theme`).
    pub theme: Option<String>,
}

/// `[tui]` in the user config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuiPrefs {
    /// Theme name (default `dark`).
    pub theme: Option<String>,
    /// Start with mouse capture on (default off, so the terminal's own selection works).
    pub mouse: Option<bool>,
}

/// Everything the cockpit needs from config, loaded before the terminal is touched; config
/// problems travel in the keymap's problem list to the start popup.
pub struct Setup {
    pub app: App,
    pub auto_pull: bool,
}

/// The current time with the local offset.
pub fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

/// Read the user's config and themes into a fresh [`App`]. A broken config does not keep the
/// cockpit closed: every problem (file, key, value) is shown in the start popup, the broken
/// parts fall back to defaults and every valid key binding applies.
pub fn setup(theme_flag: Option<&str>) -> Result<Setup> {
    let mut problems = vec![];
    let user = UserConfig::load().unwrap_or_else(|e| {
        problems.push(format!("{e:#}; using the default settings"));
        UserConfig::default()
    });
    let (keys, key_problems) = keymap::KeysConfig::from_user(&user);
    problems.extend(key_problems);
    let prefs: TuiPrefs = user.section("tui").unwrap_or_else(|e| {
        problems.push(format!("{e:#}; using the default [tui]"));
        TuiPrefs::default()
    });
    let scry: jobs::ScryPrefs = user.section("scry").unwrap_or_else(|e| {
        problems.push(format!("{e:#}; using the default [scry]"));
        jobs::ScryPrefs::default()
    });
    let (themes, theme_problems) = theme::load_all(&crate::paths::user_config_dir().join("themes"));
    problems.extend(theme_problems);
    let names = || {
        themes
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let remembered = jobs::load_state();
    let index = match (theme_flag, prefs.theme.as_deref()) {
        (Some(name), _) => themes.iter().position(|t| t.name == name).ok_or_else(|| {
            Error::usage(format!("unknown theme `{name}` (available: {})", names()))
        })?,
        (None, Some(name)) => match themes.iter().position(|t| t.name == name) {
            Some(i) => i,
            None => {
                problems.push(format!(
                    "[tui] theme = \"{name}\": no such theme (available: {}); using dark",
                    names()
                ));
                0
            }
        },
        // The theme last chosen with `t`, when the config does not pick one.
        (None, None) => remembered
            .theme
            .as_deref()
            .and_then(|n| themes.iter().position(|t| t.name == n))
            .unwrap_or(0),
    };
    let mut km = keymap::Keymap::load(&keys);
    km.problems.extend(problems);
    let mut app = App::new(now(), km, themes, index);
    app.sh.mouse = prefs.mouse.unwrap_or(false);
    app.sh.config_theme = prefs.theme.clone();
    app.sh.scry_history = remembered.scry_history;
    Ok(Setup {
        app,
        auto_pull: scry.auto_pull.unwrap_or(true),
    })
}

/// Run the cockpit until the user quits.
pub fn run(opts: Options) -> Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(Error::usage(
            "`patina tui` needs a terminal (stdin and stdout must be a tty); \
             the same operations are available as commands: `patina session --help`",
        )
        .into());
    }
    let Setup { mut app, auto_pull } = setup(opts.theme.as_deref())?;
    if let Ok(p) = crate::project::Project::discover(&opts.cwd)
        && let Some(llm) = p.config().llm()
    {
        app.sh.default_llm = llm.to_string();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tui-rt")
        .enable_all()
        .build()
        .context("starting the cockpit's runtime")?;
    let result = runtime.block_on(event_loop(app, opts.cwd, auto_pull));
    // Background threads may be blocked in the domain (an index build); don't wait for them.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

fn spawn_events(tx: UnboundedSender<Action>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut stream = EventStream::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let action = tokio::select! {
                _ = tick.tick() => Action::Tick(now()),
                ev = stream.next() => match ev {
                    Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => Action::Key(k),
                    Some(Ok(Event::Key(_))) => continue,
                    Some(Ok(Event::Paste(s))) => Action::Paste(s),
                    Some(Ok(Event::Resize(w, h))) => Action::Resize(w, h),
                    Some(Ok(Event::FocusGained)) => Action::FocusGained,
                    Some(Ok(Event::FocusLost)) => Action::FocusLost,
                    Some(Ok(Event::Mouse(m))) => Action::Mouse(m),
                    Some(Err(e)) => {
                        tracing::warn!("terminal event error: {e}");
                        return;
                    }
                    None => return,
                },
            };
            if tx.send(action).is_err() {
                return;
            }
        }
    })
}

async fn stop_events(events: JoinHandle<()>) {
    events.abort();
    let _ = events.await;
}

async fn event_loop(mut app: App, cwd: PathBuf, auto_pull: bool) -> Result<()> {
    let exec_start = Instant::now();
    terminal::install_panic_hook();
    terminal::enter(app.sh.mouse).context("setting up the terminal")?;
    let _guard = terminal::Guard;
    let mut term = terminal::fresh()?;
    let size = term.size()?;
    app.update(Action::Resize(size.width, size.height));

    let (tx, mut rx) = unbounded_channel();
    let mut events = spawn_events(tx.clone());
    let jobs = jobs::Jobs::start(cwd, tx.clone(), auto_pull);
    let mut first_frame = true;
    let mut key_at: Option<Instant> = None;
    // Query sent → results drawn, for the bench (`key to scry results`).
    let mut scry_sent: std::collections::HashMap<u64, Instant> = Default::default();
    let mut scry_drawn: Option<u64> = None;
    loop {
        if app.dirty {
            let span = tracing::debug_span!("tui_draw").entered();
            term.draw(|f| ui::draw(&app, f))?;
            drop(span);
            app.dirty = false;
            if first_frame {
                first_frame = false;
                let unix_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0);
                tracing::info!(
                    ms = exec_start.elapsed().as_millis() as u64,
                    unix_ms,
                    "tui first frame"
                );
                if std::env::var_os("PATINA_TUI_PANIC_TEST").is_some() {
                    panic!("PATINA_TUI_PANIC_TEST: deliberate panic after the first frame");
                }
            }
            if let Some(t0) = key_at.take() {
                tracing::debug!(
                    target: "patina::tui::latency",
                    us = t0.elapsed().as_micros() as u64,
                    "key to frame"
                );
            }
            if let Some(seq) = scry_drawn.take()
                && let Some(t0) = scry_sent.remove(&seq)
            {
                tracing::debug!(
                    target: "patina::tui::latency",
                    us = t0.elapsed().as_micros() as u64,
                    seq,
                    "key to scry results"
                );
                scry_sent.retain(|s, _| *s > seq);
            }
        }
        let Some(first) = rx.recv().await else { break };
        // Coalesce everything already queued into one frame.
        let mut batch = vec![first];
        while let Ok(a) = rx.try_recv() {
            batch.push(a);
        }
        for action in batch {
            if matches!(action, Action::Key(_)) && key_at.is_none() {
                key_at = Some(Instant::now());
            }
            if let Action::Msg(Msg::Scry { seq, result: Ok(_) }) = &action {
                scry_drawn = Some(*seq);
            }
            for effect in app.update(action) {
                if let Effect::Scry { seq, .. } = &effect {
                    scry_sent.insert(*seq, key_at.unwrap_or_else(Instant::now));
                }
                match effect {
                    Effect::OpenEditor { path, line } => {
                        stop_events(events).await;
                        terminal::restore();
                        let r = open_editor(&path, line);
                        terminal::enter(app.sh.mouse)?;
                        term = terminal::fresh()?;
                        events = spawn_events(tx.clone());
                        if let Err(e) = r {
                            app.update(Action::Msg(Msg::Done {
                                id: 0,
                                what: "editor".into(),
                                result: Err(format!("{e:#}")),
                            }));
                        }
                        app.dirty = true;
                        jobs.run(Effect::Refresh);
                    }
                    Effect::Suspend => {
                        stop_events(events).await;
                        terminal::suspend(app.sh.mouse)?;
                        term = terminal::fresh()?;
                        events = spawn_events(tx.clone());
                        app.dirty = true;
                    }
                    Effect::SetMouse(on) => terminal::set_mouse(on)?,
                    other => jobs.run(other),
                }
            }
        }
        if app.quit {
            break;
        }
    }
    stop_events(events).await;
    drop(term);
    terminal::restore();
    Ok(())
}

/// `$VISUAL`/`$EDITOR` (default `vi`) at `line`, with the terminal handed over.
fn open_editor(path: &Path, line: usize) -> Result<()> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            std::env::var("EDITOR")
                .ok()
                .filter(|s| !s.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".into());
    let mut words = editor.split_whitespace();
    let program = words.next().unwrap_or("vi").to_string();
    let mut cmd = std::process::Command::new(&program);
    cmd.args(words);
    let base = Path::new(&program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match base.as_str() {
        "code" | "codium" | "subl" | "zed" => {
            if base == "code" || base == "codium" {
                cmd.arg("--wait").arg("--goto");
            }
            cmd.arg(format!("{}:{line}", path.display()));
        }
        "hx" | "helix" => {
            cmd.arg(format!("{}:{line}", path.display()));
        }
        _ => {
            cmd.arg(format!("+{line}")).arg(path);
        }
    }
    let status = cmd
        .status()
        .with_context(|| format!("running the editor `{editor}` (set $EDITOR)"))?;
    if !status.success() {
        anyhow::bail!("`{editor}` exited with {status}");
    }
    Ok(())
}
