//! HTTP/1.1 framing for the daemon protocol: the one parser and encoder the server and every client
//! share. No I/O here: callers read chunks from their socket and [`RequestDecoder::push`] /
//! [`ResponseDecoder::push`] them; that keeps the I/O loops tiny and lets the fuzzer drive the exact
//! code the daemon runs.
//!
//! What the previous daemon got wrong and this gets right (../shared/notes/lessons.md): headers are
//! parsed from whatever chunk arrived (never a byte per read); a body is exactly `Content-Length`
//! bytes (never "read to EOF", never shorter); oversize → 413, no length → 411, chunked → 501,
//! header block over 32 KiB → 431; the query string is split from the path and percent-decoded.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::Serialize;
use zeroize::{Zeroize, Zeroizing};

use super::{ErrorKind, MAX_BODY_BYTES, MAX_HEADER_BYTES, PROTOCOL, PROTOCOL_HEADER};

/// Most header lines accepted in one request or answer (more → 431).
pub const MAX_HEADERS: usize = 64;

/// Size limits applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_head: usize,
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: MAX_HEADER_BYTES,
            max_body: MAX_BODY_BYTES,
        }
    }
}

/// A request that cannot be served, with the status to answer it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub status: u16,
    pub message: String,
}

impl FrameError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        FrameError {
            status,
            message: message.into(),
        }
    }
    fn bad(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.status)
    }
}

impl std::error::Error for FrameError {}

/// A complete, decoded request. The body is wiped when the request is dropped (it may carry
/// secret values: `/secrets/cache`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target as sent (origin-form or absolute-form).
    pub target: String,
    /// The path as sent, before percent-decoding (no query).
    pub raw_path: String,
    /// The percent-decoded path.
    pub path: String,
    /// Query pairs, percent-decoded (`+` is a space), in order.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Zeroizing<Vec<u8>>,
}

impl Request {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    /// The first query value named `key`.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[derive(Debug, Clone)]
struct RequestHead {
    method: String,
    target: String,
    raw_path: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    head_len: usize,
    /// The declared Content-Length (`None`: no header).
    declared_len: Option<u64>,
    /// The body length once admitted.
    body_len: usize,
    expect_continue: bool,
}

/// What the server knows once a request's head is in, before any body byte is taken: enough to
/// route it and check its token (`401` before a body is read), see [`RequestDecoder::held`].
#[derive(Debug, Clone, Copy)]
pub struct HeadView<'a> {
    pub method: &'a str,
    pub raw_path: &'a str,
    pub path: &'a str,
    pub headers: &'a [(String, String)],
    pub content_length: Option<u64>,
}

impl HeadView<'_> {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(self.headers, name)
    }
}

/// Incremental request decoder: push chunks as they arrive until it yields the request.
///
/// Everything it buffers is wiped when it is dropped, and a buffer that has to grow is copied
/// and wiped rather than left to the allocator with a value in it.
#[derive(Debug)]
pub struct RequestDecoder {
    buf: Vec<u8>,
    head: Option<RequestHead>,
    limits: Limits,
    done: bool,
    /// Stop after the head until [`RequestDecoder::admit`] says how much body to take.
    hold: bool,
    admitted: bool,
}

impl Drop for RequestDecoder {
    fn drop(&mut self) {
        self.buf.zeroize();
    }
}

/// Append `data` to `buf`; when `buf` must grow, move it to a new allocation of at least
/// `want` bytes and wipe the old one (a plain `extend` would free it with its bytes intact).
fn append_wiping(buf: &mut Vec<u8>, data: &[u8], want: usize) {
    if buf.capacity() - buf.len() < data.len() {
        let mut bigger = Vec::with_capacity(want.max(buf.len() + data.len()));
        bigger.extend_from_slice(buf);
        buf.zeroize();
        *buf = bigger;
    }
    buf.extend_from_slice(data);
}

