#!/usr/bin/env python3
"""A stand-in for llama.cpp's llama-server, for the bats tests (standard library only).

Run as `tests/helpers/bin/llama-server ARGS...` it parses argv like the real server in the
flag dialect chosen by STUB_HELP (new | old | bare), answers --help/--version, and rejects
the other dialect's flags at once. Run as `stub_llama_server.py --port P [--host H]` it is
a plain server. Either way it records what it saw under STUB_DIR so tests can assert on
it. The contract (environment knobs, files, shapes) is in docs/development.md.

Response shapes follow llama.cpp's tools/server (server-task.cpp, server-common.cpp,
server-http.cpp); JSON keys keep the real server's order (it uses an ordered JSON type).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Harmony specials with their real gpt-oss token ids: each counts as one token.
SPECIAL_IDS = {
    "<|startoftext|>": 199998,
    "<|endoftext|>": 199999,
    "<|return|>": 200002,
    "<|constrain|>": 200003,
    "<|channel|>": 200005,
    "<|start|>": 200006,
    "<|end|>": 200007,
    "<|message|>": 200008,
    "<|call|>": 200012,
}
_SPECIAL_ALT = "|".join(re.escape(s) for s in SPECIAL_IDS)
# One token = optional leading whitespace + one special or one run of non-space characters
# that stops before a special ("hi<|end|>" is two tokens).
TOKEN_RE = re.compile(rf"\s*(?:{_SPECIAL_ALT}|(?:(?!{_SPECIAL_ALT})\S)+)")

FLASH_ATTN_VALUES = ("on", "enabled", "true", "1", "off", "disabled", "false", "0", "auto", "-1")
LOAD_MODES = ("auto", "none", "mmap", "mlock", "mmap+mlock", "dio")
BUILD = {"new": (11434, "1c5d8a2"), "old": (6188, "21c17b5"), "bare": (5460, "9a390c4")}


# --------------------------------------------------------------------------- tokens


def token_pieces(text: str) -> list[str]:
    """Split text into token pieces whose concatenation is text (trailing blanks included)."""
    pieces = TOKEN_RE.findall(text)
    rest = text[sum(len(p) for p in pieces) :]
    if rest and pieces:
        pieces[-1] += rest
    return pieces


class Vocab:
    """Stable made-up ids for words, so /tokenize and /detokenize round-trip."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._words: dict[int, str] = {}
        self._lock = threading.Lock()

    def token_id(self, piece: str) -> int:
        word = piece.strip()
        if word in SPECIAL_IDS:
            return SPECIAL_IDS[word]
        with self._lock:
            if word not in self._ids:
                new_id = 1000 + len(self._ids)
                self._ids[word] = new_id
                self._words[new_id] = word
            return self._ids[word]

    def piece(self, token_id: int) -> str:
        for special, sid in SPECIAL_IDS.items():
            if sid == token_id:
                return special
        with self._lock:
            return self._words.get(token_id, "")

    def detokenize(self, ids: list[int]) -> str:
        out = ""
        previous_word = False
        for token_id in ids:
            piece = self.piece(token_id)
            is_word = piece not in SPECIAL_IDS
            out += (" " if is_word and previous_word else "") + piece
            previous_word = is_word
        return out


# --------------------------------------------------------------------------- argv


class Opt:
    """One llama-server option: its spellings, value hint (None = a switch) and help."""

    def __init__(self, names: tuple[str, ...], hint: str | None, help_text: str, key: str = ""):
        self.names, self.hint, self.help, self.key = names, hint, help_text, key

    def usage(self) -> str:
        """The option's --help entry, laid out like common_arg::to_string()."""
        first, rest = self.names[0], list(self.names[1:])
        head = first if not rest else (first + ", ").ljust(7) + ", ".join(rest)
        if self.hint:
            head += " " + self.hint
        pad = "\n" + " " * 40 if len(head) > 37 else " " * (40 - len(head))
        lines: list[str] = []
        for paragraph in self.help.split("\n"):
            lines += textwrap.wrap(paragraph, 70) or [""]
        return head + pad + ("\n" + " " * 40).join(lines) + "\n"


