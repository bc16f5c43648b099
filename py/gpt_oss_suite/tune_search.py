"""gpt-oss-tune.sh's decisions: scores, the coordinate-descent step, the confirmation
verdict and the report (the rules as users meet them: docs/reference.md). The measuring is
Bash (scripts/lib/server_measure.sh, the same code as make bench); every measured setting
is one JSON line in a results file, so an interrupted run keeps what it measured and the
report can be printed from it.

A *setting* is a canonical string of gpt-oss-fast.sh environment assignments, sorted
("GPT_OSS_BATCH=512 GPT_OSS_THREADS=2"); "" is the built-in defaults. Its number of
assignments is how far it is from the defaults.

Standard library only; run as `py_main tune_search COMMAND ...` (see main()).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .stats import summarize

OBJECTIVES = {"latency": False, "decode": True, "throughput": True}  # higher is better?
UNITS = {"latency": "ms", "decode": "tok/s", "throughput": "req/s"}
DESCENT_MIN_GAIN = 0.02  # the descent moves only for more than 2 %: less is noise
TOOL_PROMPT = "Summarize this repo"
TOOL_REPLY_TOKENS = 256
LOG_TAIL_LINES = 8  # of a failed start, in the text report (all of it in --json)


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


# Each objective's number in one workload's gpt-oss-bench.sh --json.
_BENCH_NUMBER = {
    "latency": lambda bench: (bench.get("latency_ms") or {}).get("p50"),
    "decode": lambda bench: bench.get("decode_tps_median"),
    "throughput": lambda bench: (bench.get("aggregate") or {}).get("requests_per_s"),
}


def score(benches: Sequence[Mapping[str, Any]], objective: str) -> float | None:
    """The objective's number for one measurement (one bench JSON per workload): latency
    sums the workloads' p50 ms, decode and throughput average their tok/s or requests/s."""
    values = [_number(_BENCH_NUMBER[objective](bench)) for bench in benches]
    if not values or None in values:
        return None
    return sum(values) if objective == "latency" else sum(values) / len(values)


def gain(base: float, new: float, objective: str) -> float:
    """How much better NEW is than BASE, in the objective's unit (negative: worse)."""
    return new - base if OBJECTIVES[objective] else base - new


def label(setting: str) -> str:
    return setting or "defaults"


