//! The one typed client of the daemon, for every caller (CLI, cockpit, mother).
//!
//! Blocking on purpose: commands are synchronous, and the cockpit calls it from
//! `tokio::task::spawn_blocking` (it never blocks the UI task). Every call has a deadline
//! ([`Client::with_timeout`]); errors are typed ([`ClientError`]) so callers can tell "daemon not
//! running" (fall back to in-process work) from "protocol mismatch" (tell the user to restart it).
//!
//! Rules it enforces (../shared/notes/lessons.md): Unix socket first; `/secrets/*` is never sent
//! over TCP (no fallback from the socket to TCP, ever); a token is only sent to the host:port it
//! was issued for; the framing is `proto::framing`, the same code the server parses with.
//!
//! **It verifies the daemon before it sends a byte** (a socket path is only as trustworthy as
//! whoever could create it): `PATINA_HOME` ours, not a symlink, not writable by group/others;
//! the socket's directory (`run/`) ours, a real directory, mode 0700; the socket ours and a
//! socket; and, once connected, the server's uid from SO_PEERCRED equal to ours. Any mismatch
//! is [`ClientError::Untrusted`], naming the path and what is wrong; nothing is sent.
//!
//! Areas add typed calls in `client/<area>.rs` as `impl Client { ... }` using [`Client::get`] and
//! [`Client::post`] with their `proto/<area>.rs` types (see `src/serve/mod.rs`).

mod agent;
mod lifecycle;
mod scry;
mod secrets;

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::proto::framing::{self, Limits, ParsedResponse, ResponseDecoder};
use crate::proto::{
    self, ErrorBody, ErrorKind, Health, MAX_HEADER_BYTES, MAX_RESPONSE_BODY_BYTES, PROTOCOL,
    PROTOCOL_HEADER, SOCKET_FILE, Version, paths,
};

pub use lifecycle::{
    DaemonStatus, StopOutcome, ensure_running, ensure_running_report, start_background, status,
    stop,
};

/// Default deadline of one call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "daemon not running (nothing answers on {endpoint}); start it with `patina serve --background`"
    )]
    NotRunning { endpoint: String },
    #[error(
        "protocol mismatch: client {client}, daemon {daemon}; restart the daemon: \
         `patina serve stop && patina serve --background`"
    )]
    ProtocolMismatch { client: u32, daemon: u32 },
    #[error("the daemon at {endpoint} did not answer within {} ms", after.as_millis())]
    Timeout { endpoint: String, after: Duration },
    #[error("the daemon answered {status}: {message}")]
    Status {
        status: u16,
        /// The error kind the daemon named (absent for 401/403).
        kind: Option<ErrorKind>,
        message: String,
    },
    #[error("refused by the client: {0}")]
    Refused(String),
    #[error("talking to the daemon at {endpoint}: {source}")]
    Io {
        endpoint: String,
        #[source]
        source: io::Error,
    },
    #[error("bad answer from the daemon at {endpoint}: {message}")]
    BadAnswer { endpoint: String, message: String },
    #[error("starting the daemon: {0}")]
    Start(String),
    #[error("refusing to talk to the daemon: {} {problem}; nothing was sent", path.display())]
    Untrusted { path: PathBuf, problem: String },
}

impl ClientError {
    /// True when no daemon answers (callers fall back to in-process work).
    pub fn is_not_running(&self) -> bool {
        matches!(self, ClientError::NotRunning { .. })
    }
    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The domain kind of this failure: the daemon's own for an error answer, else what the
    /// failure means to the caller (no daemon → unavailable).
    pub fn kind(&self) -> ErrorKind {
        match self {
            ClientError::Status { kind: Some(k), .. } => *k,
            ClientError::Status { .. } => ErrorKind::Internal,
            ClientError::NotRunning { .. }
            | ClientError::Timeout { .. }
            | ClientError::Start(_) => ErrorKind::Unavailable,
            ClientError::ProtocolMismatch { .. } => ErrorKind::Conflict,
            ClientError::Refused(_) => ErrorKind::Usage,
            ClientError::Io { .. } => ErrorKind::Io,
            ClientError::BadAnswer { .. } => ErrorKind::Internal,
            ClientError::Untrusted { .. } => ErrorKind::Denied,
        }
    }

    /// This failure as a typed domain error (same kind, same message), for `?` in commands.
    pub fn into_error(self) -> crate::error::Error {
        crate::error::Error::new(self.kind(), self.to_string())
    }
}

