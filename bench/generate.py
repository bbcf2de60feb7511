"""Benchmark: eval throughput of ladder's local backend against a naive per-example loop.

    .venv/bin/python bench/generate.py [--n 24] [--max-new-tokens 64] [--append] [--llama-server PATH] [--slots 16]
        [--peers-only]

Workload: the balance-shift eval inputs under the `instructed` prompt (~285 prompt tokens),
greedy, up to 64 new tokens — the "300-token prompt, 64-token answer" task of issue 6.
Every variant answers the same prompts; the table gives examples/minute, the share of outputs
identical to the fp32 one-at-a-time reference, and the model FLOPs utilisation (MFU): the
FLOPs the answers need over the seconds taken, against this machine's fp32 matmul peak measured
when the script starts (ladder.hardware.matmul_flops, a 1024 x 1024 matmul, best of 1 s). The FLOPs needed count the shared prompt prefix once, each
prompt's own tokens and each generated token once (2 x the layers' weights per token, the
output head only where a token is generated, and attention over the context so far), not
padding or recomputation: what a perfect loop would do, so the shortfall is the loop's overhead.
A last line profiles ladder's default once more: the share of its time in matrix products, and the
MFU those products alone would allow (the useful FLOPs over their seconds): the ceiling of any loop
built on them, at this workload's batch widths. Another bounds every loop, whatever its products:
the memory roofline, where each step (the prefill, then each decode step over the rows still
answering) costs at least one read of the fp32 weights at the bandwidth measured here (a sum
over as many bytes) and at least its FLOPs at the peak.

llama.cpp, the strongest CPU peer, runs the same GGUF file two ways where it is available:
single-stream through llama-cpp-python when `llama_cpp` imports, and batched through
`llama-server` (--llama-server PATH, or `llama-server` on PATH) with --slots parallel slots and
continuous batching, every prompt sent at once from as many client threads. Its model loads before
the clock starts, as ladder's does. Building either from source takes minutes (BENCHMARKS.md says
how it was built for each figure).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from climb import cpu_description  # noqa: E402


def prompts(n: int):
    from ladder.rungs.prompt import ChatPrompt
    from ladder.task import load_task

    task = load_task(ROOT / "examples/balance-shift/task.yaml")
    prompt = ChatPrompt(system=task.spec.prompts.system, instructions=task.spec.prompts.instructions)
    return [prompt.render(e) for e in task.eval[:n]]


def naive(chats, max_new_tokens: int) -> list[str]:
    """One example at a time, plain transformers generate: what a first script would do."""
    import torch

    from ladder.backends.local import render_chat
    from ladder.backends.local_models import load_model_and_tokenizer

    model, tok = load_model_and_tokenizer("smollm2-135m-instruct")
    outs = []
    for chat in chats:
        enc = tok(render_chat(tok, chat), return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        outs.append(tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip())
    return outs


def ladder_backend(chats, max_new_tokens: int, dtype: str, batch_size: int | None) -> list[str]:
    from ladder.backends.local import LocalBackend
    from ladder.types import GenerationParams

    backend = LocalBackend(dtype=dtype, batch_size=batch_size)
    backend.generate(chats[:1], GenerationParams(max_new_tokens=2))  # load weights outside the timing
    return [g.text for g in backend.generate(chats, GenerationParams(max_new_tokens=max_new_tokens))]


MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm")


def matmul_share(chats, max_new_tokens: int) -> tuple[list[str], float, float]:
    """ladder's default (fp32, auto batches) answering once more under torch's profiler: its
    outputs, the seconds taken and the seconds its matrix products took (their own time). The
    useful FLOPs over the products' seconds bound the MFU any loop of these products could
    reach if every other operation took no time at all."""
    from torch.profiler import ProfilerActivity, profile

    from ladder.backends.local import LocalBackend
    from ladder.types import GenerationParams

    backend = LocalBackend()
    backend.generate(chats[:1], GenerationParams(max_new_tokens=2))  # load weights outside the timing
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        out = [g.text for g in backend.generate(chats, GenerationParams(max_new_tokens=max_new_tokens))]
        seconds = time.perf_counter() - t0
    products = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in MATMUL_OPS) / 1e6
    return out, seconds, products


def llama_cpp(chats, max_new_tokens: int) -> tuple[list[str], float] | None:
    """llama.cpp single-stream (one request at a time, its own prompt-prefix reuse); returns the
    outputs and the seconds spent generating them (the model is loaded before the clock starts)."""
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    from ladder.backends.local_models import gguf_path

    llm = Llama(model_path=str(gguf_path("smollm2-135m-instruct")), n_ctx=1024, n_threads=2, verbose=False)
    llm.create_chat_completion(messages=[{"role": "user", "content": "hi"}], max_tokens=2)  # load outside the timing
    t0 = time.perf_counter()
    outs = [
        llm.create_chat_completion(messages=[m.to_dict() for m in c], max_tokens=max_new_tokens,
                                   temperature=0.0)["choices"][0]["message"]["content"].strip()
        for c in chats
    ]
    return outs, time.perf_counter() - t0


def llama_server(binary: str, chats, max_new_tokens: int, slots: int) -> tuple[list[str], float]:
    """llama.cpp's batched server: `slots` parallel slots with continuous batching, every prompt
    sent concurrently; returns the outputs and the seconds from the first request to the last answer."""
    import json
    import socket
    import subprocess
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from ladder.backends.local_models import gguf_path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    threads = os.cpu_count() or 1
    server = subprocess.Popen(
        [binary, "-m", str(gguf_path("smollm2-135m-instruct")), "--host", "127.0.0.1", "--port", str(port),
         "-np", str(slots), "-c", str(slots * 1024), "-t", str(threads), "-tb", str(threads), "--cont-batching",
         "--no-webui"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def ask(chat) -> str:
        body = json.dumps({"messages": [m.to_dict() for m in chat], "max_tokens": max_new_tokens,
                           "temperature": 0.0}).encode()
        request = urllib.request.Request(f"{url}/v1/chat/completions", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=600) as r:
            return json.loads(r.read())["choices"][0]["message"]["content"].strip()

    try:
        deadline = time.monotonic() + 120
        while True:  # the model loads before the clock starts
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"llama-server did not start (exit {server.poll()})") from None
                time.sleep(0.5)
        ask(chats[0])  # warm-up, outside the timing
        t0 = time.perf_counter()
        with ThreadPoolExecutor(slots) as pool:
            outs = list(pool.map(ask, chats))
        return outs, time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(timeout=30)


def _shapes() -> tuple[int, int, int, int, int]:
    """SmolLM2-135M's hidden size, layers, MLP width, vocabulary and KV width."""
    from transformers import AutoConfig

    from ladder.backends.local_models import weights_dir

    cfg = AutoConfig.from_pretrained(str(weights_dir("smollm2-135m-instruct")), local_files_only=True)
    d = cfg.hidden_size
    return d, cfg.num_hidden_layers, cfg.intermediate_size, cfg.vocab_size, d * cfg.num_key_value_heads // cfg.num_attention_heads


