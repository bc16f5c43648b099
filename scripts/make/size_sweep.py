#!/usr/bin/env python3
"""make bench's size sweep: the clients' cost against prompt and reply size (issue 17).

Run by scripts/make/bench-sections/20-size-sweep.sh; the rows and their targets are in
docs/performance.md and in the section it prints. Against instant_server.py (a fake
llama-server that answers at once, so only the client's own cost shows), interleaved with
bare curl sending the same body; then one row on the real llama-server at the largest
prompt the model's own context (-c 0) allows, cached after the first request as a user's
repeated prompt is: the client's cost is what is left. Peak RSS: the client's largest
process, from a run of its own (see peak_rss_mb).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parents[2])
QUERY = ROOT / "scripts" / "gpt-oss-query.sh"
INFER = ROOT / "scripts" / "local-infer.sh"
SERVER = ROOT / "scripts" / "make" / "instant_server.py"
PROMPT_SIZES = [1_000, 10_000, 100_000, 1_000_000, 4_000_000]
REPLY_SIZES = [1_000, 100_000, 1_000_000, 10_000_000, 50_000_000]
LINE = 'The "quick" brown\\ fox\n'  # a quote, a backslash and a newline every ~20 bytes
MB = 1_000_000


def progress(message: str) -> None:
    print(f"bench: size sweep: {message}", file=sys.stderr, flush=True)


def wait_healthy(url: str, proc: subprocess.Popen, secs: float = 120) -> None:
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"size sweep: the server for {url} exited")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"size sweep: {url} did not come up")


@contextlib.contextmanager
def serving(command: Callable[[str], list[str]]) -> Iterator[str]:
    """Runs command(PORT) on a free port, healthy, until the block ends; yields its URL."""
    with socket.socket() as sock:  # a free port
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_healthy(url, proc)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def instant(reply_bytes: int, *flags: str) -> contextlib.AbstractContextManager[str]:
    """instant_server.py answering with a reply of `reply_bytes` (flags: --harmony)."""
    server = [sys.executable, str(SERVER)]
    return serving(
        lambda port: [*server, "--port", port, "--reply-bytes", str(reply_bytes), *flags]
    )


def scratch(tmp: str, name: str, data: str | bytes) -> str:
    """Writes `data` to the file `name` in `tmp`; its path."""
    path = os.path.join(tmp, name)
    Path(path).write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def prompt_text(size: int) -> str:
    return (LINE * (size // len(LINE) + 1))[:size]


def query_body(prompt: str, stream: bool = False) -> bytes:
    """What gpt-oss-query.sh sends (json.sh's escaping is json.dumps's)."""
    body = {"prompt": prompt, "n_predict": 8, "temperature": 0, "cache_prompt": True}
    if stream:
        body["stream"] = True
    else:
        body["response_fields"] = ["content", "truncated"]
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def curl_cmd(url: str, body_file: str, stream: bool = False) -> list[str]:
    # `Expect:` off as the suite's clients do: a 100-continue round trip is not theirs.
    cmd = ["curl", "-4", "-s", "-o", "/dev/null", "-H", "Content-Type: application/json"]
    cmd += ["-H", "Expect:", *(["-N"] if stream else [])]
    return [*cmd, "--data-binary", f"@{body_file}", url]


def timed(cmd: list[str], stdin_file: str | None) -> float:
    with open(stdin_file or os.devnull, "rb") as stdin:
        start_ = time.perf_counter()
        subprocess.run(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return (time.perf_counter() - start_) * 1000


def peak_rss_mb(cmd: list[str], stdin_file: str | None) -> float:
    """The peak RSS of the largest process of `cmd`, from a run in a fresh interpreter
    (RUSAGE_CHILDREN's maximum would otherwise carry over from earlier runs)."""
    probe = (
        "import resource, subprocess, sys\n"
        "with open(sys.argv[1], 'rb') as f:\n"
        "    subprocess.run(sys.argv[2:], stdin=f, stdout=subprocess.DEVNULL,"
        " stderr=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, stdin_file or os.devnull, *cmd],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KB on Linux
    return int(out.strip()) * scale / MB


def runs_for(size: int, base: int) -> int:
    if size >= 10 * MB:
        return 3
    if size >= MB:
        return 5
    return max(5, min(base, 21))


def measure(
    label: str, size: int, client: list[str], curl: list[str], stdin: str | None, runs: int
) -> dict:
    """Interleaved runs (curl, client, curl, ...) after one untimed warm-up of each."""
    timed(curl, None)
    timed(client, stdin)
    curl_ms, client_ms = [], []
    for _ in range(runs):
        curl_ms.append(timed(curl, None))
        client_ms.append(timed(client, stdin))
    row = {
        "client": label,
        "bytes": size,
        "runs": runs,
        "client_ms": round(statistics.median(client_ms), 1),
        "curl_ms": round(statistics.median(curl_ms), 1),
        "peak_rss_mb": round(peak_rss_mb(client, stdin), 1),
    }
    row["ratio"] = round(row["client_ms"] / row["curl_ms"], 3)
    return row


def human(size: int) -> str:
    return f"{size // MB} MB" if size >= MB else f"{size // 1000} KB"


def clients(url: str) -> list[tuple[str, list[str], bool]]:
    raw = [str(INFER), "--raw"]
    return [
        ("gpt-oss-query.sh", [str(QUERY), "--url", url, "-"], False),
        ("local-infer.sh --raw", [*raw, "--url", url, "-"], False),
        ("local-infer.sh --raw --stream", [*raw, "--stream", "--url", url, "-"], True),
    ]


def harmony_clients(url: str) -> list[tuple[str, list[str], bool]]:
    room = ["--url", url, "--max-tokens", "1000000000", "-"]  # any reply fits
    py_cli = ROOT / ".venv" / "bin" / "gpt-oss-py"
    return [
        ("local-infer.sh (Harmony)", [str(INFER), *room], False),
        ("gpt-oss-py chat", [str(py_cli), "chat", *room], False),
    ]


def with_target(row: dict) -> dict:
    """A prompt row passes at <= 1.10 x curl + 60 ms."""
    row["target_ms"] = round(1.10 * row["curl_ms"] + 60, 1)
    row["pass"] = row["client_ms"] <= row["target_ms"]
    return row


def prompt_sweep(tmp: str, base_runs: int) -> list[dict]:
    rows = []
    with instant(8) as url:
        for size in PROMPT_SIZES:
            prompt_file = scratch(tmp, f"prompt-{size}", prompt_text(size))
            for label, cmd, stream in clients(url):
                body = scratch(tmp, f"body-{size}-{stream}", query_body(prompt_text(size), stream))
                progress(f"prompt {human(size)}: {label}")
                curl = curl_cmd(url + "/completion", body, stream)
                row = measure(label, size, cmd, curl, prompt_file, runs_for(size, base_runs))
                rows.append(with_target(row))
    return rows


def reply_sweep(tmp: str, base_runs: int, harmony: bool = False) -> list[dict]:
    """Replies of 1 KB-50 MB to the three clients; with `harmony`, the Harmony path
    (local-infer.sh, and gpt-oss-py chat behind click) reading replies of 1-50 MB: an
    analysis message, then the reply text as the final one."""
    rows = []
    prompt_file = scratch(tmp, "prompt-x", "x")
    for size in [s for s in REPLY_SIZES if s >= MB] if harmony else REPLY_SIZES:
        with instant(size, *(["--harmony"] if harmony else [])) as url:
            for label, cmd, stream in (harmony_clients if harmony else clients)(url):
                body = scratch(tmp, f"reply-body-{stream}", query_body("x", stream))
                progress(f"{'Harmony reply' if harmony else 'reply'} {human(size)}: {label}")
                curl = curl_cmd(url + "/completion", body, stream)
                rows.append(measure(label, size, cmd, curl, prompt_file, runs_for(size, base_runs)))
    for row in rows:  # linear and bounded, against the same client's 1 MB row
        ref = next(r for r in rows if r["client"] == row["client"] and r["bytes"] == MB)
        row["ms_per_mb"] = round(row["client_ms"] / (row["bytes"] / MB), 1)
        if row["bytes"] < MB:
            row["pass"] = row["client_ms"] <= 1.10 * row["curl_ms"] + 60
        else:
            row["pass"] = (
                row["ms_per_mb"] <= 1.5 * ref["client_ms"]
                and row["peak_rss_mb"] <= 6 * row["bytes"] / MB + 64
            )
    return rows


def real_row(tmp: str, base_runs: int) -> dict | None:
    binary, model = os.environ.get("BENCH_BINARY"), os.environ.get("BENCH_MODEL")
    if not binary or not model:
        return None
    progress(f"real server on {Path(model).name} with its own context")

    def command(port: str) -> list[str]:  # -c 0: the model's own context, one slot holding it
        return [binary, "-m", model, "--host", "127.0.0.1", "--port", port, "-c", "0", "-np", "1"]

    with serving(command) as url:
        with urllib.request.urlopen(url + "/props", timeout=10) as reply:
            n_ctx = json.load(reply)["default_generation_settings"]["n_ctx"]

        def tokens(text: str) -> int:
            request = urllib.request.Request(
                url + "/tokenize",
                json.dumps({"content": text}).encode(),
                {"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=60) as reply:
                return len(json.load(reply)["tokens"])

        budget = n_ctx - 8 - 16  # n_predict and a margin: one position must stay free
        size = len(prompt_text(budget * 4).encode())
        while tokens(prompt_text(size)) > budget:
            size = int(size * 0.95)
        prompt = prompt_text(size)
        prompt_file = scratch(tmp, "prompt-real", prompt)
        curl = curl_cmd(url + "/completion", scratch(tmp, "body-real", query_body(prompt)))
        progress(f"real server: {size} bytes, {tokens(prompt)} of {n_ctx} tokens")
        client = [str(QUERY), "--url", url, "-"]
        row = measure("gpt-oss-query.sh", size, client, curl, prompt_file, min(base_runs, 21))
        row.update(n_ctx=n_ctx, prompt_tokens=tokens(prompt))
        return with_target(row)


def plot(prompts: list[dict], replies: list[dict], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, rows, title in ((axes[0], prompts, "prompt size"), (axes[1], replies, "reply size")):
        for label in dict.fromkeys(r["client"] for r in rows):
            mine = [r for r in rows if r["client"] == label]
            ax.plot([r["bytes"] for r in mine], [r["client_ms"] for r in mine], "o-", label=label)
        curl = {r["bytes"]: r["curl_ms"] for r in rows if r["client"] == "gpt-oss-query.sh"}
        sizes = sorted(curl)
        ax.plot(sizes, [curl[s] for s in sizes], "k--", label="bare curl (same request)")
        if rows is prompts:
            ax.plot(sizes, [1.10 * curl[s] + 60 for s in sizes], ":", color="grey",
                    label="target: 1.10 x curl + 60 ms")  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"{title} (bytes)")
        ax.set_ylabel("wall ms (median)")
        ax.set_title(f"client cost by {title}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    return True


def table(rows: list[dict], extra: str) -> list[str]:
    head = "| client | size | client ms | curl ms | ratio | peak RSS MB | " + extra + " | result |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        value = r.get("target_ms", r.get("ms_per_mb"))
        verdict = "PASS" if r["pass"] else "MISS"
        lines.append(
            f"| {r['client']} | {human(r['bytes'])} | {r['client_ms']} | {r['curl_ms']} | "
            f"{r['ratio']} | {r['peak_rss_mb']} | {value} | {verdict} |"
        )
    return lines


def main() -> int:
    base_runs = int(os.environ.get("BENCH_RUNS") or 21)
    out_dir = Path(os.environ.get("BENCH_SECTIONS_DIR") or ".")
    plot_path = ROOT / "bench" / "size-sweep.svg"
    with tempfile.TemporaryDirectory() as tmp:
        prompts = prompt_sweep(tmp, base_runs)
        replies = reply_sweep(tmp, base_runs)
        harmony = reply_sweep(tmp, base_runs, harmony=True)
        real = real_row(tmp, base_runs)
    plot_path.parent.mkdir(parents=True, exist_ok=True)
    plotted = plot(prompts, replies + harmony, plot_path)
    data = {"prompts": prompts, "replies": replies, "harmony_replies": harmony, "real": real,
            "plot": plot_path.name if plotted else None}  # fmt: skip
    (out_dir / "20-size-sweep.json").write_text(json.dumps(data, indent=2) + "\n")

    lines = [
        "## Size sweep: client cost against prompt and reply size",
        "",
        "Against a fake llama-server that answers at once (scripts/make/instant_server.py),"
        " interleaved with bare curl sending the same body (median wall ms; peak RSS of the"
        " client's largest process). Prompts come on stdin; a prompt passes at <= 1.10 x"
        " curl + 60 ms.",
        "",
        *table(prompts, "target ms"),
        "",
        "Replies (prompt `x`): a row from 1 MB up passes when the client's ms per MB is at"
        " most 1.5 x its 1 MB row's and its peak RSS at most 6 x the reply + 64 MB (linear"
        " time, bounded memory); smaller rows at <= 1.10 x curl + 60 ms.",
        "",
        *table(replies, "ms per MB"),
        "",
        "The Harmony path (`local-infer.sh` without --raw, and `gpt-oss-py chat`), prompt"
        " `x`, the reply an analysis message and then the text as the final one (the same"
        " criteria; curl gets the same reply):",
        "",
        *table(harmony, "ms per MB"),
    ]
    if real:
        lines += [
            "",
            f"Real llama-server ({Path(os.environ['BENCH_MODEL']).name}, `-c 0`: its own"
            f" {real['n_ctx']}-token context, one slot), the largest prompt that fits:"
            f" {real['bytes']} bytes = {real['prompt_tokens']} tokens, answered from the"
            " prompt cache after the first request:",
            "",
            *table([real], "target ms"),
        ]
    if plotted:
        lines += ["", f"![client ms against size, log-log]({plot_path.name})"]
    else:
        lines += ["", "(No plot: matplotlib is not installed; `make bench` installs it.)"]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
