//! The router: areas register `(method, path pattern, access, handler)`; the connection loop asks
//! it to [`Router::dispatch`] a decoded request. Unknown path → 404, known path with another method →
//! 405 (with `Allow`), TCP rules (token, `/secrets/*`, UDS-only routes) applied before any handler.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::state::DaemonState;
use crate::error::{self, ErrorKind};
use crate::project::Project;
use crate::proto::framing::{Request, Response};
use crate::proto::paths::SECRETS_PREFIX;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Unix socket, and TCP without a token (`/health`, `/version`).
    Open,
    /// Unix socket, and TCP with `Authorization: Bearer <token>`.
    Token,
    /// Unix socket only (secrets, index, agent events). Over TCP: 403.
    LocalOnly,
}

/// The other end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// A local process on the Unix socket; uid already checked to be ours (SO_PEERCRED).
    Unix { uid: u32, pid: Option<i32> },
    /// A TCP peer (authenticated when the route needs it).
    Tcp { addr: SocketAddr },
}

impl Peer {
    pub fn is_unix(&self) -> bool {
        matches!(self, Peer::Unix { .. })
    }
}

/// An error answer: status, kind and message, sent as `{"error": message, "kind": kind}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub kind: ErrorKind,
    pub message: String,
}

/// The HTTP status of a domain error kind (docs/json.md): a caller's mistake is a 4xx, only
/// patina's own failures (io, internal) are a 500.
pub fn status_for(kind: ErrorKind) -> u16 {
    match kind {
        ErrorKind::Usage => 400,
        ErrorKind::NotInProject | ErrorKind::NotFound => 404,
        ErrorKind::Conflict => 409,
        ErrorKind::InvalidInput => 422,
        ErrorKind::Locked => 423,
        ErrorKind::Denied => 403,
        ErrorKind::Unavailable => 503,
        ErrorKind::Io | ErrorKind::Internal => 500,
    }
}

impl ApiError {
    /// An answer of `kind`, with the status [`status_for`] gives it.
    pub fn of(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            status: status_for(kind),
            kind,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Usage, message)
    }
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::InvalidInput, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Denied, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Conflict, message)
    }
    pub fn locked(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Locked, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Unavailable, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Internal, message)
    }
}

/// A domain error answers with its kind's status; the whole context chain is the message
/// (domain errors never carry secret values).
impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        ApiError::of(error::kind_of(&err), format!("{err:#}"))
    }
}

/// What a handler returns.
pub type Reply = Result<Response, ApiError>;

/// `200` with `value` as JSON.
pub fn ok<T: Serialize + ?Sized>(value: &T) -> Reply {
    Ok(Response::json(200, value))
}

/// One request as a handler sees it: the decoded request, path parameters, the peer, and the
/// daemon's shared state.
pub struct Call {
    pub request: Request,
    pub params: Vec<(String, String)>,
    pub peer: Peer,
    pub state: Arc<DaemonState>,
}

impl Call {
    /// The first query value named `key`.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.request.query(key)
    }

    /// A required query value (400 when missing or empty).
    pub fn require_query(&self, key: &str) -> Result<&str, ApiError> {
        match self.query(key) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ApiError::bad_request(format!(
                "missing query parameter `{key}`"
            ))),
        }
    }

    /// A `{name}` segment of the route pattern.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON into `T` (400 naming the problem otherwise).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.request.body.is_empty() {
            return Err(ApiError::bad_request("a JSON body is required"));
        }
        serde_json::from_slice(&self.request.body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }

    /// Open the project a request names (`?project=ROOT` or a body field): it must be an absolute
    /// path inside a patina project or git work tree. Never the daemon's cwd. Over TCP only a
    /// root the owner exposed (`serve --expose`) is served: anything else is 403 before the
    /// directory is even looked at, so a TCP peer can neither read nor make an index in a
    /// directory it merely names.
    pub fn project_at(&self, root: &str) -> Result<Project, ApiError> {
        if !self.peer.is_unix() {
            self.require_exposed(root)?;
        }
        open_project(root)
    }

    /// The project of `?project=ROOT`.
    pub fn project(&self) -> Result<Project, ApiError> {
        self.project_at(self.require_query("project")?)
    }

    fn require_exposed(&self, root: &str) -> Result<(), ApiError> {
        let exposed = self.state.exposed();
        let hit = std::fs::canonicalize(root)
            .ok()
            .is_some_and(|p| exposed.contains(&p));
        if hit {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "{root} is not exposed over TCP (the owner can expose a project with \
                 `patina serve --listen ADDR --expose PATH`)"
            )))
        }
    }

    /// Run blocking domain work (file I/O, git, ONNX) off the async workers.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> anyhow::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        blocking(f).await
    }
}

