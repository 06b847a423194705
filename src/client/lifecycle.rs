//! Daemon lifecycle from the client side: status ("answers /health with the pid it claims"), stop
//! (SIGTERM only to that verified pid), background start (re-exec + setsid), and
//! [`ensure_running`] under a start lock so two racing callers never start two daemons.
//!
//! Never finds or kills processes by name (lessons.md): the only pid ever signalled is the one in
//! `run/serve.pid` that the daemon itself confirms over `/health`, on a socket the client verified
//! (private directories, our socket, a server of our uid), and that the kernel confirms too: the
//! SO_PEERCRED pid of that very connection must be the same.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Client, ClientError, socket_path};
use crate::paths;
use crate::proto::{LOCK_FILE, PID_FILE, START_LOCK_FILE};
use crate::store::{self, FileLock};

/// What `patina serve status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonStatus {
    /// The daemon answered /health with the pid recorded in run/serve.pid.
    pub running: bool,
    pub socket: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uptime_secs: Option<u64>,
    /// Why it is not running (or what is odd), in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

fn pid_file_pid() -> Option<u32> {
    std::fs::read_to_string(paths::run_dir().join(PID_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// Is the local daemon alive? Alive = answers /health with the pid it claims in run/serve.pid.
pub fn status() -> DaemonStatus {
    probe().0
}

/// [`status`], and the error when the socket could not be trusted (stop must not go on then:
/// not even to take a lock in a directory someone else chose).
fn probe() -> (DaemonStatus, Option<ClientError>) {
    let mut untrusted = None;
    let claimed = pid_file_pid();
    let mut st = DaemonStatus {
        running: false,
        socket: socket_path(),
        pid: claimed,
        version: None,
        protocol: None,
        uptime_secs: None,
        problem: None,
    };
    match Client::local()
        .with_timeout(Duration::from_secs(2))
        .health_with_peer()
    {
        Ok((h, peer)) => {
            st.version = Some(h.version.clone());
            st.protocol = Some(h.protocol);
            st.uptime_secs = Some(h.uptime_secs);
            let kernel_pid = peer.map(|p| p.pid);
            if kernel_pid.is_some() && kernel_pid != Some(h.pid) {
                // The answer claims one pid, the kernel says another process listens: never
                // trust that claim with a signal.
                st.problem = Some(format!(
                    "the daemon claims pid {} but the socket is served by pid {}",
                    h.pid,
                    kernel_pid.unwrap_or_default()
                ));
                st.pid = kernel_pid;
            } else if claimed == Some(h.pid) && kernel_pid.is_some() {
                st.running = true;
            } else {
                st.problem = Some(format!(
                    "a daemon answers with pid {} but run/{PID_FILE} says {}",
                    h.pid,
                    claimed.map_or("nothing".to_string(), |p| p.to_string())
                ));
                st.pid = Some(h.pid);
            }
        }
        Err(e) => {
            st.problem = Some(match claimed {
                Some(p) => format!("run/{PID_FILE} names pid {p}, but {e}"),
                None => e.to_string(),
            });
            if matches!(e, ClientError::Untrusted { .. }) {
                untrusted = Some(e);
            }
        }
    }
    (st, untrusted)
}

/// What `stop` did.
#[derive(Debug, Clone, Serialize)]
pub struct StopOutcome {
    /// A running daemon was stopped (false: none was running).
    pub stopped: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// Stop the local daemon: SIGTERM to the pid it confirmed over /health on a verified socket
/// (the pid file, the answer and SO_PEERCRED agree), then wait until it has released
/// run/serve.lock.
pub fn stop(wait: Duration) -> Result<StopOutcome, ClientError> {
    let run = paths::run_dir();
    let (st, untrusted) = probe();
    if let Some(e) = untrusted {
        return Err(e);
    }
    if !st.running {
        if lock_is_free()? {
            // Nobody holds the lock: any pid file is stale.
            let _ = std::fs::remove_file(run.join(PID_FILE));
            return Ok(StopOutcome {
                stopped: false,
                pid: None,
            });
        }
        return Err(ClientError::Start(format!(
            "a daemon holds run/{LOCK_FILE} but does not answer /health with its pid ({}); not \
             signalling an unverified process",
            st.problem.unwrap_or_default()
        )));
    }
    let pid = st.pid.expect("running implies a pid");
    // SAFETY: kill(2) with a pid the daemon itself confirmed over /health just now.
    let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    if rc != 0 {
        return Err(ClientError::Start(format!(
            "sending SIGTERM to pid {pid}: {}",
            std::io::Error::last_os_error()
        )));
    }
    let until = Instant::now() + wait;
    while Instant::now() < until {
        if lock_is_free()? {
            return Ok(StopOutcome {
                stopped: true,
                pid: Some(pid),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(ClientError::Timeout {
        endpoint: format!("pid {pid}"),
        after: wait,
    })
}

fn lock_is_free() -> Result<bool, ClientError> {
    let run = paths::run_dir();
    if !run.exists() {
        return Ok(true);
    }
    FileLock::try_acquire(&run.join(LOCK_FILE))
        .map(|l| l.is_some())
        .map_err(|e| ClientError::Start(format!("{e:#}")))
}

/// Make sure a local daemon answers; start one in the background if none does. Two racing callers
/// serialise on run/start.lock, so only one of them starts a daemon. Used by the cockpit and
/// `secrets unlock`.
pub fn ensure_running(wait: Duration) -> Result<Client, ClientError> {
    ensure_running_report(wait).map(|(c, _)| c)
}

/// [`ensure_running`], also saying which pid this call started (`None`: one was already running).
pub fn ensure_running_report(wait: Duration) -> Result<(Client, Option<u32>), ClientError> {
    let client = Client::local();
    match client.health() {
        Ok(_) => return Ok((client, None)),
        Err(e @ (ClientError::ProtocolMismatch { .. } | ClientError::Untrusted { .. })) => {
            return Err(e);
        }
        Err(_) => {}
    }
    let run = paths::run_dir();
    store::ensure_private_dir(&run).map_err(|e| ClientError::Start(format!("{e:#}")))?;
    let _start = FileLock::acquire(&run.join(START_LOCK_FILE))
        .map_err(|e| ClientError::Start(format!("{e:#}")))?;
    match client.health() {
        Ok(_) => return Ok((client, None)),
        Err(e @ (ClientError::ProtocolMismatch { .. } | ClientError::Untrusted { .. })) => {
            return Err(e);
        }
        Err(_) => {}
    }
    let pid = start_background(&[], wait)?;
    client.health()?;
    Ok((client, Some(pid)))
}

/// Start `patina serve <serve_args>` detached (new session, stdin closed, output appended to
/// PATINA_HOME/logs/serve.log, cwd `/`), and wait until it answers /health with its own pid.
/// Returns that pid.
pub fn start_background(serve_args: &[OsString], wait: Duration) -> Result<u32, ClientError> {
    let start_err = |m: String| ClientError::Start(m);
    let exe = std::env::current_exe()
        .map_err(|e| start_err(format!("locating the patina binary: {e}")))?;
    let home = paths::patina_home();
    let home = std::path::absolute(&home).unwrap_or(home);
    let logs = paths::logs_dir();
    let log_path = logs.join("serve.log");
    let log = store::private_dir(&logs)
        .and_then(|()| store::open_private_append(&log_path))
        .map_err(|e| start_err(format!("{e:#}")))?;
    let log2 = log
        .try_clone()
        .map_err(|e| start_err(format!("opening {}: {e}", log_path.display())))?;
    let mut cmd = Command::new(&exe);
    cmd.arg("serve")
        .args(serve_args)
        .env("PATINA_HOME", &home)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    // SAFETY: setsid(2) is async-signal-safe; it detaches the child from our terminal and
    // process group so Ctrl-C in the caller's terminal does not reach the daemon.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // The daemon never needs the caller's private key, passphrase file or tokens (the CLI
    // decrypts and hands values over /secrets/cache); a long-lived process must not keep them in
    // its environ. Same rule as the `secrets run` child.
    for (key, _) in std::env::vars_os() {
        if crate::secrets::run::is_withheld(&key) {
            cmd.env_remove(&key);
        }
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| start_err(format!("running {}: {e}", exe.display())))?;
    let pid = child.id();
    let until = Instant::now() + wait;
    let client = Client::local().with_timeout(Duration::from_millis(500));
    loop {
        if let Ok(Some(code)) = child.try_wait() {
            let why = std::fs::read_to_string(&log_path)
                .ok()
                .and_then(|t| {
                    t.lines()
                        .rev()
                        .find(|l| !l.trim().is_empty())
                        .map(str::to_string)
                })
                .unwrap_or_default();
            return Err(start_err(format!(
                "the daemon exited at once ({code}): {why} (log: {})",
                log_path.display()
            )));
        }
        if let Ok(h) = client.health()
            && h.pid == pid
        {
            // Reap it when it exits if this process lives that long (the cockpit); a short
            // command exits first and the daemon is re-parented.
            std::thread::spawn(move || child.wait());
            return Ok(pid);
        }
        if Instant::now() >= until {
            // Our own child, by its handle: never a pid guessed from elsewhere.
            let _ = child.kill();
            let _ = child.wait();
            return Err(start_err(format!(
                "the daemon did not answer within {} ms; see {}",
                wait.as_millis(),
                log_path.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
