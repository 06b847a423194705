//! The daemon's lifecycle and connection loop: single instance (flock), stale-socket cleanup only
//! after a refused connect, a 0600 socket that never exists under its final name with a wider mode,
//! SO_PEERCRED uid check, bounded concurrency per door (503), a per-connection deadline (408),
//! exact framing, `shutdown(Write)` after every answer, and a clean exit on SIGINT/SIGTERM.
//!
//! Limits per door: the Unix socket and TCP have separate connection pools, so a flood of TCP
//! connections (anyone who can reach the port) never takes a slot the owner's socket needs. A
//! request is judged on its head alone (route, token, Unix-only rules, the route's body limit)
//! before one body byte is read: an unauthenticated TCP peer gets its 401 without having a body
//! buffered, and no route buffers more than it declared.

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use super::router::{Peer, Router};
use super::state::DaemonState;
use super::token::Token;
use crate::paths;
use crate::proto::framing::{CONTINUE, FrameError, Request, RequestDecoder, Response};
use crate::proto::{LOCK_FILE, PID_FILE, SOCKET_FILE, TOKEN_FILE};
use crate::store::{self, FileLock};

/// How `patina serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Also listen on TCP (token required except for /health and /version).
    pub listen: Option<String>,
    /// Connections served at once on the Unix socket; more get 503.
    pub max_connections: usize,
    /// Connections served at once over TCP (a separate pool: TCP never starves the socket).
    pub max_tcp_connections: usize,
    /// Project roots `/api/*` may name over TCP (`--expose`); anything else is 403 there.
    pub expose: Vec<PathBuf>,
    /// Deadline for a client to deliver its whole request (408 after).
    pub request_timeout: Duration,
    /// Write a new TCP token even if a valid one exists.
    pub rotate_token: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: None,
            max_connections: 512,
            max_tcp_connections: 64,
            expose: Vec::new(),
            request_timeout: Duration::from_secs(10),
            rotate_token: false,
        }
    }
}

/// What the daemon bound, reported once it accepts connections.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Started {
    pub pid: u32,
    pub socket: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// Where the TCP token is (never the token itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Project roots served over TCP.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exposed: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// Another daemon holds the lock for this PATINA_HOME.
#[derive(Debug, thiserror::Error)]
#[error("a patina daemon is already running for {home}{}; stop it with `patina serve stop`",
    pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
pub struct AlreadyRunning {
    pub home: String,
    pub pid: Option<u32>,
}

/// The pid recorded in `run/serve.pid`, if any.
pub fn read_pid_file(run_dir: &Path) -> Option<u32> {
    fs::read_to_string(run_dir.join(PID_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// Run the daemon in the foreground until SIGINT/SIGTERM. `on_ready` is called once the sockets
/// accept connections.
pub fn run(router: Router, opts: ServeOptions, on_ready: impl FnOnce(&Started)) -> Result<()> {
    let run_dir = paths::run_dir();
    let home = paths::patina_home();
    store::create_dirs(&home)?;
    // The client refuses a PATINA_HOME others can write to (they could swap run/); so does the
    // daemon, rather than serve on a socket nobody should trust.
    if let Some(problem) = store::dir_problem(&home, store::DirRule::NotWritableByOthers)
        .with_context(|| format!("inspecting {}", home.display()))?
    {
        bail!("{} {problem}; refusing to serve from it", home.display());
    }
    store::ensure_private_dir(&run_dir)?;
    let lock = FileLock::try_acquire(&run_dir.join(LOCK_FILE))?.ok_or_else(|| AlreadyRunning {
        home: paths::patina_home().display().to_string(),
        pid: read_pid_file(&run_dir),
    })?;
    let socket = run_dir.join(SOCKET_FILE);
    clear_stale_socket(&socket)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("patina-serve")
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(serve(router, opts, &run_dir, &socket, on_ready));
    drop(lock);
    result
}

/// Remove a leftover socket only when nothing answers on it (connect refused) and it is a socket.
fn clear_stale_socket(socket: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(socket) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("inspecting {}", socket.display())),
    };
    if !meta.file_type().is_socket() {
        bail!(
            "{} exists and is not a socket; refusing to remove it",
            socket.display()
        );
    }
    match std::os::unix::net::UnixStream::connect(socket) {
        Ok(_) => bail!(
            "something answers on {} but does not hold {}; refusing to remove a live socket",
            socket.display(),
            LOCK_FILE
        ),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(socket = %socket.display(), "removing stale socket (connect refused)");
            fs::remove_file(socket)
                .with_context(|| format!("removing stale socket {}", socket.display()))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("probing {}", socket.display())),
    }
}