/// Where the daemon is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp { host: String, port: u16 },
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "{}", p.display()),
            Endpoint::Tcp { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// A bearer token bound to the `host:port` it was issued for; it is never sent anywhere else.
#[derive(Clone)]
pub struct TcpToken {
    issued_for: String,
    value: Zeroizing<String>,
}

impl TcpToken {
    pub fn new(issued_for_host: &str, port: u16, value: &str) -> Self {
        TcpToken {
            issued_for: host_port(&issued_for_host.to_ascii_lowercase(), port),
            value: Zeroizing::new(value.trim().to_string()),
        }
    }
}

impl std::fmt::Debug for TcpToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TcpToken(for {}, <redacted>)", self.issued_for)
    }
}

/// A handle on one daemon. Cheap to clone; every call opens its own connection.
#[derive(Debug, Clone)]
pub struct Client {
    endpoint: Endpoint,
    token: Option<TcpToken>,
    timeout: Duration,
    /// `PATINA_HOME`, checked before every call on the local socket ([`Client::local`]).
    home: Option<PathBuf>,
}

/// Who is at the other end of a Unix socket, as the kernel says (SO_PEERCRED).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCred {
    pub pid: u32,
    pub uid: u32,
}

/// `PATINA_HOME/run/serve.sock`.
pub fn socket_path() -> PathBuf {
    crate::paths::run_dir().join(SOCKET_FILE)
}

impl Client {
    /// The local daemon on this PATINA_HOME's Unix socket (PATINA_HOME is verified too).
    pub fn local() -> Client {
        let mut c = Client::unix(&socket_path());
        c.home = Some(crate::paths::patina_home());
        c
    }

    /// A daemon on the Unix socket `path` (its directory must be private, see the module docs).
    pub fn unix(path: &Path) -> Client {
        Client {
            endpoint: Endpoint::Unix(path.to_path_buf()),
            token: None,
            timeout: DEFAULT_TIMEOUT,
            home: None,
        }
    }

    /// A daemon over TCP; `token` is sent only if it was issued for exactly this host:port.
    pub fn tcp(host: &str, port: u16, token: Option<TcpToken>) -> Client {
        Client {
            endpoint: Endpoint::Tcp {
                host: host.to_ascii_lowercase(),
                port,
            },
            token,
            timeout: DEFAULT_TIMEOUT,
            home: None,
        }
    }

    /// The deadline for each call (connect + send + answer).
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Refuse unless this client talks over the Unix socket (secrets use this).
    pub fn require_unix(&self, what: &str) -> Result<(), ClientError> {
        match self.endpoint {
            Endpoint::Unix(_) => Ok(()),
            Endpoint::Tcp { .. } => Err(ClientError::Refused(format!(
                "{what} is only sent over the local Unix socket, never over TCP"
            ))),
        }
    }

    /// `GET /health`, checking the protocol version.
    pub fn health(&self) -> Result<Health, ClientError> {
        let h: Health = self.get(paths::HEALTH, &[])?;
        if h.protocol != PROTOCOL {
            return Err(ClientError::ProtocolMismatch {
                client: PROTOCOL,
                daemon: h.protocol,
            });
        }
        Ok(h)
    }

    /// `GET /health` and who answered it (SO_PEERCRED of the connection; Unix socket only):
    /// `serve stop` signals a pid only when the daemon's claim and the kernel's agree.
    pub fn health_with_peer(&self) -> Result<(Health, Option<PeerCred>), ClientError> {
        let (resp, peer) = self.exchange_once("GET", paths::HEALTH, None)?;
        let h: Health = self.decode(resp)?;
        if h.protocol != PROTOCOL {
            return Err(ClientError::ProtocolMismatch {
                client: PROTOCOL,
                daemon: h.protocol,
            });
        }
        Ok((h, peer))
    }

    /// `GET /version`
    pub fn version(&self) -> Result<Version, ClientError> {
        self.get(paths::VERSION, &[])
    }

    /// `GET /api/session?project=ROOT`: the active session summary (same JSON as
    /// `patina session status --json`).
    pub fn session_status(
        &self,
        root: &Path,
    ) -> Result<proto::session::SessionStatus, ClientError> {
        let root = root.to_string_lossy();
        self.get(paths::SESSION, &[("project", &root)])
    }