def _common_opts() -> list[Opt]:
    kv_help = (
        "KV cache data type for {}\nallowed values: f32, f16, bf16, q8_0, q4_0, q4_1, "
        "iq4_nl, q5_0, q5_1\n(default: f16)"
    )
    return [
        Opt(("-h", "--help", "--usage"), None, "print usage and exit", "help"),
        Opt(("--version",), None, "show version and build info", "version"),
        Opt(("--list-devices",), None, "print list of available devices and exit", "devices"),
        Opt(("-t", "--threads"), "N", "number of CPU threads to use during generation"),
        Opt(("-tb", "--threads-batch"), "N", "number of threads to use during batch processing"),
        Opt(
            ("-c", "--ctx-size"),
            "N",
            "size of the prompt context (default: 0, 0 = loaded from model)",
            "ctx",
        ),
        Opt(("-n", "--predict", "--n-predict"), "N", "number of tokens to predict (default: -1)"),
        Opt(("-b", "--batch-size"), "N", "logical maximum batch size (default: 2048)", "int"),
        Opt(("-ub", "--ubatch-size"), "N", "physical maximum batch size (default: 512)", "int"),
        Opt(("--keep",), "N", "number of tokens to keep from the initial prompt (default: 0)"),
        Opt(("--swa-full",), None, "use full-size SWA cache (default: false)"),
        Opt(("-ctk", "--cache-type-k"), "TYPE", kv_help.format("K")),
        Opt(("-ctv", "--cache-type-v"), "TYPE", kv_help.format("V")),
        Opt(("-np", "--parallel"), "N", "number of server slots (default: -1, -1 = auto)", "np"),
        Opt(("-cb", "--cont-batching"), None, "enable continuous batching (default: enabled)"),
        Opt(("-nocb", "--no-cont-batching"), None, "disable continuous batching"),
        Opt(("-kvu", "--kv-unified"), None, "use single unified KV buffer (default: false)", "kvu"),
        Opt(("-ngl", "--gpu-layers", "--n-gpu-layers"), "N", "max. number of layers in VRAM"),
        Opt(("-dev", "--device"), "<dev1,dev2,..>", "comma-separated list of devices"),
        Opt(("-ot", "--override-tensor"), "<pattern>=<type>,...", "override tensor buffer type"),
        Opt(("-cmoe", "--cpu-moe"), None, "keep all MoE weights in the CPU"),
        Opt(
            ("-ncmoe", "--n-cpu-moe"), "N", "keep the MoE weights of the first N layers in the CPU"
        ),
        Opt(("--numa",), "TYPE", "attempt optimizations that help on some NUMA systems"),
        Opt(("-m", "--model"), "FNAME", "model path to load", "model"),
        Opt(("-a", "--alias"), "STRING", "set model name aliases (to be used by API)", "alias"),
        Opt(("-hf", "-hfr", "--hf-repo"), "<user>/<model>[:quant]", "Hugging Face model repo"),
        Opt(("-s", "--seed"), "SEED", "RNG seed (default: -1, use random seed for -1)"),
        Opt(("--temp", "--temperature"), "N", "temperature (default: 0.8)"),
        Opt(("--top-k",), "N", "top-k sampling (default: 40, 0 = disabled)"),
        Opt(("--top-p",), "N", "top-p sampling (default: 0.9, 1.0 = disabled)"),
        Opt(("--min-p",), "N", "min-p sampling (default: 0.1, 0.0 = disabled)"),
        Opt(("--repeat-penalty",), "N", "penalize repeat sequence of tokens (default: 1.0)"),
        Opt(("-sp", "--special"), None, "special tokens output enabled (default: false)"),
        Opt(("--no-warmup",), None, "skip warming up the model with an empty run"),
        Opt(("-v", "--verbose", "--log-verbose"), None, "set verbosity level to infinity"),
        Opt(("--log-disable",), None, "Log disable"),
        Opt(("--log-file",), "FNAME", "Log to file"),
        Opt(("-lv", "--verbosity", "--log-verbosity"), "N", "set the verbosity threshold"),
        Opt(
            ("--host",),
            "HOST",
            "ip address to listen, or bind to an UNIX socket if the address ends with .sock "
            "(default: 127.0.0.1)",
            "host",
        ),
        Opt(("--port",), "PORT", "port to listen (default: 8080)", "port"),
        Opt(("--path",), "PATH", "path to serve static files from (default: )"),
        Opt(("--no-webui",), None, "Disable the Web UI (default: enabled)"),
        Opt(("--api-key",), "KEY", "API key to use for authentication (default: none)", "key"),
        Opt(("--api-key-file",), "FNAME", "path to file containing API keys", "keyfile"),
        Opt(("-to", "--timeout"), "N", "server read/write timeout in seconds (default: 600)"),
        Opt(("--threads-http",), "N", "number of threads used to process HTTP requests"),
        Opt(("--cache-reuse",), "N", "min chunk size to attempt reusing from the cache"),
        Opt(("--metrics",), None, "enable prometheus compatible metrics endpoint"),
        Opt(("--props",), None, "enable changing global properties via POST /props"),
        Opt(("--slots",), None, "enable slots monitoring endpoint"),
        Opt(("--no-slots",), None, "disables slots monitoring endpoint"),
        Opt(("--chat-template",), "JINJA_TEMPLATE", "set custom jinja chat template"),
        Opt(("--chat-template-file",), "JINJA_TEMPLATE_FILE", "set custom jinja chat template"),
        Opt(("--reasoning-format",), "FORMAT", "controls whether thought tags are extracted"),
        Opt(("--reasoning-budget",), "N", "controls the amount of thinking allowed"),
    ]