impl RequestDecoder {
    pub fn new(limits: Limits) -> Self {
        RequestDecoder {
            buf: Vec::with_capacity(16 * 1024),
            head: None,
            limits,
            done: false,
            hold: false,
            admitted: false,
        }
    }

    /// A decoder that stops once the head is parsed: the caller looks at [`Self::held_head`],
    /// decides (route, token, the route's body limit) and calls [`Self::admit`]. The body
    /// checks (411, 413, 415) run at admission, against the limit given then.
    pub fn held(limits: Limits) -> Self {
        let mut d = RequestDecoder::new(limits);
        d.hold = true;
        d
    }

    /// Bytes received so far (0 means the peer sent nothing at all).
    pub fn received(&self) -> usize {
        self.buf.len()
    }

    /// True when the head is complete, asked for `Expect: 100-continue` and the body is still due.
    pub fn expects_continue(&self) -> bool {
        matches!(&self.head, Some(h) if self.admitted && h.expect_continue && h.body_len > 0
            && self.buf.len() < h.head_len + h.body_len)
    }

    /// True once the head has been parsed (the status line and headers are known).
    pub fn head_complete(&self) -> bool {
        self.head.is_some()
    }

    /// The head of a held decoder that waits for [`Self::admit`].
    pub fn held_head(&self) -> Option<HeadView<'_>> {
        match &self.head {
            Some(h) if !self.admitted => Some(HeadView {
                method: &h.method,
                raw_path: &h.raw_path,
                path: &h.path,
                headers: &h.headers,
                content_length: h.declared_len,
            }),
            _ => None,
        }
    }

    /// Admit the held request with a body of at most `max_body` bytes (also capped by the
    /// decoder's limits): the body checks run now, then whatever body bytes already arrived
    /// are taken. `Ok(Some(request))` when it is complete already.
    pub fn admit(&mut self, max_body: usize) -> Result<Option<Request>, FrameError> {
        let Some(h) = self.head.as_mut() else {
            return Ok(None);
        };
        if self.admitted {
            return Ok(None);
        }
        let max = max_body.min(self.limits.max_body);
        h.body_len = check_body(&h.method, &h.headers, h.declared_len, max)?;
        self.admitted = true;
        let end = h.head_len + h.body_len;
        if self.buf.len() > end {
            self.buf[end..].zeroize();
            self.buf.truncate(end);
        }
        self.complete()
    }

    /// Feed the next chunk. `Ok(Some(request))` once the head and exactly `Content-Length` body
    /// bytes are in; bytes after that are ignored (one request per connection).
    pub fn push(&mut self, data: &[u8]) -> Result<Option<Request>, FrameError> {
        if self.done {
            return Ok(None);
        }
        match &self.head {
            Some(h) if self.admitted => {
                let end = h.head_len + h.body_len;
                let want = end - self.buf.len();
                append_wiping(&mut self.buf, &data[..data.len().min(want)], end);
            }
            Some(_) => {
                // Held: keep at most one more chunk until admission (the caller admits at
                // once, so this never grows past the head limit plus a read).
                if self.buf.len() < self.limits.max_head + 16 * 1024 {
                    append_wiping(&mut self.buf, data, 0);
                }
                return Ok(None);
            }
            None => {
                // The buffer holds at most the header limit plus one chunk: a partial head
                // past the limit is refused below.
                append_wiping(&mut self.buf, data, 0);
                match parse_request_head(&self.buf, &self.limits)? {
                    Some(head) => {
                        self.head = Some(head);
                        if self.hold {
                            return Ok(None);
                        }
                        return self.admit(self.limits.max_body);
                    }
                    None => return Ok(None),
                }
            }
        }
        self.complete()
    }

    fn complete(&mut self) -> Result<Option<Request>, FrameError> {
        let h = self.head.as_ref().expect("head parsed before completion");
        if !self.admitted || self.buf.len() < h.head_len + h.body_len {
            return Ok(None);
        }
        self.done = true;
        let mut body = Zeroizing::new(Vec::with_capacity(h.body_len));
        body.extend_from_slice(&self.buf[h.head_len..h.head_len + h.body_len]);
        Ok(Some(Request {
            method: h.method.clone(),
            target: h.target.clone(),
            raw_path: h.raw_path.clone(),
            path: h.path.clone(),
            query: h.query.clone(),
            headers: h.headers.clone(),
            body,
        }))
    }

    /// The error for a peer that closed its side before the request was complete, or `None` when
    /// it sent nothing at all (a probe: close silently).
    pub fn eof_error(&self) -> Option<FrameError> {
        if self.buf.is_empty() {
            return None;
        }
        Some(match &self.head {
            Some(h) if self.admitted => FrameError::bad(format!(
                "request body ended after {} of {} bytes (Content-Length)",
                self.buf.len() - h.head_len,
                h.body_len
            )),
            Some(_) => FrameError::bad("request ended before it was admitted"),
            None => FrameError::bad("request ended inside the header block"),
        })
    }
}