    /// `GET path?query` decoded as `T`.
    pub fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        let target = if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", framing::encode_query(query))
        };
        let resp = self.request("GET", &target, None)?;
        self.decode(resp)
    }

    /// `POST path` with `body` as JSON, decoded as `T`.
    pub fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let bytes = framing::json_bytes(body)
            .map_err(|e| ClientError::Refused(format!("cannot serialise the request body: {e}")))?;
        let resp = self.request("POST", path, Some(&bytes))?;
        self.decode(resp)
    }

    fn decode<T: DeserializeOwned>(&self, resp: ParsedResponse) -> Result<T, ClientError> {
        if (200..300).contains(&resp.status) {
            return serde_json::from_slice(&resp.body).map_err(|e| ClientError::BadAnswer {
                endpoint: self.endpoint.to_string(),
                message: format!("unexpected JSON: {e}"),
            });
        }
        let (message, kind) = match serde_json::from_slice::<ErrorBody>(&resp.body) {
            Ok(e) => (e.error, e.kind),
            Err(_) => (
                String::from_utf8_lossy(&resp.body)
                    .chars()
                    .take(200)
                    .collect(),
                None,
            ),
        };
        Err(ClientError::Status {
            status: resp.status,
            kind,
            message,
        })
    }

    /// One raw exchange: connect, send, read the whole answer, check the protocol header.
    pub fn request(
        &self,
        method: &str,
        target: &str,
        body: Option<&[u8]>,
    ) -> Result<ParsedResponse, ClientError> {
        self.exchange_once(method, target, body).map(|(r, _)| r)
    }

    fn exchange_once(
        &self,
        method: &str,
        target: &str,
        body: Option<&[u8]>,
    ) -> Result<(ParsedResponse, Option<PeerCred>), ClientError> {
        let deadline = Instant::now() + self.timeout;
        let mut headers: Vec<(&str, Zeroizing<String>)> = Vec::new();
        let host = match &self.endpoint {
            Endpoint::Unix(_) => "localhost".to_string(),
            Endpoint::Tcp { host, port } => {
                if target.starts_with(paths::SECRETS_PREFIX) {
                    return Err(ClientError::Refused(
                        "secrets are only requested over the local Unix socket, never over TCP"
                            .into(),
                    ));
                }
                let here = host_port(host, *port);
                if let Some(t) = &self.token {
                    if t.issued_for != here {
                        return Err(ClientError::Refused(format!(
                            "the token was issued for {}, not {here}; not sending it",
                            t.issued_for
                        )));
                    }
                    headers.push((
                        "Authorization",
                        Zeroizing::new(format!("Bearer {}", t.value.as_str())),
                    ));
                }
                here
            }
        };
        let header_refs: Vec<(&str, &str)> =
            headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let bytes = Zeroizing::new(framing::encode_request(
            method,
            target,
            &host,
            &header_refs,
            body,
        ));
        drop(headers);
        match &self.endpoint {
            Endpoint::Unix(path) => {
                self.verify_path(path)?;
                let stream = UnixStream::connect(path).map_err(|e| self.connect_error(e))?;
                let peer = self.verify_peer(path, &stream)?;
                Ok((self.exchange(stream, &bytes, deadline)?, Some(peer)))
            }
            Endpoint::Tcp { host, port } => {
                let stream =
                    connect_tcp(host, *port, deadline).map_err(|e| self.connect_error(e))?;
                let _ = stream.set_nodelay(true);
                Ok((self.exchange(stream, &bytes, deadline)?, None))
            }
        }
    }

    /// Before connecting: PATINA_HOME (for [`Client::local`]), the socket's directory and the
    /// socket itself. A missing one means no daemon ([`ClientError::NotRunning`]).
    fn verify_path(&self, socket: &Path) -> Result<(), ClientError> {
        let not_running = || ClientError::NotRunning {
            endpoint: self.endpoint.to_string(),
        };
        let untrusted = |path: &Path, problem: String| ClientError::Untrusted {
            path: path.to_path_buf(),
            problem,
        };
        if let Some(home) = &self.home {
            match crate::store::dir_problem(home, crate::store::DirRule::NotWritableByOthers) {
                Ok(None) => {}
                Ok(Some(p)) => return Err(untrusted(home, p)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_running()),
                Err(e) => return Err(untrusted(home, format!("cannot be inspected ({e})"))),
            }
        }
        let dir = socket
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        match crate::store::dir_problem(dir, crate::store::DirRule::Private) {
            Ok(None) => {}
            Ok(Some(p)) => return Err(untrusted(dir, p)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_running()),
            Err(e) => return Err(untrusted(dir, format!("cannot be inspected ({e})"))),
        }
        let meta = match std::fs::symlink_metadata(socket) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_running()),
            Err(e) => return Err(untrusted(socket, format!("cannot be inspected ({e})"))),
        };
        if !meta.file_type().is_socket() {
            return Err(untrusted(socket, "is not a socket".into()));
        }
        let uid = crate::store::current_uid();
        if meta.uid() != uid {
            return Err(untrusted(
                socket,
                format!("is owned by uid {}, not by you (uid {uid})", meta.uid()),
            ));
        }
        Ok(())
    }

    /// After connecting, before sending: the process that listens must run as us.
    fn verify_peer(&self, socket: &Path, stream: &UnixStream) -> Result<PeerCred, ClientError> {
        let peer = peer_cred(stream).map_err(|e| ClientError::Untrusted {
            path: socket.to_path_buf(),
            problem: format!("does not say who listens on it (SO_PEERCRED: {e})"),
        })?;
        let uid = crate::store::current_uid();
        if peer.uid != uid {
            return Err(ClientError::Untrusted {
                path: socket.to_path_buf(),
                problem: format!(
                    "is served by a process of uid {} (pid {}), not by you (uid {uid})",
                    peer.uid, peer.pid
                ),
            });
        }
        Ok(peer)
    }

    fn connect_error(&self, e: io::Error) -> ClientError {
        match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => ClientError::NotRunning {
                endpoint: self.endpoint.to_string(),
            },
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ClientError::Timeout {
                endpoint: self.endpoint.to_string(),
                after: self.timeout,
            },
            _ => ClientError::Io {
                endpoint: self.endpoint.to_string(),
                source: e,
            },
        }
    }

    fn exchange<S: Read + Write + Timeouts>(
        &self,
        mut stream: S,
        request: &[u8],
        deadline: Instant,
    ) -> Result<ParsedResponse, ClientError> {
        let timeout = || ClientError::Timeout {
            endpoint: self.endpoint.to_string(),
            after: self.timeout,
        };
        let io_err = |e: io::Error| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => timeout(),
            _ => ClientError::Io {
                endpoint: self.endpoint.to_string(),
                source: e,
            },
        };
        let remaining = || {
            deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
        };
        stream
            .set_write_deadline(remaining().ok_or_else(timeout)?)
            .map_err(io_err)?;
        // A daemon that refuses early (503, 413) may close before taking the whole request:
        // still read its answer.
        if let Err(e) = stream.write_all(request)
            && !matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            )
        {
            return Err(io_err(e));
        }
        let mut decoder = ResponseDecoder::new(Limits {
            max_head: MAX_HEADER_BYTES,
            max_body: MAX_RESPONSE_BODY_BYTES,
        });
        // Answers may carry secret values (`/secrets/resolve`): every buffer is wiped on drop.
        let mut chunk = Zeroizing::new(vec![0u8; 16 * 1024]);
        let bad = |m: String| ClientError::BadAnswer {
            endpoint: self.endpoint.to_string(),
            message: m,
        };
        let resp = loop {
            stream
                .set_read_deadline(remaining().ok_or_else(timeout)?)
                .map_err(io_err)?;
            let n = match stream.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => 0,
                Err(e) => return Err(io_err(e)),
            };
            if n == 0 {
                break decoder.finish().map_err(|e| bad(e.message))?;
            }
            if let Some(r) = decoder.push(&chunk[..n]).map_err(|e| bad(e.message))? {
                break r;
            }
        };
        if let Some(v) = resp.header(PROTOCOL_HEADER) {
            match v.trim().parse::<u32>() {
                Ok(daemon) if daemon != PROTOCOL => {
                    return Err(ClientError::ProtocolMismatch {
                        client: PROTOCOL,
                        daemon,
                    });
                }
                Ok(_) => {}
                Err(_) => return Err(bad(format!("invalid {PROTOCOL_HEADER} header {v:?}"))),
            }
        }
        Ok(resp)
    }
}

