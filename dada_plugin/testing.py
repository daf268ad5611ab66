"""A stand-in OpenAI-compatible chat-completions server on 127.0.0.1, for tests, benchmarks and
dry runs: fixed latency, a limited number of slots, and faults injected on request.

    with FakeLLMServer(latency=0.05, slots=4, faults=["500", "429:1", "drop"]) as srv:
        ... --base-url srv.url ...

Faults are consumed in order, one per incoming request: ``"500"``, ``"401"``, ``"403"``, ``"429"`` or ``"429:SECONDS"``
(with Retry-After), ``"drop"`` (close the connection without answering), ``"slow:SECONDS"``
(sleep before answering), ``"length"`` (answer with finish_reason "length"), ``"badjson"``,
``"empty"`` / ``"null"`` (an answer whose content is "" / null). ``None`` sends no fault.
``backlog`` sets the listen queue (a small one refuses connections under load);
``reply=echo_reply`` answers with the prompt itself.
Prompts containing ``TRUNCATE-ME`` always get finish_reason "length".
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dada_plugin.llamacpp.serve import free_port


def default_reply(messages: list[dict]) -> str:
    """Deterministic: 'Sure! Here's the answer: ' + the first sentence of the original answer."""
    prompt = messages[-1]["content"]
    answer = prompt.rsplit("Answer:\n", 1)[-1].strip()
    first = re.split(r"(?<=[.!?])\s", answer, maxsplit=1)[0]
    return f"Sure! Here's the answer: {first}"


def dead_url() -> str:
    """An http URL on 127.0.0.1 with nothing listening (connection refused)."""
    return f"http://127.0.0.1:{free_port()}/v1"


def echo_reply(messages: list[dict]) -> str:
    """A broken server that repeats the prompt, then answers."""
    return messages[-1]["content"] + "\n\n" + default_reply(messages)


class FakeLLMServer:
    def __init__(self, latency: float = 0.0, slots: int = 64, faults=(), reply=default_reply,
                 host: str = "127.0.0.1", port: int = 0, backlog: int | None = None):
        self.latency = latency
        self.reply = reply
        self.faults = deque(faults)
        self._slots = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        # every request received, 200 answers sent, requests being answered now and at most
        self.requests = self.answered = self.in_flight = self.max_in_flight = 0
        self.auth_headers: list[str] = []
        self.bodies: list[dict] = []
        server_class = ThreadingHTTPServer
        if backlog is not None:
            server_class = type("BacklogServer", (ThreadingHTTPServer,), {"request_queue_size": backlog})
        self._server = server_class((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def _next_fault(self) -> str | None:
        with self._lock:
            self.requests += 1
            return self.faults.popleft() if self.faults else None

    def _handler(self):
        srv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                # headers and body go out in separate writes: without NODELAY, Nagle plus the
                # peer's delayed ACK add ~40 ms to every reply
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args):
                pass

            def _send(self, code: int, body: bytes, headers: dict | None = None):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _failed(self, fault: str | None) -> bool:
                """Sleep for a slow fault; answer a dropped connection or an error status (True)."""
                if fault and fault.startswith("slow:"):
                    time.sleep(float(fault.partition(":")[2]))
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return True
                if fault in ("500", "401", "403", "503"):
                    self._send(int(fault), b'{"error": "boom"}')
                    return True
                return False

            def do_GET(self):  # /v1/models, the pre-flight: faults apply as to a POST
                fault = srv._next_fault()
                with srv._lock:
                    srv.auth_headers.append(self.headers.get("Authorization", ""))
                if self._failed(fault):
                    return None
                if self.path != "/v1/models":
                    return self._send(404, b'{"error": "not found"}')
                return self._send(200, json.dumps({"object": "list", "data": [{"id": "fake"}]}).encode())

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fault = srv._next_fault()
                with srv._lock:
                    srv.auth_headers.append(self.headers.get("Authorization", ""))
                    srv.bodies.append(body)
                if self.path != "/v1/chat/completions":
                    return self._send(404, b'{"error": "not found"}')
                if self._failed(fault):
                    return None
                if fault and fault.startswith("429"):
                    after = fault.partition(":")[2] or "0"
                    return self._send(429, b'{"error": "slow down"}', {"Retry-After": after})
                if fault == "badjson":
                    return self._send(200, b"{not json")
                with srv._slots:
                    with srv._lock:
                        srv.in_flight += 1
                        srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
                    try:
                        if srv.latency:
                            time.sleep(srv.latency)
                        text = srv.reply(body.get("messages", []))
                        text = {"empty": "", "null": None}.get(fault, text)
                    finally:
                        with srv._lock:
                            srv.in_flight -= 1
                truncated = fault == "length" or "TRUNCATE-ME" in json.dumps(body)
                reply = {"id": "fake", "object": "chat.completion", "model": body.get("model"),
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                      "finish_reason": "length" if truncated else "stop"}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
                with srv._lock:
                    srv.answered += 1
                return self._send(200, json.dumps(reply).encode())

        return Handler


def main() -> None:  # pragma: no cover - manual dry runs
    import argparse

    p = argparse.ArgumentParser(description="Serve a fake OpenAI-compatible endpoint on 127.0.0.1.")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--slots", type=int, default=64)
    args = p.parse_args()
    with FakeLLMServer(args.latency, args.slots, port=args.port) as srv:
        print(f"serving {srv.url}", flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":  # pragma: no cover
    main()