def read_records(path: str | Path) -> list[dict]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def make_record(fields: Mapping[str, str], bench_files: Iterable[str], objective: str) -> dict:
    """One measured setting: the fields Bash gives (strings; numbers converted), the
    bench JSON of each workload, and its score."""
    record: dict[str, Any] = dict(fields)  # numbers converted, but not in the text fields
    for key, value in fields.items():
        if key not in ("setting", "knob", "reason", "argv", "log_tail", "status", "phase"):
            with contextlib.suppress(ValueError):
                record[key] = int(value) if value.lstrip("-").isdigit() else float(value)
    benches = []
    for name in bench_files:
        try:
            benches.append(json.loads(Path(name).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            benches.append({})
    record["workloads"] = benches
    record["score"] = score(benches, objective) if record.get("status") == "ok" else None
    if record.get("status") == "ok" and record["score"] is None:
        record["status"], record["reason"] = "failed", "the bench gave no numbers"
    return record


def _ok(records: Iterable[dict], phase: str) -> list[dict]:
    return [r for r in records if r.get("phase") == phase and r.get("status") == "ok"]


def descent_best(records: list[dict], objective: str, current: str, knob: str) -> str:
    """After measuring every value of KNOB from CURRENT: the setting to continue from.
    It moves only when the best of the knob's values beats CURRENT by DESCENT_MIN_GAIN."""
    ok = _ok(records, "descent")
    base = [r for r in ok if r["setting"] == current]
    tried = [r for r in ok if r.get("knob") == knob]
    if not base or not tried:
        return current
    base_score = base[-1]["score"]
    best = max(tried, key=lambda r: gain(base_score, r["score"], objective))
    threshold = max(DESCENT_MIN_GAIN * abs(base_score), noise(base[-1], best, objective))
    return best["setting"] if gain(base_score, best["score"], objective) > threshold else current


def noise(a: dict, b: dict, objective: str) -> float:
    """Twice the standard error of a latency difference between two measurements (from
    each workload's run-to-run stdev); 0 for the other objectives (their medians come
    from the server's own timings and are steadier)."""
    if objective != "latency":
        return 0.0
    total = 0.0
    for wa, wb in zip(a.get("workloads") or [], b.get("workloads") or []):
        for w in (wa, wb):
            lat = w.get("latency_ms") or {}
            total += (lat.get("stdev") or 0.0) ** 2 / (lat.get("count") or 1)
    return 2 * math.sqrt(total)


def top_candidates(records: list[dict], objective: str, current: str, count: int) -> list[str]:
    """The settings worth confirming: the descent's end point and the best others."""
    best: dict[str, float] = {}
    for r in _ok(records, "descent"):
        setting, s = r["setting"], r["score"]
        if setting and (setting not in best or gain(best[setting], s, objective) > 0):
            best[setting] = s
    ranked = sorted(best, key=lambda k: -gain(0.0, best[k], objective))
    picked = [current] if current else []
    picked += [s for s in ranked if s not in picked]
    return picked[:count]


def _median(values: Sequence[float]) -> float:
    return summarize(values)["p50"]


def decide(records: list[dict], objective: str) -> dict:
    """The confirmation verdict: the defaults and the top candidates were measured in
    interleaved rounds; a candidate wins only when its median gain over the defaults is
    larger than the spread measured (the larger of the two settings' ranges over the
    rounds). Among the winners the best wins, unless one with fewer changed flags is
    within that spread of it. No winner: "no measurable difference", the defaults stay."""
    rounds: dict[str, list[float]] = {}
    for r in _ok(records, "confirm"):
        rounds.setdefault(r["setting"], []).append(r["score"])
    base = rounds.pop("", None)
    rows = []
    for setting, values in rounds.items() if base else ():
        spread = max(max(base) - min(base), max(values) - min(values))
        g = gain(_median(base), _median(values), objective)
        rows.append(
            {
                "setting": setting,
                "median": _median(values),
                "rounds": values,
                "gain": g,
                "spread": spread,
                "wins": g > spread and g > 0,
            }
        )
    winners = sorted((row for row in rows if row["wins"]), key=lambda row: -row["gain"])
    result: dict[str, Any] = {
        "objective": objective,
        "unit": UNITS[objective],
        "baseline": {"median": _median(base), "rounds": base} if base else None,
        "candidates": rows,
        "winner": "",
    }
    if not base or not rows:
        result["verdict"] = "not confirmed (nothing was measured against the defaults)"
        return result
    if not winners:
        result["verdict"] = "no measurable difference: the defaults stay"
        return result
    top = winners[0]  # the first within its spread, by fewest changed flags (top itself is)
    by_flags = sorted(winners, key=lambda row: len(row["setting"].split()))
    best = next(row for row in by_flags if top["gain"] - row["gain"] <= top["spread"])
    result["winner"] = best["setting"]
    result["verdict"] = (
        f"{label(best['setting'])}: better by {best['gain']:.1f} {UNITS[objective]}"
        f" (spread {best['spread']:.1f})"
    )
    return result


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _row(r: dict) -> dict:
    first = (r.get("workloads") or [{}])[0] or {}
    lat = first.get("latency_ms") or {}
    ttft = first.get("ttft_ms") or {}
    return {
        "setting": label(r.get("setting", "")),
        "status": r.get("status"),
        "score": r.get("score"),
        "p50_ms": lat.get("p50"),
        "p95_ms": lat.get("p95"),
        "ttft_p50_ms": ttft.get("p50"),
        "prompt_tps": first.get("prompt_tps_median"),
        "decode_tps": first.get("decode_tps_median"),
        "spikes": first.get("spikes"),
        "rss_mib": r.get("rss_mib"),
        "start_ms": r.get("start_ms"),
        "n_ctx": r.get("n_ctx"),
        "reason": r.get("reason", ""),
        "log_tail": r.get("log_tail", ""),
    }


def table_rows(records: list[dict], objective: str) -> list[dict]:
    """The descent's measurements, best first; failed and excluded ones last."""
    rows = [r for r in records if r.get("phase") == "descent"]

    def key(r: dict) -> tuple:
        return (r.get("score") is None, -gain(0.0, r.get("score") or 0, objective))

    return [_row(r) for r in sorted(rows, key=key)]


COLUMNS = ("setting", "score", "p50_ms", "p95_ms", "ttft_p50_ms", "prompt_tps",
           "decode_tps", "spikes", "rss_mib", "start_ms", "n_ctx", "status")  # fmt: skip


def format_text(rows: list[dict], decision: dict, bars: bool) -> str:
    head = list(COLUMNS)
    head[1] = f"{decision['objective']} {decision['unit']}"
    cells = [head] + [[_cell(row[c]) for c in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells]
    scores = [row["score"] for row in rows if row["score"] is not None]
    if bars and scores:
        top = max(scores)
        for i, row in enumerate(rows, 1):
            if row["score"] is not None:
                out[i] += "  " + "#" * max(1, round(30 * row["score"] / top))
    for row in rows:
        if row["reason"]:
            out.append(f"{row['setting']}: {row['status']}: {row['reason']}")
        # A setting that could not start: the last lines of its start-up, as they came.
        out += [f"    | {line}" for line in row["log_tail"].splitlines()[-LOG_TAIL_LINES:]]
    if decision.get("candidates"):
        out += ["", f"confirmation (interleaved with the defaults, {decision['unit']}):"]
        base = decision["baseline"]
        out.append(f"  defaults  median {_cell(base['median'])}  rounds {_cell(base['rounds'])}")
        for c in decision["candidates"]:
            rounds = ", ".join(_cell(v) for v in c["rounds"])
            verdict = "wins" if c["wins"] else "no measurable difference"
            out.append(
                f"  {c['setting']}  median {_cell(c['median'])}  gain {_cell(c['gain'])}"
                f"  spread {_cell(c['spread'])}  [{rounds}]  {verdict}"
            )
    out += ["", f"result: {decision['verdict']}"]
    return "\n".join(out) + "\n"


def format_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*COLUMNS, "reason"], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row[k] is None else row[k]) for k in writer.fieldnames})
    return buffer.getvalue()


