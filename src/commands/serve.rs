//! `patina serve` (foreground), `serve --background`, `serve start|status|stop`.

use std::ffi::OsString;
use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::client::{self, ClientError};
use crate::error::Error;
use crate::output::{Ctx, SilentExit};
use crate::serve::{self, AlreadyRunning, ServeOptions, Started};

const EXAMPLES: &str = "\
Examples:
  patina serve                          run in the foreground (Ctrl-C stops it)
  patina serve --background             detach; output goes to $PATINA_HOME/logs/serve.log
  patina serve start                    start one in the background unless one already answers
  patina serve status --json            running = answers /health with the pid it claims
  patina serve stop                     SIGTERM to that verified pid, wait for a clean exit
  patina serve --listen 127.0.0.1:7878 --expose ~/code/app
                                        also serve TCP (token in $PATINA_HOME/run/serve.token),
                                        answering /api/* for ~/code/app only
  curl --unix-socket $PATINA_HOME/run/serve.sock http://localhost/health

Exit codes: 3 when a daemon already runs (serve, --background), 5 when none runs (status, stop
of a wedged daemon).";

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// Detach into the background (new session); output goes to PATINA_HOME/logs/serve.log.
    #[arg(long)]
    background: bool,
    /// Also listen on TCP at ADDR (e.g. 127.0.0.1:7878). Everything but /health and /version
    /// needs `Authorization: Bearer <token>` from run/serve.token; /secrets/* is never served.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Write a new TCP token instead of reusing run/serve.token.
    #[arg(long, requires = "listen")]
    rotate_token: bool,
    /// A project TCP clients may query (repeatable). Over TCP, `/api/*` answers only for
    /// exposed projects (403 for any other path, and nothing is indexed there).
    #[arg(long, value_name = "PATH", requires = "listen", num_args = 1..)]
    expose: Vec<std::path::PathBuf>,
    /// Connections served at once on the Unix socket; further ones get 503.
    #[arg(long, value_name = "N", default_value_t = 512)]
    max_connections: usize,
    /// Connections served at once over TCP (a separate pool, so TCP never starves the socket).
    #[arg(long, value_name = "N", default_value_t = 64)]
    max_tcp_connections: usize,
    /// Milliseconds a client has to deliver its whole request before it gets 408.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    request_timeout_ms: u64,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Is the daemon running? (it answers /health with the pid it claims; exit 5 if not)
    Status,
    /// Stop the daemon: SIGTERM to its verified pid, then wait until it has exited.
    Stop,
    /// Make sure a daemon runs: start one in the background unless one already answers.
    Start,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    match args.action {
        Some(Action::Status) => status(ctx),
        Some(Action::Stop) => stop(ctx),
        Some(Action::Start) => start(ctx),
        None if args.background => background(&args, ctx),
        None => foreground(args, ctx),
    }
}

/// A client error as a typed error (its kind picks the exit code of docs/json.md).
fn cmd_error(e: ClientError) -> anyhow::Error {
    e.into_error().into()
}

/// `--expose` paths as canonical project roots (each must be inside a project or git work tree).
fn exposed_roots(args: &Args, ctx: &Ctx) -> Result<Vec<std::path::PathBuf>> {
    let mut roots = Vec::new();
    for p in &args.expose {
        let abs = ctx.cwd.join(p);
        let canon = std::fs::canonicalize(&abs)
            .map_err(|e| Error::not_found(format!("--expose {}: {e}", abs.display())))?;
        let project = crate::project::Project::discover(&canon)
            .map_err(|e| Error::not_found(format!("--expose {}: {e:#}", abs.display())))?;
        let root =
            std::fs::canonicalize(project.root()).unwrap_or_else(|_| project.root().to_path_buf());
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    Ok(roots)
}

fn foreground(args: Args, ctx: &Ctx) -> Result<()> {
    let opts = ServeOptions {
        expose: exposed_roots(&args, ctx)?,
        listen: args.listen,
        max_connections: args.max_connections,
        max_tcp_connections: args.max_tcp_connections,
        request_timeout: Duration::from_millis(args.request_timeout_ms.max(1)),
        rotate_token: args.rotate_token,
    };
    let result = serve::run(opts, |started: &Started| {
        if let Some(w) = &started.warning {
            ctx.notice(&format!("warning: {w}"));
        }
        ctx.emit(started, |s| {
            let mut t = format!(
                "patina daemon (pid {}) listening on {}\n",
                s.pid,
                s.socket.display()
            );
            if let (Some(addr), Some(tf)) = (&s.listen, &s.token_file) {
                t.push_str(&format!(
                    "TCP on {addr}; token in {} (send it as Authorization: Bearer <token>)\n",
                    tf.display()
                ));
                if s.exposed.is_empty() {
                    t.push_str(
                        "no project exposed over TCP (--expose PATH); /api/* answers 403 there\n",
                    );
                }
                for r in &s.exposed {
                    t.push_str(&format!("exposed over TCP: {}\n", r.display()));
                }
            }
            t.push_str("Ctrl-C or `patina serve stop` stops it.");
            t
        });
        let _ = std::io::stdout().flush();
    });
    match result {
        Err(e) if e.downcast_ref::<AlreadyRunning>().is_some() => {
            Err(Error::conflict(format!("{e:#}")).into())
        }
        other => other,
    }
}

#[derive(Serialize)]
struct BackgroundReport {
    started: bool,
    pid: u32,
    socket: std::path::PathBuf,
    log: std::path::PathBuf,
}

fn background(args: &Args, ctx: &Ctx) -> Result<()> {
    // The child would refuse too, but only into its log: say it here, with exit 2.
    serve::check_config()?;
    let st = client::status();
    if st.running {
        return Err(Error::conflict(
            AlreadyRunning {
                home: crate::paths::patina_home().display().to_string(),
                pid: st.pid,
            }
            .to_string(),
        )
        .into());
    }
    let mut fwd: Vec<OsString> = Vec::new();
    if let Some(l) = &args.listen {
        fwd.push("--listen".into());
        fwd.push(l.into());
    }
    if args.rotate_token {
        fwd.push("--rotate-token".into());
    }
    for r in exposed_roots(args, ctx)? {
        fwd.push("--expose".into());
        fwd.push(r.into_os_string());
    }
    fwd.push(format!("--max-connections={}", args.max_connections).into());
    fwd.push(format!("--max-tcp-connections={}", args.max_tcp_connections).into());
    fwd.push(format!("--request-timeout-ms={}", args.request_timeout_ms).into());
    let pid = client::start_background(&fwd, Duration::from_secs(10)).map_err(cmd_error)?;
    let report = BackgroundReport {
        started: true,
        pid,
        socket: client::socket_path(),
        log: crate::paths::logs_dir().join("serve.log"),
    };
    ctx.emit(&report, |r| {
        format!(
            "patina daemon started in the background (pid {}) on {}; log: {}",
            r.pid,
            r.socket.display(),
            r.log.display()
        )
    });
    Ok(())
}

fn start(ctx: &Ctx) -> Result<()> {
    serve::check_config()?;
    let (_client, started) =
        client::ensure_running_report(Duration::from_secs(10)).map_err(cmd_error)?;
    let st = client::status();
    let report = BackgroundReport {
        started: started.is_some(),
        pid: started.or(st.pid).unwrap_or_default(),
        socket: client::socket_path(),
        log: crate::paths::logs_dir().join("serve.log"),
    };
    ctx.emit(&report, |r| {
        if r.started {
            format!(
                "started the patina daemon (pid {}) on {}",
                r.pid,
                r.socket.display()
            )
        } else {
            format!(
                "the patina daemon already runs (pid {}) on {}",
                r.pid,
                r.socket.display()
            )
        }
    });
    Ok(())
}

fn status(ctx: &Ctx) -> Result<()> {
    let st = client::status();
    ctx.emit(&st, |s| {
        if s.running {
            let mut t = format!(
                "running: pid {} on {} (version {}, protocol {}, up {} s)",
                s.pid.unwrap_or_default(),
                s.socket.display(),
                s.version.as_deref().unwrap_or("?"),
                s.protocol.unwrap_or_default(),
                s.uptime_secs.unwrap_or_default()
            );
            if let Some(p) = &s.problem {
                t.push_str(&format!("\nwarning: {p}"));
            }
            t
        } else {
            format!(
                "not running: {}",
                s.problem.as_deref().unwrap_or("no answer on the socket")
            )
        }
    });
    if st.running {
        Ok(())
    } else {
        Err(SilentExit(5).into())
    }
}

fn stop(ctx: &Ctx) -> Result<()> {
    let out = client::stop(Duration::from_secs(10)).map_err(|e| match e {
        ClientError::Start(m) => Error::unavailable(m).into(),
        other => cmd_error(other),
    })?;
    ctx.emit(&out, |o| {
        if o.stopped {
            format!(
                "stopped the patina daemon (pid {})",
                o.pid.unwrap_or_default()
            )
        } else {
            "no patina daemon was running".to_string()
        }
    });
    Ok(())
}