/// Bind under a temporary name, make it 0600, then rename into place: the final name never exists
/// with a wider mode (and run/ is 0700 anyway).
fn bind_private_socket(run_dir: &Path, socket: &Path) -> Result<(tokio::net::UnixListener, u64)> {
    let tmp = run_dir.join(format!(".serve.sock.{}", std::process::id()));
    let _ = fs::remove_file(&tmp); // ours: we hold the lock, and the name carries our pid
    let std_listener = std::os::unix::net::UnixListener::bind(&tmp)
        .with_context(|| format!("binding {}", tmp.display()))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))
        .with_context(|| format!("setting mode 0600 on {}", tmp.display()))?;
    fs::rename(&tmp, socket).with_context(|| format!("moving socket to {}", socket.display()))?;
    let ino = fs::symlink_metadata(socket)
        .with_context(|| format!("inspecting {}", socket.display()))?
        .ino();
    std_listener.set_nonblocking(true)?;
    let listener = tokio::net::UnixListener::from_std(std_listener)?;
    Ok((listener, ino))
}

struct Shared {
    router: Router,
    state: Arc<DaemonState>,
    token: Option<Token>,
    limits: crate::proto::framing::Limits,
    request_timeout: Duration,
    uid: u32,
}

/// Connections in flight, per door; releases trim the allocator once a burst is over.
struct Door {
    permits: Arc<Semaphore>,
    max: usize,
}

async fn serve(
    router: Router,
    opts: ServeOptions,
    run_dir: &Path,
    socket: &Path,
    on_ready: impl FnOnce(&Started),
) -> Result<()> {
    let (unix, ino) = bind_private_socket(run_dir, socket)?;
    let pid = std::process::id();
    store::atomic_write(
        &run_dir.join(PID_FILE),
        format!("{pid}\n").as_bytes(),
        store::PRIVATE_FILE,
    )?;
    let cleanup = SocketCleanup {
        socket: socket.to_path_buf(),
        ino,
        pid_file: run_dir.join(PID_FILE),
    };

    let mut tcp = None;
    let mut token = None;
    let mut started = Started {
        pid,
        socket: socket.to_path_buf(),
        listen: None,
        token_file: None,
        exposed: opts.expose.clone(),
        warning: None,
    };
    if let Some(addr) = &opts.listen {
        let token_file = run_dir.join(TOKEN_FILE);
        token = Some(Token::load_or_create(&token_file, opts.rotate_token)?);
        let listener = tokio::net::TcpListener::bind(addr.as_str())
            .await
            .with_context(|| format!("listening on {addr}"))?;
        let local = listener.local_addr()?;
        if !local.ip().is_loopback() {
            let w = format!(
                "listening on non-loopback address {local}: anyone who can reach it and holds the \
                 token can query your projects (traffic is not encrypted)"
            );
            tracing::warn!("{w}");
            started.warning = Some(w);
        }
        started.listen = Some(local);
        started.token_file = Some(token_file);
        tcp = Some(listener);
    }

    let state = Arc::new(DaemonState::new(socket.to_path_buf()).with_exposed(opts.expose.clone()));
    for hook in &router.on_start {
        hook(&state);
    }
    let shared = Arc::new(Shared {
        router,
        state: state.clone(),
        token,
        limits: crate::proto::framing::Limits::default(),
        request_timeout: opts.request_timeout,
        uid: store::current_uid(),
    });
    let unix_door = Arc::new(Door {
        permits: Arc::new(Semaphore::new(opts.max_connections.max(1))),
        max: opts.max_connections.max(1),
    });
    let tcp_door = Arc::new(Door {
        permits: Arc::new(Semaphore::new(opts.max_tcp_connections.max(1))),
        max: opts.max_tcp_connections.max(1),
    });
    let (stop_tx, stop_rx) = watch::channel(false);

    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;

    let unix_task = tokio::spawn(accept_unix(
        unix,
        shared.clone(),
        unix_door.clone(),
        stop_rx.clone(),
    ));
    let tcp_task = tcp.map(|l| {
        tokio::spawn(accept_tcp(
            l,
            shared.clone(),
            tcp_door.clone(),
            stop_rx.clone(),
        ))
    });
    tracing::info!(pid, socket = %socket.display(), listen = ?started.listen, "daemon listening");
    on_ready(&started);

    tokio::select! {
        _ = sigterm.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = sigint.recv() => tracing::info!("SIGINT: shutting down"),
    }
    let _ = stop_tx.send(true);
    let _ = unix_task.await;
    if let Some(t) = tcp_task {
        let _ = t.await;
    }
    // Let in-flight requests finish (bounded), then run the areas' shutdown hooks.
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        let _u = unix_door.permits.acquire_many(unix_door.max as u32).await;
        let _t = tcp_door.permits.acquire_many(tcp_door.max as u32).await;
    })
    .await;
    for hook in &shared.router.on_shutdown {
        hook(&state);
    }
    drop(cleanup);
    tracing::info!("daemon stopped");
    Ok(())
}