/// Parse the head: syntax (400), size (431), Transfer-Encoding (501), a well-formed
/// Content-Length (400). What the body may be (411, 413, 415) is [`check_body`]'s.
fn parse_request_head(buf: &[u8], limits: &Limits) -> Result<Option<RequestHead>, FrameError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    // Only the first `max_head` bytes can hold the head: the verdict never depends on how the
    // bytes were split into reads (the fuzzer checks whole == chunked).
    let window = &buf[..buf.len().min(limits.max_head)];
    let head_len = match req.parse(window) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if buf.len() > limits.max_head {
                return Err(too_large_head(limits));
            }
            return Ok(None);
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(FrameError::new(
                431,
                format!("more than {MAX_HEADERS} header lines"),
            ));
        }
        Err(e) => return Err(FrameError::bad(format!("malformed request: {e}"))),
    };
    if head_len > limits.max_head {
        return Err(too_large_head(limits));
    }
    let method = req.method.unwrap_or_default().to_string();
    let target = req.path.unwrap_or_default().to_string();
    let headers = collect_headers(req.headers)?;
    if header_value(&headers, "transfer-encoding").is_some() {
        return Err(FrameError::new(
            501,
            "Transfer-Encoding (chunked) is not supported; send the body with Content-Length",
        ));
    }
    let declared_len = content_length(&headers)?;
    let (raw_path, path, query) = split_target(&target)?;
    let expect_continue = header_value(&headers, "expect")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"));
    Ok(Some(RequestHead {
        method,
        target,
        raw_path,
        path,
        query,
        headers,
        head_len,
        declared_len,
        body_len: 0,
        expect_continue,
    }))
}

/// The body a request may bring: a length on POST/PUT/PATCH (411), at most `max_body` (413),
/// JSON when there is one (415). Returns the body length.
fn check_body(
    method: &str,
    headers: &[(String, String)],
    declared: Option<u64>,
    max_body: usize,
) -> Result<usize, FrameError> {
    let body_len = match declared {
        Some(n) => n,
        None if matches!(method, "POST" | "PUT" | "PATCH") => {
            return Err(FrameError::new(
                411,
                "Content-Length is required for a request body",
            ));
        }
        None => 0,
    };
    if body_len > max_body as u64 {
        return Err(FrameError::new(
            413,
            format!("request body of {body_len} bytes exceeds the limit of {max_body} bytes"),
        ));
    }
    if body_len > 0
        && let Some(ct) = header_value(headers, "content-type")
    {
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/json") {
            return Err(FrameError::new(
                415,
                format!("Content-Type {mime:?} is not supported; send application/json"),
            ));
        }
    }
    Ok(body_len as usize)
}

fn too_large_head(limits: &Limits) -> FrameError {
    FrameError::new(
        431,
        format!("request header block exceeds {} bytes", limits.max_head),
    )
}

