"""A test-owned OpenAI-compatible model server on 127.0.0.1 that replays scripted replies, and the scripts.

It speaks `POST /v1/chat/completions` like any OpenAI-compatible server (Ollama, llama.cpp, vLLM), so litellm
talks to it over real HTTP. A script decides each reply from the request (the prompt text and the call's
number), which lets a test check what the loop told the model: for example, reply with the fix only when the
previous round's failure message appears in the prompt. The tests share one server per session through the
fixtures `stub_server`, `stub` and `gate` of tests/conftest.py.

Run standalone (for benchmarks and demos) with a canned script that fixes examples/demo:

    python tests/stub_model.py --port 8765 --script demo-fix
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str = ""
    status: int = 200
    delay: float = 0.0  # seconds to wait before answering (a slow or hung model)
    prompt_tokens: int = 1000
    completion_tokens: int = 200


@dataclass
class Call:
    number: int  # 1-based, in arrival order
    body: dict[str, Any]

    @property
    def prompt(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


Script = Callable[[Call], Reply]


class StubModel:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with stub._lock:
                    call = Call(len(stub.calls) + 1, body)
                    stub.calls.append(call)
                reply = stub.script(call)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status != 200:
                    payload = {"error": {"message": f"stub error {reply.status}", "type": "stub", "code": reply.status}}
                else:
                    payload = {
                        "id": f"chatcmpl-stub-{call.number}", "object": "chat.completion", "created": int(time.time()),
                        "model": body.get("model", "stub"),
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": reply.content}}],
                        "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                                  "total_tokens": reply.prompt_tokens + reply.completion_tokens},
                    }
                data = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def use(self, script: Script) -> StubModel:
        """Answer with `script` from now on, with a fresh call log (call numbers start at 1 again)."""
        with self._lock:
            self.script = script
            self.calls.clear()
        return self

    def start(self) -> StubModel:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- scripts: what the stub model answers -------------------------------------------------------------------

def always(content: str) -> Script:
    return lambda call: Reply(content)


def in_turn(*contents: str) -> Script:
    """The n-th call gets the n-th reply; the last one repeats."""
    return lambda call: Reply(contents[min(call.number, len(contents)) - 1])


def errors(status: int) -> Script:
    return lambda call: Reply(status=status)


def gated(gate: threading.Event, content: str, seconds: float = 60.0) -> Script:
    """A model that answers `content` only once the test sets `gate` (or after `seconds`)."""

    def script(call: Call) -> Reply:
        gate.wait(seconds)
        return Reply(content)

    return script


def search_replace(path: str, old: str, new: str, hypothesis: str = "the bug is on the shown line") -> str:
    return f"Hypothesis: {hypothesis}\n\n{path}\n<<<<<<< SEARCH\n{old}\n=======\n{new}\n>>>>>>> REPLACE\n"


DEMO_FIX = search_replace(
    "shop/pricing.py",
    "    return total_cents - total_cents * percent // 10",
    "    return total_cents - total_cents * percent // 100",
    "apply_discount divides by 10 instead of 100 (shop/pricing.py:18), so a percentage takes ten times too much",
)


def demo_fix(call: Call) -> Reply:
    return Reply(DEMO_FIX)


SCRIPTS: dict[str, Script] = {"demo-fix": demo_fix}


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a scripted OpenAI-compatible model on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--script", choices=sorted(SCRIPTS), default="demo-fix")
    args = parser.parse_args()
    stub = StubModel(SCRIPTS[args.script])
    stub.server.server_close()
    stub.server = ThreadingHTTPServer(("127.0.0.1", args.port), stub.server.RequestHandlerClass)
    print(f"stub model on {stub.api_base}", flush=True)
    stub.server.serve_forever()


if __name__ == "__main__":
    main()