def dialect_opts(dialect: str, rpc: bool) -> list[Opt]:
    """The options a llama-server of this dialect knows; the order is the --help order."""
    opts = _common_opts()
    if dialect == "new":
        # 2026: -fa takes a value, --no-mmap/--mlock became -lm, jinja is on by default,
        # and --rpc is listed in every build (refused at parse time without RPC).
        opts += [
            Opt(
                ("-fa", "--flash-attn"),
                "[on|off|auto]",
                "set Flash Attention use ('on', 'off', or 'auto', default: 'auto')",
                "fa",
            ),
            Opt(
                ("-lm", "--load-mode"),
                "MODE",
                "model loading mode (default: auto)\n- auto: mmap, unless a device does not "
                "support it\n- none: no special loading mode\n- mmap: memory-map model\n"
                "- mlock: force system to keep model in RAM rather than swapping or compressing"
                "\n- mmap+mlock: mmap + mlock\n- dio: use DirectIO if available",
                "lm",
            ),
            Opt(("--jinja",), None, "use jinja template for chat (default: enabled)", "jinja"),
            Opt(("--no-jinja",), None, "disable jinja template for chat", "nojinja"),
            Opt(("--rpc",), "SERVERS", "comma-separated list of RPC servers (host:port)", "rpc"),
            Opt(
                ("--kv-unified-per-slot",),
                "N",
                "context limit per parallel slot (default: unset, behavior unchanged).",
                "per_slot",
            ),
        ]
    elif dialect == "old":
        # Aug 2025: bare -fa switch, --no-mmap/--mlock, --jinja opt-in, --rpc only with RPC.
        opts += [
            Opt(("-fa", "--flash-attn"), None, "enable Flash Attention (default: disabled)"),
            Opt(
                ("--mlock",),
                None,
                "force system to keep model in RAM rather than swapping or compressing",
            ),
            Opt(
                ("--no-mmap",),
                None,
                "do not memory-map model (slower load but may reduce pageouts if not using mlock)",
            ),
            Opt(("--jinja",), None, "use jinja template for chat (default: disabled)", "jinja"),
        ]
        if rpc:
            opts.append(Opt(("--rpc",), "SERVERS", "comma separated list of RPC servers", "rpc"))
    elif rpc:
        opts.append(Opt(("--rpc",), "SERVERS", "comma separated list of RPC servers", "rpc"))
    return opts


class ArgError(Exception):
    """A command line the real server refuses; the message is what it prints."""


def _handling_error(arg: str, opt: Opt, why: str) -> ArgError:
    return ArgError(
        f'error while handling argument "{arg}": {why}\n\nusage:\n{opt.usage()}\n'
        "to show complete usage, run with -h"
    )


def parse_argv(argv: list[str], dialect: str, rpc: bool, reject_unknown: bool) -> dict:
    """Parse argv in order like common_params_parse; raise ArgError on what it refuses."""
    by_name = {name: opt for opt in dialect_opts(dialect, rpc) for name in opt.names}
    got: dict = {"jinja": dialect == "new"}
    i = 0
    while i < len(argv):
        arg = argv[i]
        name = arg.replace("_", "-") if arg.startswith("--") else arg
        opt = by_name.get(name)
        if opt is None:
            if reject_unknown:
                raise ArgError(f"error: invalid argument: {arg}")
            i += 1
            continue
        if opt.hint is None:
            if opt.key in ("version", "devices"):
                got[opt.key] = True
                return got  # the real server prints the version (devices) and exits right there
            if opt.key in ("help", "jinja", "kvu"):
                got[opt.key] = True
            elif opt.key == "nojinja":
                got["jinja"] = False
            i += 1
            continue
        if i + 1 >= len(argv):
            raise _handling_error(arg, opt, "expected value for argument")
        value = argv[i + 1]
        i += 2
        if opt.key in ("ctx", "np", "port", "int", "per_slot"):
            if not re.fullmatch(r"[+-]?\d+", value):
                raise _handling_error(arg, opt, "stoi")
            got[opt.key] = int(value)
        elif opt.key == "fa" and value not in FLASH_ATTN_VALUES:
            raise _handling_error(arg, opt, f"error: unknown value for --flash-attn: '{value}'\n")
        elif opt.key == "lm" and value not in LOAD_MODES:
            raise _handling_error(arg, opt, "invalid value")
        elif opt.key == "rpc" and not rpc:
            raise _handling_error(arg, opt, "RPC not supported in this build")
        elif opt.key:
            got[opt.key] = value
    return got


def help_text(dialect: str, rpc: bool) -> str:
    """`llama-server --help` of the chosen dialect."""
    usage = "".join(opt.usage() for opt in dialect_opts(dialect, rpc))
    example = "example usage:\n\n    llama-server -m model.gguf\n"
    return f"----- common params -----\n\n{usage}\n\n{example}"


# --------------------------------------------------------------------------- settings


def _env_int(name: str, default: int | None = None) -> int | None:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def _pad256(n: int) -> int:
    return (n + 255) // 256 * 256