fn collect_headers(raw: &[httparse::Header<'_>]) -> Result<Vec<(String, String)>, FrameError> {
    raw.iter()
        .map(|h| {
            let value = std::str::from_utf8(h.value)
                .map_err(|_| FrameError::bad(format!("header {} is not valid UTF-8", h.name)))?;
            Ok((h.name.to_ascii_lowercase(), value.trim().to_string()))
        })
        .collect()
}

/// The single Content-Length of a header list: every occurrence must be plain decimal digits and
/// they must agree (a smuggling vector otherwise).
fn content_length(headers: &[(String, String)]) -> Result<Option<u64>, FrameError> {
    let mut found: Option<u64> = None;
    for (name, value) in headers {
        if name != "content-length" {
            continue;
        }
        for part in value.split(',') {
            let part = part.trim();
            if part.is_empty() || part.len() > 19 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(FrameError::bad(format!("invalid Content-Length {value:?}")));
            }
            let n: u64 = part
                .parse()
                .map_err(|_| FrameError::bad(format!("invalid Content-Length {value:?}")))?;
            match found {
                Some(prev) if prev != n => {
                    return Err(FrameError::bad("conflicting Content-Length headers"));
                }
                _ => found = Some(n),
            }
        }
    }
    Ok(found)
}

type Target = (String, String, Vec<(String, String)>);

/// Split a request target into (raw path, decoded path, decoded query pairs).
fn split_target(target: &str) -> Result<Target, FrameError> {
    let origin = if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        // absolute-form: drop the authority (RFC 9112 §3.2.2 says servers must accept it).
        match rest.find('/') {
            Some(i) => &rest[i..],
            None => match rest.find('?') {
                Some(i) => &rest[i..],
                None => "/",
            },
        }
    } else {
        target
    };
    let origin = origin.split('#').next().unwrap_or("");
    let (raw_path, raw_query) = match origin.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (origin, None),
    };
    if !raw_path.starts_with('/') {
        return Err(FrameError::bad(format!(
            "request target {target:?} must be an absolute path"
        )));
    }
    let path = decode_component(raw_path, false)
        .ok_or_else(|| FrameError::bad("path is not valid UTF-8 after percent-decoding"))?;
    let mut query = Vec::new();
    if let Some(q) = raw_query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode_component(k, true);
            let v = decode_component(v, true);
            match (k, v) {
                (Some(k), Some(v)) => query.push((k, v)),
                _ => {
                    return Err(FrameError::bad(
                        "query string is not valid UTF-8 after percent-decoding",
                    ));
                }
            }
        }
    }
    Ok((raw_path.to_string(), path, query))
}

/// Percent-decode one component; in a query `+` means a space. `None` when not UTF-8.
pub fn decode_component(s: &str, plus_is_space: bool) -> Option<String> {
    let replaced;
    let s = if plus_is_space && s.contains('+') {
        replaced = s.replace('+', " ");
        replaced.as_str()
    } else {
        s
    };
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// Characters escaped in a query component (everything but unreserved characters and `/`).
const QUERY_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// `k=v&k2=v2`, percent-encoded; empty for no pairs.
pub fn encode_query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUERY_ESCAPE),
                utf8_percent_encode(v, QUERY_ESCAPE)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Encode a request (client side). `target` is origin-form (`/path?query`); a body is sent as