/// SO_PEERCRED of a connected Unix socket: the server's pid and uid as of its listen(2).
fn peer_cred(stream: &UnixStream) -> io::Result<PeerCred> {
    // SAFETY: getsockopt(2) writes at most `len` bytes into `cred`, a plain C struct.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(PeerCred {
        pid: cred.pid as u32,
        uid: cred.uid,
    })
}

/// `host:port`, with an IPv6 literal in brackets (also the `Host` header form).
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn connect_tcp(host: &str, port: u16, deadline: Instant) -> io::Result<TcpStream> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host} did not resolve"));
    for addr in (host, port).to_socket_addrs()? {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"));
        };
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Per-operation socket deadlines for both stream types.
trait Timeouts {
    fn set_read_deadline(&self, d: Duration) -> io::Result<()>;
    fn set_write_deadline(&self, d: Duration) -> io::Result<()>;
}

impl Timeouts for UnixStream {
    fn set_read_deadline(&self, d: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(d))
    }
    fn set_write_deadline(&self, d: Duration) -> io::Result<()> {
        self.set_write_timeout(Some(d))
    }
}

impl Timeouts for TcpStream {
    fn set_read_deadline(&self, d: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(d))
    }
    fn set_write_deadline(&self, d: Duration) -> io::Result<()> {
        self.set_write_timeout(Some(d))
    }
}

/// The crate version this client was built from (for status lines).
pub fn client_version() -> &'static str {
    proto::crate_version()
}