class Settings:
    """Everything the stub serves, fixed at start-up from argv and the environment."""

    def __init__(self, parsed: dict) -> None:
        env = os.environ
        self.host = parsed.get("host") or env.get("LLAMA_ARG_HOST") or "127.0.0.1"
        self.port = parsed.get("port") or _env_int("LLAMA_ARG_PORT", 8080)
        ctx = parsed.get("ctx", _env_int("LLAMA_ARG_CTX_SIZE"))
        n_parallel = parsed.get("np", _env_int("LLAMA_ARG_N_PARALLEL"))
        self.total_slots = _env_int("STUB_SLOTS") or (
            n_parallel if n_parallel and n_parallel > 0 else 4
        )
        if _env_int("STUB_N_CTX"):
            self.n_ctx = int(env["STUB_N_CTX"])
        elif ctx:
            # Like llama_context: the total is padded to 256, then split over the slots
            # and padded again (-c 384 -np 4 → 256 per slot). Without -np the server picks
            # 4 slots sharing one unified cache, so each slot may use the whole context.
            # With -kvu a 2026 server gives every slot the whole pool (capped by
            # --kv-unified-per-slot); an Aug-2025 one still divides it (STUB_HELP=old).
            total = _pad256(ctx)
            shared = parsed.get("kvu") and os.environ.get("STUB_HELP", "new") != "old"
            if shared or not (n_parallel and n_parallel > 0):
                self.n_ctx = total
            else:
                self.n_ctx = _pad256(total // n_parallel)
            if shared and parsed.get("per_slot"):
                self.n_ctx = min(self.n_ctx, parsed["per_slot"])
        else:
            self.n_ctx = 256
        self.model_path = (
            env.get("STUB_MODEL_PATH")
            or parsed.get("model")
            or env.get("LLAMA_ARG_MODEL")
            or "models/gpt-oss-20b-mxfp4.gguf"
        )
        self.model_name = parsed.get("alias") or os.path.basename(self.model_path)
        self.jinja = parsed.get("jinja", True)
        self.api_keys = self._api_keys(parsed)
        self.loading_secs = float(env.get("STUB_LOADING_SECS") or 0)
        self.delay = float(env.get("STUB_DELAY_MS") or 0) / 1000
        self.jitter = 0.0  # STUB_DELAY_JITTER_MS, set in main()
        # STUB_DELAY_JITTER_SEED: every server draws the same noise sequence, so two
        # servers asked alike differ only by the machine's own noise.
        seed = env.get("STUB_DELAY_JITTER_SEED")
        self.noise = random.Random(int(seed)) if seed else random.Random()
        self.die_on_request = env.get("STUB_DIE_ON_REQUEST") == "1"
        self.pool_full = env.get("STUB_POOL_FULL") == "1"
        self.truncate = env.get("STUB_TRUNCATE") == "1"
        self.replies = [env.get("STUB_REPLY", "2")]
        if env.get("STUB_REPLIES_FILE"):
            with open(env["STUB_REPLIES_FILE"], encoding="utf-8") as f:
                self.replies = [str(item) for item in json.load(f)] or self.replies

    @staticmethod
    def _api_keys(parsed: dict) -> list[str]:
        keys = []
        for raw in (parsed.get("key"), os.environ.get("STUB_API_KEY")):
            keys += [k for k in (raw or "").split(",") if k]
        if parsed.get("keyfile"):
            with open(parsed["keyfile"], encoding="utf-8") as f:
                keys += [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
        if not keys and os.environ.get("LLAMA_API_KEY"):
            keys.append(os.environ["LLAMA_API_KEY"])  # the env form of --api-key
        return keys


# --------------------------------------------------------------------------- recording


class Recorder:
    """Writes what the stub saw under STUB_DIR: argv, pid, env, requests.jsonl, body-N."""

    def __init__(self, directory: str) -> None:
        self.dir = directory
        self.count = 0
        self._lock = threading.Lock()
        os.makedirs(directory, exist_ok=True)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def write(self, name: str, text: str) -> None:
        with open(self.path(name), "w", encoding="utf-8") as f:
            f.write(text)

    def argv(self, argv: list[str]) -> None:
        self.write("argv", "".join(arg + "\n" for arg in argv))

    def serving(self) -> None:
        """Once the port is ours: a stub that could not bind must not claim the pid file."""
        self.write("pid", f"{os.getpid()}\n")
        present = "present" if "LLAMA_API_KEY" in os.environ else "absent"
        self.write("env", f"LLAMA_API_KEY={present}\n")

    def request(self, method: str, path: str, headers: dict, body: bytes) -> int:
        """Record one request; returns its number (from 1)."""
        with self._lock:
            self.count += 1
            with open(self.path(f"body-{self.count}"), "wb") as f:
                f.write(body)
            entry = {
                "method": method,
                "path": path,
                "headers": headers,
                "body": body.decode("utf-8", "replace"),
            }
            with open(self.path("requests.jsonl"), "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
            return self.count


# --------------------------------------------------------------------------- replies


def _only_fields(reply: dict, request: dict) -> dict:
    """/completion's `response_fields`: the reply (each streamed event too) keeps only the
    listed keys, as the real server does (a key it leaves out is simply absent)."""
    fields = request.get("response_fields")
    if not isinstance(fields, list) or not fields:
        return reply
    return {key: reply[key] for key in fields if isinstance(key, str) and key in reply}


def _slot_of(request: dict) -> int:
    """The slot that served a request: the one it asked for (`id_slot`), else STUB_ID_SLOT
    (default 0), the way the real server reports the slot it picked."""
    wanted = request.get("id_slot")
    if isinstance(wanted, int) and wanted >= 0:
        return wanted
    return _env_int("STUB_ID_SLOT", 0) or 0


def error_body(code: int, message: str, kind: str, **extra) -> dict:
    """format_error_response(): code, message, type, then extras, under "error"."""
    return {"error": {"code": code, "message": message, "type": kind, **extra}}


def timings(prompt_n: int, cache_n: int, predicted_n: int) -> dict:
    """server_slot_stats::to_json() with a steady 2000 tok/s prompt and 100 tok/s decode."""
    prompt_ms, predicted_ms = prompt_n * 0.5, predicted_n * 10.0
    return {
        "cache_n": cache_n,
        "prompt_n": prompt_n,
        "prompt_ms": prompt_ms,
        "prompt_per_token_ms": 0.5 if prompt_n else 0.0,
        "prompt_per_second": 2000.0 if prompt_n else 0.0,
        "predicted_n": predicted_n,
        "predicted_ms": predicted_ms,
        "predicted_per_token_ms": 10.0 if predicted_n else 0.0,
        "predicted_per_second": 100.0 if predicted_n else 0.0,
    }


def render_chat(body: dict, jinja: bool) -> str:
    """A small Harmony rendering of chat messages (the real one comes from the template).

    Without jinja the Aug-2025 server renders only the turns; with it a system block comes
    first and system messages become the developer "# Instructions".
    """
    out = ""
    messages = body.get("messages") or []
    if jinja:
        kwargs = body.get("chat_template_kwargs") or {}
        effort = body.get("reasoning_effort") or kwargs.get("reasoning_effort") or "medium"
        out += (
            "<|start|>system<|message|>You are ChatGPT, a large language model trained by "
            f"OpenAI.\nKnowledge cutoff: 2024-06\nCurrent date: {time.strftime('%Y-%m-%d')}"
            f"\n\nReasoning: {effort}\n\n# Valid channels: analysis, commentary, final. "
            "Channel must be included for every message.<|end|>"
        )
        instructions = [m.get("content") or "" for m in messages if m.get("role") == "system"]
        tools = [t.get("function", {}).get("name", "") for t in body.get("tools") or []]
        developer = ""
        if instructions:
            developer += "# Instructions\n\n" + "\n".join(instructions)
        if tools:
            developer += ("\n\n" if developer else "") + "# Tools\n\n## functions\n\n"
            developer += "namespace functions {\n\n"
            developer += "".join(f"type {name} = (_: any) => any;\n\n" for name in tools)
            developer += "} // namespace functions"
        if developer:
            out += f"<|start|>developer<|message|>{developer}<|end|>"
    for message in messages:
        role = message.get("role", "user")
        if jinja and role == "system":
            continue
        content = message.get("content") or ""
        if isinstance(content, list):  # OpenAI content parts
            content = "".join(part.get("text", "") for part in content)
        out += f"<|start|>{role}<|message|>{content}<|end|>"
    return out + "<|start|>assistant"


def parse_harmony_reply(text: str) -> tuple[str, str, list[dict]]:
    """(content, reasoning_content, tool_calls) of a Harmony reply, like the chat parser."""
    if "<|channel|>" not in text:
        return text, "", []
    content, reasoning, calls = "", "", []
    for segment in re.split(r"<\|start\|>", text):
        match = re.search(r"(.*?)<\|channel\|>(\S+)(.*?)<\|message\|>(.*)", segment, re.S)
        if not match:
            continue
        head, channel, after, message = match.groups()
        message = re.split(r"<\|(?:end|return|call)\|>", message)[0]
        recipient = re.search(r"to=functions\.([\w.-]+)", head + after)
        if recipient:
            call_id = f"call_stub{len(calls)}"
            function = {"name": recipient.group(1), "arguments": message}
            calls.append({"type": "function", "function": function, "id": call_id})
        elif channel == "analysis":
            reasoning += message
        else:
            content += message
    return content, reasoning, calls


class Completion:
    """One completion request worked out: prompt tokens, cache use, reply pieces."""

    def __init__(self, n_prompt: int, cache_n: int, pieces: list[str], text: str, limit: bool):
        self.n_prompt, self.cache_n, self.pieces, self.text = n_prompt, cache_n, pieces, text
        self.stop_type = "limit" if limit else "eos"
        self.truncated = False


# --------------------------------------------------------------------------- HTTP


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, settings: Settings, recorder: Recorder) -> None:
        self.settings, self.recorder = settings, recorder
        self.vocab = Vocab()
        self.started = time.monotonic()
        self.completions = 0
        self.cached_prompt: list[str] = []  # the one slot's cache, for cache_n
        self.lock = threading.Lock()
        super().__init__((settings.host, settings.port), Handler)


class Handler(BaseHTTPRequestHandler):
    server: StubServer
    protocol_version = "HTTP/1.1"
    server_version = "llama.cpp"
    sys_version = ""

    def log_message(self, format: str, *args) -> None:
        sys.stderr.write(f"srv  log_server_r: request: {format % args}\n")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    # ---- plumbing

    def _send_json(self, status: int, payload) -> None:
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")  # the stream ends when the connection does
        self.end_headers()
        self.close_connection = True

    def _send_event(self, payload) -> None:
        data = (
            payload
            if isinstance(payload, str)
            else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        )
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()

    def _authorized(self) -> bool:
        keys = self.server.settings.api_keys
        if not keys or self.path.split("?")[0] in ("/health", "/v1/health"):
            return True
        given = self.headers.get("Authorization") or self.headers.get("X-Api-Key") or ""
        if given.startswith("Bearer "):
            given = given[len("Bearer ") :]
        return given in keys

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        self.server.recorder.request(method, self.path, dict(self.headers.items()), body)
        settings = self.server.settings
        if not self._authorized():
            sys.stderr.write("srv  operator(): unauthorized: Invalid API Key\n")
            self._send_json(
                401,
                {
                    "error": {
                        "message": "Invalid API Key",
                        "type": "authentication_error",
                        "code": 401,
                    }
                },
            )
            return
        if time.monotonic() - self.server.started < settings.loading_secs:
            # The start-up middleware builds this one by hand: message, type, code.
            self._send_json(
                503,
                {"error": {"message": "Loading model", "type": "unavailable_error", "code": 503}},
            )
            return
        routes = {
            ("GET", "/health"): self.health,
            ("GET", "/v1/health"): self.health,
            ("GET", "/props"): self.props,
            ("GET", "/slots"): self.slots,
            ("GET", "/models"): self.models,
            ("GET", "/v1/models"): self.models,
            ("POST", "/completion"): self.completion,
            ("POST", "/completions"): self.completion,
            ("POST", "/v1/completions"): self.completion,
            ("POST", "/v1/chat/completions"): self.completion,
            ("POST", "/chat/completions"): self.completion,
            ("POST", "/tokenize"): self.tokenize,
            ("POST", "/detokenize"): self.detokenize,
            ("POST", "/apply-template"): self.apply_template,
        }
        handler = routes.get((method, path))
        if handler is None:
            self._send_json(404, error_body(404, "File Not Found", "not_found_error"))
            return
        request = {}
        if method == "POST":
            try:
                request = json.loads(body or b"{}")
            except ValueError as exc:
                self._send_json(
                    500, error_body(500, f"[json.exception.parse_error] {exc}", "server_error")
                )
                return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            handler(request)  # a client may go away mid-stream, as clients do

    # ---- endpoints

    def health(self, _request: dict) -> None:
        self._send_json(200, {"status": "ok"})

    def props(self, _request: dict) -> None:
        s = self.server.settings
        self._send_json(
            200,
            {
                "default_generation_settings": {
                    "params": {
                        "n_predict": -1,
                        "temperature": 0.8,
                        "top_k": 40,
                        "top_p": 0.95,
                        "stream": False,
                        "cache_prompt": True,
                    },
                    "n_ctx": s.n_ctx,
                },
                "total_slots": s.total_slots,
                "model_alias": s.model_name,
                "model_path": s.model_path,
                "modalities": {"vision": False, "video": False, "audio": False},
                "endpoint_slots": True,
                "endpoint_props": False,
                "endpoint_metrics": False,
                "chat_template": "{# gpt-oss chat template (stub) #}",
                "bos_token": "<|startoftext|>",
                "eos_token": "<|return|>",
                "build_info": "b{} -{}".format(*BUILD[os.environ.get("STUB_HELP") or "new"]),
                "is_sleeping": False,
            },
        )

    def slots(self, _request: dict) -> None:
        s = self.server.settings
        self._send_json(
            200,
            [
                {"id": i, "n_ctx": s.n_ctx, "speculative": False, "is_processing": False}
                for i in range(s.total_slots)
            ],
        )

    def models(self, _request: dict) -> None:
        s = self.server.settings
        self._send_json(
            200,
            {
                "models": [
                    {
                        "name": s.model_name,
                        "model": s.model_name,
                        "type": "model",
                        "capabilities": ["completion"],
                    }
                ],
                "object": "list",
                "data": [
                    {
                        "id": s.model_name,
                        "object": "model",
                        "created": int(time.time()),
                        "owned_by": "llamacpp",
                        "meta": {"n_ctx": s.n_ctx, "n_ctx_train": 131072, "n_vocab": 201088},
                    }
                ],
            },
        )

    def tokenize(self, request: dict) -> None:
        pieces = token_pieces(str(request.get("content", "")))
        ids = [self.server.vocab.token_id(p) for p in pieces]
        if request.get("with_pieces"):
            tokens = [{"id": i, "piece": p} for i, p in zip(ids, pieces)]
            self._send_json(200, {"tokens": tokens})
        else:
            self._send_json(200, {"tokens": ids})

    def detokenize(self, request: dict) -> None:
        ids = [int(t) for t in request.get("tokens") or []]
        self._send_json(200, {"content": self.server.vocab.detokenize(ids)})

    def apply_template(self, request: dict) -> None:
        # With jinja: llama.cpp's gpt-oss template, through the suite's port (harmony.py,
        # byte-identical on the golden files), dated today like the server. Without: the
        # Aug-2025 server's bare turns, and its HTTP 500 for tools. STUB_APPLY_TEMPLATE=0:
        # a server without the endpoint.
        if os.environ.get("STUB_APPLY_TEMPLATE") == "0":
            self._send_json(404, error_body(404, "File Not Found", "not_found_error"))
        elif not self.server.settings.jinja:
            if request.get("tools"):
                message = "tools param requires --jinja flag"
                self._send_json(500, error_body(500, message, "server_error"))
            else:
                self._send_json(200, {"prompt": render_chat(request, False)})
        else:
            sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "py"))
            from gpt_oss_suite.harmony import render_conversation

            try:
                prompt = render_conversation({**request, "date": None})
            except Exception as err:  # noqa: BLE001 - the server's answer to what it cannot render
                message = f"Failed to parse messages: {err}"
                self._send_json(500, error_body(500, message, "server_error"))
                return
            self._send_json(200, {"prompt": prompt})

    def completion(self, request: dict) -> None:
        s = self.server.settings
        path = self.path.split("?")[0]
        kind = "chat" if "chat" in path else "native" if path == "/completion" else "oai"
        if s.die_on_request:
            sys.stderr.write("stub: STUB_DIE_ON_REQUEST, exiting abruptly\n")
            os._exit(1)  # no reply, no cleanup: the client sees the connection drop
        if s.pool_full:  # a 2026 server with -kvu whose shared pool ran out
            self._send_json(500, error_body(500, "Context size has been exceeded.", "server_error"))
            return
        prompt = request.get("prompt", "")
        if kind == "chat":
            prompt = render_chat(request, s.jinja)
        if isinstance(prompt, list):  # token ids, or several prompts (we answer the first)
            prompt = prompt[0] if prompt and isinstance(prompt[0], str) else prompt
        pieces = token_pieces(prompt) if isinstance(prompt, str) else [str(t) for t in prompt]
        truncated = False
        if len(pieces) >= s.n_ctx:  # the real check: one position must stay free to generate
            if not s.truncate:
                message = (
                    f"request ({len(pieces)} tokens) exceeds the available context size "
                    f"({s.n_ctx} tokens), try increasing it"
                )
                self._send_json(
                    400,
                    error_body(
                        400,
                        message,
                        "exceed_context_size_error",
                        n_prompt_tokens=len(pieces),
                        n_ctx=s.n_ctx,
                    ),
                )
                return
            # Aug-2025: keep the first half of what fits, drop the middle, no error at all.
            keep = s.n_ctx // 2
            pieces = pieces[:keep] + pieces[len(pieces) - (s.n_ctx - keep - 1) :]
            truncated = True
        with self.server.lock:
            reply = s.replies[min(self.server.completions, len(s.replies) - 1)]
            self.server.completions += 1
            cache_n = 0
            if request.get("cache_prompt", True):
                for old, new in zip(self.server.cached_prompt, pieces):
                    if old != new:
                        break
                    cache_n += 1
                cache_n = min(cache_n, len(pieces) - 1) if pieces else 0  # last one re-runs
            self.server.cached_prompt = pieces
        reply_pieces = token_pieces(reply)
        n_predict = request.get("n_predict")
        for name in ("max_tokens", "max_completion_tokens"):
            if kind != "native" and request.get(name) is not None:
                n_predict = request[name]
        limit = isinstance(n_predict, int) and 0 <= n_predict < len(reply_pieces)
        if limit:
            reply_pieces = reply_pieces[:n_predict]
        text = "".join(reply_pieces) if reply_pieces or limit else reply
        done = Completion(len(pieces), cache_n, reply_pieces, text, limit)
        done.truncated = truncated
        delay = s.delay + (s.noise.uniform(0, s.jitter) if s.jitter else 0.0)
        if delay > 0:
            time.sleep(delay)
        if request.get("stream"):
            self._stream(kind, request, done)
        else:
            final = self._final(kind, request, done, streamed=False)
            if kind == "native":
                final = _only_fields(final, request)
            self._send_json(200, final)

    # ---- completion shapes

    def _final(self, kind: str, request: dict, done: Completion, streamed: bool) -> dict:
        s = self.server.settings
        n_pred = len(done.pieces)
        stats = timings(done.n_prompt - done.cache_n, done.cache_n, n_pred)
        if os.environ.get("STUB_DELAY_BY_ARGS") and n_pred:
            # A flag-dependent speed shows in the decode timings too (the tuner's decode
            # objective): the whole delay counts as generation time.
            ms = stats["predicted_ms"] + max(s.delay, 0.0) * 1000
            stats.update(predicted_ms=ms, predicted_per_second=n_pred * 1000 / ms)
            stats["predicted_per_token_ms"] = ms / n_pred
        if kind == "native":
            return {
                "index": 0,
                "content": "" if streamed else done.text,
                "tokens": [],
                "id_slot": _slot_of(request),
                "stop": True,
                "model": s.model_name,
                "tokens_predicted": n_pred,
                "tokens_evaluated": done.n_prompt,
                "generation_settings": {
                    "n_predict": request.get("n_predict", -1),
                    "temperature": request.get("temperature", 0.8),
                    "stream": bool(request.get("stream")),
                },
                "prompt": request.get("prompt", "")
                if isinstance(request.get("prompt"), str)
                else "",
                "has_new_line": "\n" in done.text,
                "truncated": done.truncated,
                "stop_type": done.stop_type,
                "stopping_word": "",
                "tokens_cached": done.n_prompt + n_pred,
                "timings": stats,
            }
        finish = "length" if done.stop_type == "limit" else "stop"
        usage = {
            "completion_tokens": n_pred,
            "prompt_tokens": done.n_prompt,
            "total_tokens": n_pred + done.n_prompt,
            "prompt_tokens_details": {"cached_tokens": done.cache_n},
        }
        if kind == "chat":
            content, reasoning, calls = parse_harmony_reply(done.text)
            message: dict = {"role": "assistant", "content": content or None}
            if reasoning:
                message["reasoning_content"] = reasoning
            if calls:
                message["tool_calls"] = calls
                finish = "tool_calls" if finish == "stop" else finish
            elif message["content"] is None:
                message["content"] = ""
            choice = {"finish_reason": finish, "index": 0, "message": message}
            obj = "chat.completion"
        else:
            choice = {"text": done.text, "index": 0, "logprobs": None, "finish_reason": finish}
            obj = "text_completion"
        return {
            "choices": [choice],
            "created": int(time.time()),
            "model": s.model_name,
            "system_fingerprint": "b{}-{}".format(*BUILD["new"]),
            "object": obj,
            "usage": usage,
            "id": "chatcmpl-stub",
            "timings": stats,
        }

    def _chunk(self, kind: str, done: Completion, piece: str, first: bool) -> dict:
        s = self.server.settings
        if kind == "native":
            return {
                "index": 0,
                "content": piece,
                "tokens": [],
                "stop": False,
                "id_slot": 0,
                "tokens_predicted": 1,
                "tokens_evaluated": done.n_prompt,
            }
        base = {
            "created": int(time.time()),
            "id": "chatcmpl-stub",
            "model": s.model_name,
            "system_fingerprint": "b{}-{}".format(*BUILD["new"]),
        }
        if kind == "chat":
            delta = {"role": "assistant", "content": None} if first else {"content": piece}
            choice = {"finish_reason": None, "index": 0, "delta": delta}
            return {"choices": [choice], **base, "object": "chat.completion.chunk"}
        choice = {"text": piece, "index": 0, "logprobs": None, "finish_reason": None}
        return {"choices": [choice], **base, "object": "text_completion"}

    def _stream(self, kind: str, request: dict, done: Completion) -> None:
        self._start_sse()
        if kind == "chat":
            self._send_event(self._chunk(kind, done, "", first=True))
        pieces = done.pieces or ([done.text] if done.text else [])
        for k, piece in enumerate(pieces):
            chunk = self._chunk(kind, done, piece, first=False)
            if kind == "native":
                chunk["tokens_predicted"] = k + 1
                chunk = _only_fields(chunk, request)
            self._send_event(chunk)
        final = self._final(kind, request, done, streamed=True)
        if kind == "native":
            self._send_event(_only_fields(final, request))
            return
        choice = final["choices"][0]
        if kind == "chat":
            last = {"finish_reason": choice["finish_reason"], "index": 0, "delta": {}}
            obj = "chat.completion.chunk"
        else:
            last = {
                "text": "",
                "index": 0,
                "logprobs": None,
                "finish_reason": choice["finish_reason"],
            }
            obj = "text_completion"
        event = {
            "choices": [last],
            "created": final["created"],
            "id": final["id"],
            "model": final["model"],
            "system_fingerprint": final["system_fingerprint"],
            "object": obj,
        }
        if (request.get("stream_options") or {}).get("include_usage"):
            self._send_event(event)
            event = {**event, "choices": [], "usage": final["usage"]}
        event["timings"] = final["timings"]
        self._send_event(event)
        self._send_event("[DONE]")


