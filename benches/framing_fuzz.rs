//! Bounded fuzzing of the daemon's request/answer framing on stable Rust (no cargo-fuzz/nightly):
//! `cargo bench --bench framing_fuzz -- [INPUTS] [SEED]` (default 1,000,000 inputs).
//!
//! Inputs: random bytes, and valid requests mutated (bit flips, byte insertions/deletions,
//! duplicated or truncated spans, splices of hostile header lines: huge/negative/duplicate
//! Content-Length, Transfer-Encoding, Expect, odd targets and percent-escapes). Each input is fed
//! to `RequestDecoder` whole and in random chunks, and to `ResponseDecoder`.
//! Checks: no panic; the same outcome (request or status) whole and chunked; a decoded request's
//! body is exactly its Content-Length; refusals only use the statuses of DESIGN §6.

use std::time::Instant;

use patina::proto::framing::{Limits, Request, RequestDecoder, ResponseDecoder};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const SEEDS: &[&[u8]] = &[
    b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET /api/session?project=%2Fhome%2Fme%2Fmy+app&x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /api/scry HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"query\":\"q\"}ok",
    b"POST /secrets/cache HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
    b"GET http://localhost/version HTTP/1.0\r\n\r\n",
];

const HOSTILE: &[&[u8]] = &[
    b"Content-Length: 18446744073709551615\r\n",
    b"Content-Length: 99999999999999999999999\r\n",
    b"Content-Length: -1\r\n",
    b"Content-Length: 1, 2\r\n",
    b"Content-Length: 3\r\nContent-Length: 3\r\n",
    b"Content-Length: +4\r\n",
    b"Content-Length: 1048577\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: gzip, chunked\r\n",
    b"Expect: 100-continue\r\n",
    b"Content-Type: text/plain\r\n",
    b"Content-Type: application/json; charset=utf-8\r\n",
    b"X-Bad: \xff\xfe\r\n",
    b"\r\n",
    b"\n",
    b" folded\r\n",
    b"%",
    b"%zz",
    b"%c3%28",
    b"?&&=&a==b&%ff=1",
    b"#frag",
    b"http://",
    b"\0",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..=rng.below(6) {
        let len = input.len();
        let op = rng.below(8);
        match op {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(len + 1);
                input.insert(i, rng.next() as u8);
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below(len - i + 1);
                input.drain(i..i + n);
            }
            3 => {
                let i = rng.below(len + 1);
                let h = rng.pick(HOSTILE);
                input.splice(i..i, h.iter().copied());
            }
            4 if len > 0 => {
                // Duplicate a span (repeated headers, long lines).
                let i = rng.below(len);
                let n = rng.below((len - i).min(64) + 1);
                let span: Vec<u8> = input[i..i + n].to_vec();
                let max_times = if rng.below(50) == 0 { 2000 } else { 4 };
                let times = 1 + rng.below(max_times);
                for _ in 0..times {
                    input.splice(i..i, span.iter().copied());
                }
            }
            5 if len > 0 => input.truncate(rng.below(len)),
            6 => {
                let n = rng.below(32);
                for _ in 0..n {
                    input.push(rng.next() as u8);
                }
            }
            _ => {}
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Request(Request),
    Refused(u16),
    Partial,
}

fn feed_whole(limits: Limits, input: &[u8]) -> Outcome {
    let mut d = RequestDecoder::new(limits);
    match d.push(input) {
        Ok(Some(r)) => Outcome::Request(r),
        Ok(None) => Outcome::Partial,
        Err(e) => Outcome::Refused(e.status),
    }
}

fn feed_chunked(limits: Limits, rng: &mut Rng, input: &[u8]) -> Outcome {
    let mut d = RequestDecoder::new(limits);
    let mut rest = input;
    while !rest.is_empty() {
        let cap = if rng.below(4) == 0 { 3 } else { 600 };
        let n = 1 + rng.below(rest.len().min(cap));
        let (chunk, tail) = rest.split_at(n.min(rest.len()));
        rest = tail;
        match d.push(chunk) {
            Ok(Some(r)) => return Outcome::Request(r),
            Ok(None) => {}
            Err(e) => return Outcome::Refused(e.status),
        }
        let _ = d.expects_continue();
    }
    let _ = d.eof_error();
    Outcome::Partial
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this as a quick smoke.
    let bench = std::env::args().any(|a| a == "--bench");
    let default_total = if bench { 1_000_000 } else { 20_000 };
    let total: u64 = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(default_total);
    let seed: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0x5eed_da7a);
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    // Small limits too, so the 431/413 edges are crossed often.
    let limits = [
        Limits::default(),
        Limits {
            max_head: 64,
            max_body: 8,
        },
    ];
    let start = Instant::now();
    let (mut ok, mut partial) = (0u64, 0u64);
    let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
    for i in 0..total {
        let mut input = if rng.below(10) == 0 {
            (0..rng.below(300)).map(|_| rng.next() as u8).collect()
        } else {
            rng.pick(SEEDS).to_vec()
        };
        mutate(&mut rng, &mut input);
        let lim = limits[(i % 2) as usize];
        let whole = feed_whole(lim, &input);
        let chunked = feed_chunked(lim, &mut rng, &input);
        assert_eq!(
            whole,
            chunked,
            "whole vs chunked differ (seed {seed}, input {i}): {:?}",
            String::from_utf8_lossy(&input)
        );
        match &whole {
            Outcome::Request(r) => {
                ok += 1;
                let cl = r
                    .header("content-length")
                    .map(|v| {
                        v.split(',')
                            .next()
                            .unwrap()
                            .trim()
                            .parse::<usize>()
                            .unwrap()
                    })
                    .unwrap_or(0);
                assert_eq!(r.body.len(), cl, "body length (seed {seed}, input {i})");
                assert!(r.path.starts_with('/'));
            }
            Outcome::Refused(s) => {
                assert!(
                    [400, 411, 413, 415, 431, 501].contains(s),
                    "unexpected status {s} (seed {seed}, input {i})"
                );
                *statuses.entry(*s).or_default() += 1;
            }
            Outcome::Partial => partial += 1,
        }
        // The client's answer decoder on the same bytes (turned into an answer when possible).
        let mut resp = input.clone();
        if rng.below(2) == 0
            && let Some(p) = resp.iter().position(|b| *b == b' ')
        {
            resp.splice(..p, b"HTTP/1.1".iter().copied());
        }
        let mut rd = ResponseDecoder::new(lim);
        if let Ok(None) = rd.push(&resp) {
            let _ = rd.finish();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "framing fuzz: {total} inputs (x2 decoders, whole + chunked) in {secs:.1} s \
         ({:.0}/s), seed {seed}: {ok} requests decoded, {partial} incomplete, refusals {statuses:?}; \
         no panic, whole == chunked for every input",
        total as f64 / secs
    );
}