/// JSON with an exact Content-Length.
pub fn encode_request(
    method: &str,
    target: &str,
    host: &str,
    extra_headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.map_or(0, |b| b.len()));
    out.extend_from_slice(format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\n").as_bytes());
    out.extend_from_slice(b"Connection: close\r\nAccept: application/json\r\n");
    for (k, v) in extra_headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    if let Some(b) = body {
        out.extend_from_slice(
            format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(b"\r\n");
    if let Some(b) = body {
        out.extend_from_slice(b);
    }
    out
}

/// An answer (server side), always JSON. The body is wiped on drop (`/secrets/resolve` answers
/// carry values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Zeroizing<Vec<u8>>,
}

/// Counts what a serializer writes (to allocate a body once, exactly: a growing Vec would free
/// partial copies of it along the way).
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len();
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `value` as JSON in one allocation of its exact size, wiped on drop (request and answer
/// bodies may carry secret values; `serde_json::to_vec` grows a Vec and frees partial copies).
pub fn json_bytes<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Zeroizing<Vec<u8>>> {
    let mut n = Counter(0);
    serde_json::to_writer(&mut n, value)?;
    let mut body = Zeroizing::new(Vec::with_capacity(n.0));
    serde_json::to_writer(&mut *body, value)?;
    Ok(body)
}

impl Response {
    /// `status` with `value` serialised as the JSON body.
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Response {
        match json_bytes(value) {
            Ok(body) => Response {
                status,
                headers: Vec::new(),
                body,
            },
            Err(e) => Response::error(500, &format!("serialising the answer: {e}")),
        }
    }

    /// `{"error": message, "kind": ..}` with `status`, for the protocol's own refusals
    /// (malformed request, no such endpoint, too large, busy): the kind follows the status.
    pub fn error(status: u16, message: &str) -> Response {
        let kind = match status {
            400 | 405 | 411 | 413 | 415 | 431 | 501 => ErrorKind::Usage,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            422 => ErrorKind::InvalidInput,
            423 => ErrorKind::Locked,
            401 | 403 => ErrorKind::Denied,
            408 | 503 => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        };
        Response::error_of(status, kind, message)
    }

    /// `{"error": message, "kind": kind}` with `status`.
    pub fn error_of(status: u16, kind: ErrorKind, message: &str) -> Response {
        Response::json(
            status,
            &super::ErrorBody {
                error: message.to_string(),
                kind: Some(kind),
            },
        )
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The bytes on the wire: status line, fixed security headers, exact Content-Length.
    /// Allocated once at its final size and wiped on drop, like the body.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\nX-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n\
             Cache-Control: no-store\r\n{PROTOCOL_HEADER}: {PROTOCOL}\r\n",
            self.status,
            reason(self.status),
            self.body.len()
        );
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut out = Zeroizing::new(Vec::with_capacity(head.len() + self.body.len()));
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(&self.body);
        out
    }
}

/// The interim answer to `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The reason phrase of the statuses the daemon uses.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// A complete answer (client side); the body is wiped on drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Zeroizing<Vec<u8>>,
}

impl ParsedResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

#[derive(Debug, Clone)]
struct ResponseHead {
    status: u16,
    headers: Vec<(String, String)>,
    head_len: usize,
    body_len: Option<usize>,
}

/// Incremental answer decoder (client side): exact Content-Length, or until EOF without one.
#[derive(Debug)]
pub struct ResponseDecoder {
    buf: Vec<u8>,
    head: Option<ResponseHead>,
    limits: Limits,
}

impl Drop for ResponseDecoder {
    fn drop(&mut self) {
        self.buf.zeroize();
    }
}

impl ResponseDecoder {
    pub fn new(limits: Limits) -> Self {
        ResponseDecoder {
            buf: Vec::with_capacity(1024),
            head: None,
            limits,
        }
    }

    /// Feed the next chunk; `Ok(Some(answer))` once complete. Interim 1xx answers are skipped.
    pub fn push(&mut self, data: &[u8]) -> Result<Option<ParsedResponse>, FrameError> {
        let want = match &self.head {
            Some(ResponseHead {
                head_len,
                body_len: Some(n),
                ..
            }) => head_len + n,
            _ => 0,
        };
        append_wiping(&mut self.buf, data, want);
        loop {
            if self.head.is_none() {
                match parse_response_head(&self.buf, &self.limits)? {
                    None => return Ok(None),
                    Some(h) if (100..200).contains(&h.status) => {
                        self.buf.drain(..h.head_len);
                        continue;
                    }
                    Some(h) => self.head = Some(h),
                }
            }
            break;
        }
        let h = self.head.as_ref().expect("head parsed above");
        if self.buf.len().saturating_sub(h.head_len) > self.limits.max_body {
            return Err(FrameError::new(
                413,
                "answer body exceeds the client's limit",
            ));
        }
        match h.body_len {
            Some(n) if self.buf.len() >= h.head_len + n => Ok(Some(ParsedResponse {
                status: h.status,
                headers: h.headers.clone(),
                body: Zeroizing::new(self.buf[h.head_len..h.head_len + n].to_vec()),
            })),
            _ => Ok(None),
        }
    }

