//! `GET /health` over a Unix socket, one connection per request (the protocol's shape), at 1, 16
//! and 64 concurrent clients: patina's daemon against a minimal hyper server on a Unix socket,
//! side by side in the same run (interleaved rounds, best round of each kept).
//!
//! `cargo bench --bench health [-- SECONDS_PER_ROUND]` (default 3). Goal: ≥ 0.8× hyper's req/s,
//! p99 ≤ 2 ms. Both servers run in this process on their own 2-worker tokio runtimes; the load
//! comes from blocking client threads (connect, write, read to EOF, check `200`).

use std::convert::Infallible;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;

const REQUEST: &[u8] = b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

struct Figures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

fn one_request(sock: &Path, buf: &mut Vec<u8>) -> bool {
    let Ok(mut s) = UnixStream::connect(sock) else {
        return false;
    };
    if s.write_all(REQUEST).is_err() {
        return false;
    }
    buf.clear();
    if s.read_to_end(buf).is_err() {
        return false;
    }
    buf.starts_with(b"HTTP/1.1 200")
}

fn load(sock: &Path, conc: usize, dur: Duration) -> Figures {
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..conc)
        .map(|_| {
            let sock = sock.to_path_buf();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut lat = Vec::with_capacity(100_000);
                let mut errors = 0u64;
                let mut buf = Vec::with_capacity(512);
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    if one_request(&sock, &mut buf) {
                        lat.push(t.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(dur);
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in threads {
        let (l, e) = t.join().unwrap();
        all.extend(l);
        errors += e;
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    Figures {
        rps: all.len() as f64 / secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        errors,
    }
}

fn wait_for(sock: &Path) {
    let until = Instant::now() + Duration::from_secs(20);
    let mut buf = Vec::new();
    while !one_request(sock, &mut buf) {
        assert!(Instant::now() < until, "{} never answered", sock.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The baseline: hyper's HTTP/1 server, one connection per request, the same JSON and headers.
fn hyper_server(path: PathBuf) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let started = Instant::now();
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let svc = hyper::service::service_fn(move |_req| async move {
                    let body = serde_json::to_vec(&serde_json::json!({
                        "status": "ok",
                        "version": env!("CARGO_PKG_VERSION"),
                        "protocol": 1,
                        "pid": std::process::id(),
                        "uptime_secs": started.elapsed().as_secs(),
                    }))
                    .unwrap();
                    Ok::<_, Infallible>(
                        hyper::Response::builder()
                            .header("content-type", "application/json")
                            .header("x-content-type-options", "nosniff")
                            .header("x-frame-options", "DENY")
                            .header("cache-control", "no-store")
                            .header("connection", "close")
                            .body(Full::new(Bytes::from(body)))
                            .unwrap(),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, svc)
                    .await;
            });
        }
    });
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "health bench: run it with `cargo bench --bench health` (skipped under cargo test)"
        );
        return;
    }
    let secs: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3.0);
    let dur = Duration::from_secs_f64(secs);
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: set before any other thread exists; the daemon reads PATINA_HOME for run/.
    unsafe { std::env::set_var("PATINA_HOME", dir.path()) };
    std::thread::spawn(|| {
        patina::serve::run(patina::serve::ServeOptions::default(), |_| {}).unwrap();
    });
    let ours = dir.path().join("run").join("serve.sock");
    let theirs = dir.path().join("hyper.sock");
    let t2 = theirs.clone();
    std::thread::spawn(move || hyper_server(t2));
    wait_for(&ours);
    wait_for(&theirs);
    // Warm up both.
    load(&ours, 4, Duration::from_millis(300));
    load(&theirs, 4, Duration::from_millis(300));

    println!(
        "/health over UDS, one connection per request, {secs} s per round, best of 2 interleaved rounds"
    );
    println!(
        "{:>5} | {:>10} {:>8} {:>8} | {:>10} {:>8} {:>8} | {:>6}",
        "conc", "patina r/s", "p50 ms", "p99 ms", "hyper r/s", "p50 ms", "p99 ms", "ratio"
    );
    for conc in [1usize, 16, 64] {
        let mut best_ours: Option<Figures> = None;
        let mut best_theirs: Option<Figures> = None;
        for _ in 0..2 {
            let o = load(&ours, conc, dur);
            let t = load(&theirs, conc, dur);
            if best_ours.as_ref().is_none_or(|b| o.rps > b.rps) {
                best_ours = Some(o);
            }
            if best_theirs.as_ref().is_none_or(|b| t.rps > b.rps) {
                best_theirs = Some(t);
            }
        }
        let (o, t) = (best_ours.unwrap(), best_theirs.unwrap());
        println!(
            "{conc:>5} | {:>10.0} {:>8.3} {:>8.3} | {:>10.0} {:>8.3} {:>8.3} | {:>5.2}x{}",
            o.rps,
            o.p50_ms,
            o.p99_ms,
            t.rps,
            t.p50_ms,
            t.p99_ms,
            o.rps / t.rps,
            if o.errors + t.errors > 0 {
                format!("  (errors: patina {}, hyper {})", o.errors, t.errors)
            } else {
                String::new()
            }
        );
    }
    std::process::exit(0);
}