/// Removes the socket (only if it is still the one we bound) and our pid file on drop.
struct SocketCleanup {
    socket: PathBuf,
    ino: u64,
    pid_file: PathBuf,
}

impl Drop for SocketCleanup {
    fn drop(&mut self) {
        if fs::symlink_metadata(&self.socket).is_ok_and(|m| m.ino() == self.ino) {
            let _ = fs::remove_file(&self.socket);
        }
        let ours = fs::read_to_string(&self.pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            == Some(std::process::id());
        if ours {
            let _ = fs::remove_file(&self.pid_file);
        }
    }
}

async fn accept_unix(
    listener: tokio::net::UnixListener,
    shared: Arc<Shared>,
    door: Arc<Door>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let Ok(permit) = door.permits.clone().try_acquire_owned() else {
            reject_busy(&stream);
            continue;
        };
        let shared = shared.clone();
        let door = door.clone();
        tokio::spawn(async move {
            let peer = match stream.peer_cred() {
                Ok(c) => Peer::Unix {
                    uid: c.uid(),
                    pid: c.pid(),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "SO_PEERCRED failed; dropping connection");
                    return;
                }
            };
            handle(stream, peer, &shared).await;
            drop(permit);
            door.after_connection();
        });
    }
}

impl Door {
    /// The last connection of a burst went away: give the freed request and answer buffers
    /// back to the OS, so the daemon returns to its idle size after a flood (glibc keeps freed
    /// heap otherwise).
    fn after_connection(&self) {
        if self.permits.available_permits() == self.max {
            trim_allocator();
        }
    }
}

fn trim_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim(3) only releases free memory; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

async fn accept_tcp(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    door: Arc<Door>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (stream, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let Ok(permit) = door.permits.clone().try_acquire_owned() else {
            reject_busy(&stream);
            continue;
        };
        let shared = shared.clone();
        let door = door.clone();
        tokio::spawn(async move {
            handle(stream, Peer::Tcp { addr }, &shared).await;
            drop(permit);
            door.after_connection();
        });
    }
}

/// Too many connections: answer 503 without reading (a fresh socket's send buffer takes it at
/// once, so this never blocks the accept loop) and close.
fn reject_busy<S: TryWrite>(stream: &S) {
    let bytes = Response::error(
        503,
        "the daemon is busy (too many connections); retry shortly",
    )
    .encode();
    let _ = stream.try_write_bytes(&bytes);
}

trait TryWrite {
    fn try_write_bytes(&self, b: &[u8]) -> io::Result<usize>;
}
impl TryWrite for tokio::net::UnixStream {
    fn try_write_bytes(&self, b: &[u8]) -> io::Result<usize> {
        self.try_write(b)
    }
}
impl TryWrite for tokio::net::TcpStream {
    fn try_write_bytes(&self, b: &[u8]) -> io::Result<usize> {
        self.try_write(b)
    }
}

enum ReadOutcome {
    Request(Request, bool),
    /// Answer with this error; the request was not fully read.
    Refuse(FrameError),
    /// Judged on its head alone (404, 405, 401, 403): answer this, the body was never read.
    Early(Response),
    /// The peer went away (or sent nothing): close without answering.
    Gone,
}