/// Run blocking domain work off the async workers; errors answer with their kind's status
/// (a panic is a 500).
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> anyhow::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ApiError::from(e)),
        Err(e) => Err(ApiError::internal(format!("handler failed: {e}"))),
    }
}

fn open_project(root: &str) -> Result<Project, ApiError> {
    // Relative: 400; no such directory or not a project: 404 (by kind); a broken
    // `.patina/config.toml` is a 422, not hidden.
    Ok(Project::named(Path::new(root))?)
}

type BoxFuture = Pin<Box<dyn Future<Output = Reply> + Send + 'static>>;
type Handler = Arc<dyn Fn(Call) -> BoxFuture + Send + Sync + 'static>;
/// A hook run once with the shared state (start: after binding; shutdown: before exit).
pub type Hook = Box<dyn Fn(&Arc<DaemonState>) + Send + Sync + 'static>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

struct Route {
    method: &'static str,
    pattern: Vec<Segment>,
    access: Access,
    /// Largest body this route accepts (413 above; only this much is ever buffered).
    max_body: usize,
    handler: Handler,
}

/// `{name}` segments of a matched route.
type Params = Vec<(String, String)>;

/// Body limit of a POST route unless it says otherwise ([`Router::body_limit`]).
pub const DEFAULT_POST_BODY: usize = 64 * 1024;

/// The route table every area adds to.
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
    pub(super) on_start: Vec<Hook>,
    pub(super) on_shutdown: Vec<Hook>,
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register `GET pattern`. Patterns are literal segments and `{name}` parameters.
    pub fn get<F, Fut>(&mut self, pattern: &str, access: Access, handler: F) -> &mut Self
    where
        F: Fn(Call) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Reply> + Send + 'static,
    {
        self.route("GET", pattern, access, handler)
    }

    /// Register `POST pattern`.
    pub fn post<F, Fut>(&mut self, pattern: &str, access: Access, handler: F) -> &mut Self
    where
        F: Fn(Call) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Reply> + Send + 'static,
    {
        self.route("POST", pattern, access, handler)
    }

    /// Register any method.
    pub fn route<F, Fut>(
        &mut self,
        method: &'static str,
        pattern: &str,
        access: Access,
        handler: F,
    ) -> &mut Self
    where
        F: Fn(Call) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Reply> + Send + 'static,
    {
        let pattern = parse_pattern(pattern);
        assert!(
            !self
                .routes
                .iter()
                .any(|r| r.method == method && r.pattern == pattern),
            "route {method} {pattern:?} registered twice"
        );
        self.routes.push(Route {
            method,
            pattern,
            access,
            max_body: if matches!(method, "GET" | "HEAD" | "DELETE") {
                0
            } else {
                DEFAULT_POST_BODY
            },
            handler: Arc::new(move |call| Box::pin(handler(call))),
        });
        self
    }

    /// Set the body limit of the route registered last (e.g. `/secrets/cache`, whose body is a
    /// whole vault). Capped by the framing limit (1 MiB).
    pub fn body_limit(&mut self, bytes: usize) -> &mut Self {
        if let Some(r) = self.routes.last_mut() {
            r.max_body = bytes;
        }
        self
    }

    /// Run `hook` once after the daemon has bound its sockets (e.g. spawn a TTL sweeper task).
    pub fn on_start(&mut self, hook: impl Fn(&Arc<DaemonState>) + Send + Sync + 'static) {
        self.on_start.push(Box::new(hook));
    }

    /// Run `hook` once on a clean shutdown, before the socket is removed (e.g. zeroize caches).
    pub fn on_shutdown(&mut self, hook: impl Fn(&Arc<DaemonState>) + Send + Sync + 'static) {
        self.on_shutdown.push(Box::new(hook));
    }

    /// Decide on a request from its head alone, before any body byte is read: the TCP rules
    /// (`/secrets/*` 403, token 401, Unix-only 403), unknown path 404, other method 405 — or
    /// the route's body limit when it may go on. The connection loop calls this right after
    /// the headers, so an unauthenticated TCP peer never gets a body buffered.
    pub fn admission(
        &self,
        method: &str,
        raw_path: &str,
        path: &str,
        peer: &Peer,
        authorized: bool,
    ) -> Result<usize, Response> {
        self.find(method, raw_path, path, peer, authorized)
            .map(|(route, _)| route.max_body)
    }

    fn find(
        &self,
        method: &str,
        raw_path: &str,
        path: &str,
        peer: &Peer,
        authorized: bool,
    ) -> Result<(&Route, Params), Response> {
        let secrets_area = SECRETS_PREFIX.trim_matches('/');
        let first_segment = path.split('/').find(|s| !s.is_empty() && *s != ".");
        if !peer.is_unix() && first_segment.is_some_and(|s| s.eq_ignore_ascii_case(secrets_area)) {
            // Before routing, so a TCP peer cannot even learn which secret endpoints exist.
            return Err(Response::error(
                403,
                "/secrets/* is served only on the Unix socket",
            ));
        }
        let segments: Vec<&str> = raw_path.split('/').skip(1).collect();
        let mut allowed = BTreeSet::new();
        let mut found = None;
        for route in &self.routes {
            if let Some(params) = match_pattern(&route.pattern, &segments) {
                if route.method == method {
                    found = Some((route, params));
                    break;
                }
                allowed.insert(route.method);
            }
        }
        let Some((route, params)) = found else {
            if allowed.is_empty() {
                return Err(Response::error(404, &format!("no endpoint {path}")));
            }
            let allow = allowed.into_iter().collect::<Vec<_>>().join(", ");
            return Err(Response::error(
                405,
                &format!("{method} is not allowed on {path} (use {allow})"),
            )
            .with_header("Allow", &allow));
        };
        if !peer.is_unix() {
            match route.access {
                Access::Open => {}
                Access::Token if authorized => {}
                Access::Token => {
                    return Err(Response::error(
                        401,
                        "this endpoint needs Authorization: Bearer <token> over TCP",
                    )
                    .with_header("WWW-Authenticate", "Bearer"));
                }
                Access::LocalOnly => {
                    return Err(Response::error(
                        403,
                        &format!("{path} is served only on the Unix socket"),
                    ));
                }
            }
        }
        Ok((route, params))
    }

    /// Answer one request. `authorized` says whether a TCP peer presented the right token (always
    /// true on the Unix socket, where the uid check already happened).
    pub async fn dispatch(
        &self,
        request: Request,
        peer: Peer,
        authorized: bool,
        state: Arc<DaemonState>,
    ) -> Response {
        let (route, params) = match self.find(
            &request.method,
            &request.raw_path,
            &request.path,
            &peer,
            authorized,
        ) {
            Ok(found) => found,
            Err(resp) => return resp,
        };
        let call = Call {
            request,
            params,
            peer,
            state,
        };
        match (route.handler)(call).await {
            Ok(resp) => resp,
            Err(e) => {
                if e.status >= 500 {
                    tracing::warn!(status = e.status, error = %e.message, "handler failed");
                }
                Response::error_of(e.status, e.kind, &e.message)
            }
        }
    }
}