# --------------------------------------------------------------------------- main


def _has_args(argv: list[str], args: str) -> bool:
    """ARGS (space-separated) appear in argv in that order, side by side."""
    words = args.split()
    return any(argv[i : i + len(words)] == words for i in range(len(argv)))


def delay_by_args(argv: list[str], rules: str) -> float:
    """Seconds added to every completion by STUB_DELAY_BY_ARGS: `ARGS=MS` rules separated
    by `;` (`-b 512=-30;-t 1=+20`); a rule counts when ARGS appear in argv in that order,
    side by side. A speed that depends on the flags, for the tuner's tests."""
    extra = 0.0
    for rule in filter(None, (r.strip() for r in rules.split(";"))):
        args, _, ms = rule.rpartition("=")
        if _has_args(argv, args):
            extra += float(ms) / 1000
    return extra


def list_devices(dialect: str) -> str:
    """`llama-server --list-devices`: STUB_DEVICES (`;`-separated `NAME: description`
    lines, e.g. `CUDA0: NVIDIA GeForce RTX 4090 (24080 MiB, 23400 MiB free)`), else a
    CPU-only build's answer (the 2026 server prints `(none)`, the Aug-2025 one nothing)."""
    devices = [d.strip() for d in os.environ.get("STUB_DEVICES", "").split(";") if d.strip()]
    if not devices and dialect == "new":
        devices = ["(none)"]
    return "Available devices:\n" + "".join(f"  {d}\n" for d in devices)