def flops_by_step(prompt_ids: list[list[int]], generated: list[int]) -> list[float]:
    """The FLOPs that answering needs (see the module docstring), for SmolLM2-135M's shapes: the
    prefill's (every prompt token, the shared prefix once) first, then each decode step's, over
    the rows still answering at that step (a row's first token comes from the prefill)."""
    d, layers, inter, vocab, kv = _shapes()
    per_layer = d * d * 2 + d * kv * 2 + 3 * d * inter  # q, o; k, v; gate, up, down
    shared = 0
    for column in zip(*prompt_ids):
        if len(set(column)) > 1:
            break
        shared += 1

    def forward(position: int, head: bool) -> float:
        # 2 FLOPs per weight; attention: q.k and p.v over `position` earlier tokens, per layer
        return 2 * per_layer * layers + 4 * position * d * layers + (2 * d * vocab if head else 0)

    steps = [float(sum(forward(p, False) for p in range(shared)))]
    for ids, n in zip(prompt_ids, generated):
        steps[0] += sum(forward(p, p == len(ids) - 1) for p in range(shared, len(ids)))
        for j in range(max(0, n - 1)):
            steps += [0.0] * (j + 2 - len(steps))
            steps[j + 1] += forward(len(ids) + j, True)
    return steps


def useful_flops(prompt_ids: list[list[int]], generated: list[int]) -> float:
    return sum(flops_by_step(prompt_ids, generated))


def weight_bytes() -> int:
    """The fp32 weights every forward step reads in full (the output head is the tied embedding)."""
    d, layers, inter, vocab, kv = _shapes()
    return 4 * (layers * (d * d * 2 + d * kv * 2 + 3 * d * inter + 2 * d) + vocab * d + d)