/// Read one request: the head, then the verdict on the head ([`Router::admission`]: token,
/// route, the route's body limit), then exactly the admitted body.
async fn read_request<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    peer: &Peer,
    shared: &Shared,
) -> ReadOutcome {
    let mut decoder = RequestDecoder::held(shared.limits);
    // Wiped after use: a request body may carry secret values.
    let mut chunk = zeroize::Zeroizing::new([0u8; 8192]);
    let mut sent_continue = false;
    let mut authorized = peer.is_unix();
    loop {
        let n = match stream.read(&mut chunk[..]).await {
            Ok(n) => n,
            Err(_) => return ReadOutcome::Gone,
        };
        if n == 0 {
            return match decoder.eof_error() {
                Some(e) => ReadOutcome::Refuse(e),
                None => ReadOutcome::Gone,
            };
        }
        let mut got = decoder.push(&chunk[..n]);
        if let Ok(None) = got
            && let Some(head) = decoder.held_head()
        {
            if !peer.is_unix()
                && let Some(t) = &shared.token
            {
                authorized = t.verify(head.header("authorization"));
            }
            match shared
                .router
                .admission(head.method, head.raw_path, head.path, peer, authorized)
            {
                Ok(max_body) => got = decoder.admit(max_body),
                Err(resp) => return ReadOutcome::Early(resp),
            }
        }
        match got {
            Ok(Some(req)) => return ReadOutcome::Request(req, authorized),
            Ok(None) => {}
            Err(e) => return ReadOutcome::Refuse(e),
        }
        if !sent_continue && decoder.expects_continue() {
            sent_continue = true;
            if stream.write_all(CONTINUE).await.is_err() {
                return ReadOutcome::Gone;
            }
        }
    }
}

async fn handle<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, peer: Peer, shared: &Shared) {
    let deadline = Instant::now() + shared.request_timeout;
    if let Peer::Unix { uid, pid } = &peer
        && *uid != shared.uid
    {
        tracing::warn!(uid, pid = ?pid, "refused a peer with another uid");
        let resp = Response::error(403, "the daemon serves only its own user");
        finish(&mut stream, resp, true).await;
        return;
    }
    let outcome =
        match tokio::time::timeout_at(deadline, read_request(&mut stream, &peer, shared)).await {
            Ok(o) => o,
            Err(_) => ReadOutcome::Refuse(FrameError::new(
                408,
                format!(
                    "the request was not received within {} ms",
                    shared.request_timeout.as_millis()
                ),
            )),
        };
    let (resp, unread) = match outcome {
        ReadOutcome::Gone => return,
        ReadOutcome::Refuse(e) => {
            tracing::debug!(status = e.status, error = %e.message, "refused request");
            (Response::error(e.status, &e.message), true)
        }
        ReadOutcome::Early(resp) => {
            tracing::debug!(status = resp.status, "refused request on its head");
            (resp, true)
        }
        ReadOutcome::Request(req, authorized) => {
            let method = req.method.clone();
            let path = req.path.clone();
            let resp = shared
                .router
                .dispatch(req, peer, authorized, shared.state.clone())
                .await;
            tracing::debug!(%method, %path, status = resp.status, "request");
            (resp, false)
        }
    };
    finish(&mut stream, resp, unread).await;
}

/// Write the answer, `shutdown(Write)`, and when the request was not read completely, drain a
/// little of what the client is still sending so closing does not reset the answer away.
async fn finish<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, resp: Response, unread: bool) {
    let bytes = resp.encode();
    let written = tokio::time::timeout(Duration::from_secs(10), stream.write_all(&bytes)).await;
    if !matches!(written, Ok(Ok(()))) {
        return;
    }
    let _ = stream.shutdown().await;
    if unread {
        let mut sink = [0u8; 8192];
        let mut left: usize = 256 * 1024;
        let linger = tokio::time::sleep(Duration::from_millis(500));
        tokio::pin!(linger);
        while left > 0 {
            tokio::select! {
                r = stream.read(&mut sink) => match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left = left.saturating_sub(n),
                },
                _ = &mut linger => break,
            }
        }
    }
}