def tool_need(url: str) -> int:
    """Tokens the suite's own tool-use request needs in one request on this server: the
    Harmony prompt local-infer.sh --tools sends first (the workspace tools), counted by
    the server's /tokenize, plus the default 256-token reply."""
    from .context import ServerClient
    from .harmony import render_prompt
    from .workspace_tools import TOOL_SPECS

    prompt = render_prompt([{"role": "user", "content": TOOL_PROMPT}], TOOL_SPECS)
    tokens, _exact = ServerClient(url).count_tokens(prompt)
    return tokens + TOOL_REPLY_TOKENS


def model_layers(path: str) -> tuple[int, int] | None:
    """(layers, experts) of a GGUF model from its header (experts 0: not a mixture of
    experts), or None when the header cannot be read: what --n-cpu-moe may range over."""
    from .gguf_header import read_metadata

    try:
        meta = read_metadata(path)
    except (OSError, ValueError):
        return None
    arch = meta.get("general.architecture")
    layers = meta.get(f"{arch}.block_count")
    if not isinstance(layers, int) or layers < 1:
        return None
    experts = meta.get(f"{arch}.expert_count")
    return layers, experts if isinstance(experts, int) else 0


def main(argv: list[str] | None = None) -> int:
    """record RESULTS OBJECTIVE KEY=VALUE... -- BENCH_FILE...
    descent-best RESULTS OBJECTIVE CURRENT KNOB   → the setting to continue from
    top RESULTS OBJECTIVE CURRENT K               → settings to confirm, one per line
    decide RESULTS OBJECTIVE                      → the verdict as JSON
    report RESULTS DECISION_FILE text|json|csv [bars] [EXTRA_JSON] → the report
    tool-need URL                                 → tokens
    model-layers GGUF                             → "LAYERS EXPERTS", or nothing"""
    args = sys.argv[1:] if argv is None else argv
    command, rest = (args[0], args[1:]) if args else ("", [])
    if command == "record" and len(rest) >= 2:
        split = rest.index("--") if "--" in rest else len(rest)
        fields = dict(a.split("=", 1) for a in rest[2:split])
        record = make_record(fields, rest[split + 1 :], rest[1])
        with open(rest[0], "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        print(record["status"])
        return 0
    if command == "descent-best" and len(rest) == 4:
        print(descent_best(read_records(rest[0]), rest[1], rest[2], rest[3]))
        return 0
    if command == "top" and len(rest) == 4:
        for setting in top_candidates(read_records(rest[0]), rest[1], rest[2], int(rest[3])):
            print(setting)
        return 0
    if command == "decide" and len(rest) == 2:
        print(json.dumps(decide(read_records(rest[0]), rest[1])))
        return 0
    if command == "report" and len(rest) >= 3:
        records = read_records(rest[0])
        decision = json.loads(Path(rest[1]).read_text(encoding="utf-8"))
        rows = table_rows(records, decision["objective"])
        if rest[2] == "json":
            extra = json.loads(rest[4]) if len(rest) > 4 else {}
            print(json.dumps({**extra, "measurements": records, "decision": decision}))
        elif rest[2] == "csv":
            sys.stdout.write(format_csv(rows))
        else:
            sys.stdout.write(format_text(rows, decision, len(rest) > 3 and rest[3] == "bars"))
        return 0
    if command == "model-layers" and len(rest) == 1:
        found = model_layers(rest[0])
        if found:
            print(*found)
        return 0
    if command == "tool-need" and len(rest) == 1:
        from .errors import SuiteError

        try:
            print(tool_need(rest[0]))
        except SuiteError as err:
            print(f"tool-need: {err.format_message()}", file=sys.stderr)
            return err.exit_code
        return 0
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