def read_bandwidth(nbytes: int, repeats: int = 5) -> float:
    """Bytes/s this machine reads from memory: the best of `repeats` sums of an fp32 tensor of
    `nbytes` (too large for any cache), on torch's threads, as a matmul streams its weights."""
    import torch

    x = torch.ones(nbytes // 4)
    x.sum()  # first touch
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        x.sum()
        best = min(best, time.perf_counter() - t0)
    return nbytes / best


def roofline_mfu(steps: list[float], peak: float, bandwidth: float, nbytes: int) -> float:
    """The MFU no loop over fp32 weights can beat on this machine: each step (the prefill, then
    each decode step) takes at least its FLOPs at the matmul peak and at least one read of the
    weights at the measured bandwidth, whichever is longer. Activations, the KV cache and
    Python are taken as free, so the true bound is lower."""
    return sum(steps) / peak / sum(max(f / peak, nbytes / bandwidth) for f in steps)


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--append", action="store_true", help="append the table to BENCHMARKS.md")
    parser.add_argument("--llama-server", default=shutil.which("llama-server"),
                        help="llama.cpp's llama-server binary (default: the one on PATH, if any)")
    parser.add_argument("--slots", type=int, default=16, help="llama-server's parallel slots (and client threads)")
    parser.add_argument("--peers-only", action="store_true",
                        help="time only ladder's default and the llama.cpp peers; ladder's fp32 output (identical to"
                             " the naive loop's in every full run so far) is then the reference, and x naive is left out")
    args = parser.parse_args()
    chats = prompts(args.n)
    from ladder.backends.local import render_chat
    from ladder.backends.local_models import load_tokenizer
    from ladder.hardware import matmul_flops

    tok = load_tokenizer("smollm2-135m-instruct")
    prompt_ids = [tok(render_chat(tok, c), add_special_tokens=False)["input_ids"] for c in chats]
    peak = matmul_flops("float32", seconds=1.0)  # measured now: a cached figure may be another machine's

    rows = []
    if not args.peers_only:
        reference, ref_s = timed(naive, chats, args.max_new_tokens)
        rows.append(("naive transformers loop, fp32, batch 1", reference, ref_s))
    variants = (("float32", None),) if args.peers_only else \
        (("float32", 8), ("float32", 16), ("float32", None), ("bfloat16", None))
    for dtype, bs in variants:
        out, s = timed(ladder_backend, chats, args.max_new_tokens, dtype, bs)
        rows.append((f"ladder LocalBackend, {dtype}, batch {bs or 'auto'}, shared-prefix KV", out, s))
    if args.peers_only:
        reference, ref_s = rows[0][1], None
    cpp = llama_cpp(chats, args.max_new_tokens)
    if cpp is not None:
        rows.append(("llama-cpp-python 0.3.36, same GGUF (Q4_1), 2 threads, single stream", cpp[0], cpp[1]))
    if args.llama_server is not None:
        outs, s = llama_server(args.llama_server, chats, args.max_new_tokens, args.slots)
        rows.append((f"llama-server, same GGUF (Q4_1), {args.slots} slots, continuous batching", outs, s))

    lines = [f"fp32 matmul peak measured: {peak / 1e9:.0f} GFLOP/s", "",
             "| variant | examples/min | x naive | identical to fp32 reference | MFU (fp32 peak) |", "|---|---|---|---|---|"]
    for name, out, s in rows:
        same = sum(a == b for a, b in zip(out, reference)) / len(reference)
        generated = [len(tok(o, add_special_tokens=False)["input_ids"]) + 1 for o in out]  # + the end of turn
        utilisation = useful_flops(prompt_ids, generated) / s / peak
        versus_naive = f"{ref_s / s:.2f}" if ref_s else "—"
        lines.append(f"| {name} | {len(chats) / s * 60:.1f} | {versus_naive} | {same:.0%} | {utilisation:.1%} |")
    if cpp is None:
        lines.append("| llama-cpp-python | not installed | | | |")
    if args.llama_server is None:
        lines.append("| llama-server | not found (--llama-server PATH) | | | |")
    out, s, products = matmul_share(chats, args.max_new_tokens)
    generated = [len(tok(o, add_special_tokens=False)["input_ids"]) + 1 for o in out]
    ceiling = useful_flops(prompt_ids, generated) / products / peak
    steps = flops_by_step(prompt_ids, generated)
    nbytes = weight_bytes()
    bandwidth = read_bandwidth(nbytes)
    lines.append("")
    lines.append(f"ladder's default under torch's profiler: {s:.1f} s, of which its matrix products (aten::mm, addmm, "
                 f"bmm; their own time) {products:.1f} s ({products / s:.0%}); were everything else free, the "
                 f"products alone would allow an MFU of {ceiling:.1%}.")
    lines.append(f"Memory roofline: each of its {len(steps)} steps (the prefill, then one per generated token, over "
                 f"the rows still answering: {max(generated) - 1} decode steps) reads the {nbytes / 1e6:.0f} MB of "
                 f"fp32 weights at least once; at the {bandwidth / 1e9:.1f} GB/s this machine reads memory (a sum "
                 f"over as many bytes) and the peak above, no loop could exceed an MFU of "
                 f"{roofline_mfu(steps, peak, bandwidth, nbytes):.1%}.")
    table = "\n".join(lines)
    print(table)
    if args.append:
        with open(ROOT / "BENCHMARKS.md", "a") as f:
            f.write(f"\n### Generation throughput — {time.strftime('%Y-%m-%d')}\n\n")
            f.write(f"Command: `python bench/generate.py --n {args.n} --max-new-tokens {args.max_new_tokens} --append`"
                    f"  \nMachine: {cpu_description()}  \nWorkload: {args.n} balance-shift eval inputs under the "
                    f"instructed prompt, greedy, up to {args.max_new_tokens} new tokens.\n\n{table}\n")


if __name__ == "__main__":
    main()