    /// The peer closed: the answer if it is complete by EOF, else why not.
    pub fn finish(&self) -> Result<ParsedResponse, FrameError> {
        match &self.head {
            None => Err(FrameError::bad(if self.buf.is_empty() {
                "the daemon closed the connection without answering".to_string()
            } else {
                "the answer ended inside its header block".to_string()
            })),
            Some(h) => match h.body_len {
                Some(n) if self.buf.len() < h.head_len + n => Err(FrameError::bad(format!(
                    "the answer body ended after {} of {n} bytes",
                    self.buf.len() - h.head_len
                ))),
                Some(n) => Ok(ParsedResponse {
                    status: h.status,
                    headers: h.headers.clone(),
                    body: Zeroizing::new(self.buf[h.head_len..h.head_len + n].to_vec()),
                }),
                None => Ok(ParsedResponse {
                    status: h.status,
                    headers: h.headers.clone(),
                    body: Zeroizing::new(self.buf[h.head_len..].to_vec()),
                }),
            },
        }
    }
}

fn parse_response_head(buf: &[u8], limits: &Limits) -> Result<Option<ResponseHead>, FrameError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut slots);
    let head_len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if buf.len() > limits.max_head {
                return Err(FrameError::new(431, "answer header block too large"));
            }
            return Ok(None);
        }
        Err(e) => return Err(FrameError::bad(format!("malformed answer: {e}"))),
    };
    let status = resp.code.unwrap_or(0);
    let headers = collect_headers(resp.headers)?;
    if header_value(&headers, "transfer-encoding").is_some() {
        return Err(FrameError::new(501, "chunked answers are not supported"));
    }
    let body_len = match content_length(&headers)? {
        Some(n) if n > limits.max_body as u64 => {
            return Err(FrameError::new(
                413,
                format!("answer body of {n} bytes exceeds the client's limit"),
            ));
        }
        Some(n) => Some(n as usize),
        None if (100..200).contains(&status) || status == 204 || status == 304 => Some(0),
        None => None,
    };
    Ok(Some(ResponseHead {
        status,
        headers,
        head_len,
        body_len,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Result<Option<Request>, FrameError> {
        RequestDecoder::new(Limits::default()).push(bytes)
    }

    #[test]
    fn get_with_query_is_split_and_decoded() {
        let r = decode_all(
            b"GET /api/session?project=%2Fhome%2Fme%2Fmy+app&x=a%20b HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.path, "/api/session");
        assert_eq!(r.query("project"), Some("/home/me/my app"));
        assert_eq!(r.query("x"), Some("a b"));
        assert!(r.body.is_empty());
    }

    #[test]
    fn body_is_exactly_content_length_across_chunks() {
        let mut d = RequestDecoder::new(Limits::default());
        assert!(
            d.push(b"POST /x HTTP/1.1\r\nContent-Type: application/json\r\nContent-")
                .unwrap()
                .is_none()
        );
        assert!(d.push(b"Length: 7\r\n\r\n{\"a\"").unwrap().is_none());
        let r = d.push(b":1}TRAILING").unwrap().unwrap();
        assert_eq!(&r.body[..], b"{\"a\":1}");
    }

    #[test]
    fn statuses_of_design_section_6() {
        let cases: &[(&[u8], u16)] = &[
            (b"POST /x HTTP/1.1\r\n\r\n", 411),
            (
                b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                501,
            ),
            (b"POST /x HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", 413),
            (
                b"POST /x HTTP/1.1\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nhi",
                415,
            ),
            (
                b"POST /x HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
                400,
            ),
            (b"POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
            (b"GET x HTTP/1.1\r\n\r\n", 400),
            (b"GE\x01T / HTTP/1.1\r\n\r\n", 400),
            (b"GET /%ff HTTP/1.1\r\n\r\n", 400),
        ];
        for (bytes, status) in cases {
            let e = decode_all(bytes).unwrap_err();
            assert_eq!(
                e.status,
                *status,
                "{:?}: {e}",
                String::from_utf8_lossy(bytes)
            );
        }
        let mut big = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', 40 * 1024));
        assert_eq!(decode_all(&big).unwrap_err().status, 431);
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..100 {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(decode_all(&many).unwrap_err().status, 431);
    }

    #[test]
    fn short_body_is_reported_at_eof() {
        let mut d = RequestDecoder::new(Limits::default());
        assert!(
            d.push(b"POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
                .unwrap()
                .is_none()
        );
        assert_eq!(d.eof_error().unwrap().status, 400);
        assert!(RequestDecoder::new(Limits::default()).eof_error().is_none());
    }

    #[test]
    fn absolute_form_and_expect_continue() {
        let mut d = RequestDecoder::new(Limits::default());
        assert!(d
            .push(b"POST http://localhost/api/x?y=1 HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
            .unwrap()
            .is_none());
        assert!(d.expects_continue());
        let r = d.push(b"{}").unwrap().unwrap();
        assert_eq!(r.path, "/api/x");
        assert_eq!(r.query("y"), Some("1"));
    }

    #[test]
    fn response_round_trip_skips_interim_answers() {
        let resp = Response::json(200, &serde_json::json!({"a": "b"}));
        let mut bytes = CONTINUE.to_vec();
        bytes.extend(resp.encode().iter());
        let mut d = ResponseDecoder::new(Limits {
            max_head: MAX_HEADER_BYTES,
            max_body: 1024,
        });
        let (a, b) = bytes.split_at(30);
        assert!(d.push(a).unwrap().is_none());
        let p = d.push(b).unwrap().unwrap();
        assert_eq!(p.status, 200);
        assert_eq!(&p.body[..], br#"{"a":"b"}"#);
        assert_eq!(p.header("x-frame-options"), Some("DENY"));
        assert_eq!(p.header("x-patina-protocol"), Some("1"));
    }

    #[test]
    fn encode_query_round_trips() {
        let q = encode_query(&[("project", "/home/me/my app&x"), ("q", "a+b=ç")]);
        let target = format!("/p?{q}");
        let (_, _, pairs) = split_target(&target).unwrap();
        assert_eq!(pairs[0].1, "/home/me/my app&x");
        assert_eq!(pairs[1].1, "a+b=ç");
    }

    fn outcome(r: Result<Option<Request>, FrameError>) -> Result<Option<Request>, u16> {
        r.map_err(|e| e.status)
    }

    proptest::proptest! {
        // The long run (≥ 1M inputs, mutated requests) is `cargo bench --bench framing_fuzz`.
        #[test]
        fn whole_and_chunked_agree(
            prefix in proptest::sample::select(vec![
                &b"GET /health HTTP/1.1\r\n"[..],
                &b"POST /api/x?a=%20 HTTP/1.1\r\nContent-Length: 3\r\n"[..],
                &b""[..],
            ]),
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
            cut in 0usize..300,
        ) {
            let mut input = prefix.to_vec();
            input.extend(tail);
            let limits = Limits { max_head: 96, max_body: 16 };
            let whole = outcome(RequestDecoder::new(limits).push(&input));
            let mut d = RequestDecoder::new(limits);
            let (a, b) = input.split_at(cut.min(input.len()));
            let first = outcome(d.push(a));
            let chunked = match first {
                Ok(None) => outcome(d.push(b)),
                other => other,
            };
            proptest::prop_assert_eq!(whole, chunked);
        }
    }
}