fn parse_pattern(pattern: &str) -> Vec<Segment> {
    assert!(
        pattern.starts_with('/'),
        "route {pattern} must start with /"
    );
    pattern
        .split('/')
        .skip(1)
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => Segment::Param(name.to_string()),
                None => Segment::Literal(s.to_string()),
            },
        )
        .collect()
}

/// Match raw (still percent-encoded) segments; each segment is decoded on its own so an encoded
/// `/` stays inside its parameter.
fn match_pattern(pattern: &[Segment], segments: &[&str]) -> Option<Vec<(String, String)>> {
    if pattern.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, raw) in pattern.iter().zip(segments) {
        let decoded = crate::proto::framing::decode_component(raw, false)?;
        match p {
            Segment::Literal(l) if *l == decoded => {}
            Segment::Literal(_) => return None,
            Segment::Param(name) => {
                if decoded.is_empty() {
                    return None;
                }
                params.push((name.clone(), decoded));
            }
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_patinas_own_failures_are_500() {
        for kind in ErrorKind::ALL {
            let status = status_for(kind);
            let server_side = matches!(kind, ErrorKind::Io | ErrorKind::Internal);
            assert_eq!(status == 500, server_side, "{kind}");
        }
        let e: anyhow::Error = crate::error::Error::conflict("no active session").into();
        let api = ApiError::from(e.context("noting"));
        assert_eq!((api.status, api.kind), (409, ErrorKind::Conflict));
        assert_eq!(api.message, "noting: no active session");
    }

    #[test]
    fn patterns_match_segments_and_params() {
        let p = parse_pattern("/secrets/pending/{id}");
        assert_eq!(
            match_pattern(&p, &["secrets", "pending", "a%2Fb"]),
            Some(vec![("id".into(), "a/b".into())])
        );
        assert_eq!(match_pattern(&p, &["secrets", "pending"]), None);
        assert_eq!(match_pattern(&p, &["secrets", "pending", ""]), None);
        let h = parse_pattern("/health");
        assert!(match_pattern(&h, &["health"]).is_some());
        assert!(match_pattern(&h, &["health", ""]).is_none());
    }
}