def main(argv: list[str]) -> int:
    dialect = os.environ.get("STUB_HELP") or "new"
    if dialect not in BUILD:
        sys.stderr.write(f"stub: STUB_HELP must be new, old or bare (got {dialect!r})\n")
        return 2
    rpc = os.environ.get("STUB_RPC") == "1"
    reject = os.environ.get("STUB_REJECT_UNKNOWN", "1") != "0"
    recorder = Recorder(
        os.environ.get("STUB_DIR")
        or os.path.join(os.environ.get("TMPDIR") or "/tmp", "stub-llama-server")
    )
    try:
        parsed = parse_argv(argv, dialect, rpc, reject)
    except ArgError as exc:
        if not {"-h", "--help", "--version"} & set(argv):
            recorder.argv(argv)  # a refused start is still a start the test may check
        sys.stderr.write(f"{exc}\n")
        return 1
    if parsed.get("version"):
        number, commit = BUILD[dialect]
        sys.stderr.write(f"version: {number} ({commit})\nbuilt with GNU 12.2.0 for Linux x86_64\n")
        return 0
    if parsed.get("help"):
        sys.stdout.write(help_text(dialect, rpc))
        return 0
    if parsed.get("devices"):
        sys.stdout.write(list_devices(dialect))
        return 0
    recorder.argv(argv)
    failing = [a for a in os.environ.get("STUB_FAIL_BY_ARGS", "").split(";") if a.strip()]
    if any(_has_args(argv, args) for args in failing):
        # What a real start that fails after parsing looks like (then exit 1).
        sys.stderr.write(
            "llama_init_from_model: failed to initialize the context: stub refuses "
            f"{' '.join(argv)}\nsrv    load_model: failed to load model\n"
            "main: exiting due to model loading error\n"
        )
        return 1
    try:
        settings = Settings(parsed)
        settings.delay += delay_by_args(argv, os.environ.get("STUB_DELAY_BY_ARGS", ""))
        settings.jitter = float(os.environ.get("STUB_DELAY_JITTER_MS") or 0) / 1000
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"stub: bad setting: {exc}\n")
        return 1
    try:
        server = StubServer(settings, recorder)
    except OSError as exc:
        sys.stderr.write(
            f"main: couldn't bind HTTP server socket, hostname: {settings.host}, "
            f"port: {settings.port} ({exc.strerror})\n"
        )
        return 1

    recorder.serving()

    def stop(signum: int, _frame) -> None:
        sys.stderr.write(f"srv    operator(): caught signal {signum}, shutting down\n")
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    sys.stderr.write(
        f"main: server is listening on http://{host}:{port} - starting the main loop\n"
    )
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
