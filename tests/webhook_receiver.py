"""A real webhook receiver for the tests: an HTTP server on loopback that verifies each
request's signature with the Standard Webhooks reference library, as a receiver of ICB's
webhooks would, and answers the status codes it is told."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: dict | None  # the payload when the signature verified, else None
    problem: str


@dataclass
class Receiver:
    url: str
    secret: str = ""
    answers: list[int] = field(default_factory=list)  # status codes, in order; then 200
    received: list[Received] = field(default_factory=list)

    def verified(self) -> list[dict]:
        return [r.verified for r in self.received if r.verified is not None]


@contextmanager
def start_receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified, problem = None, ""
            try:
                verified = Webhook(state.secret).verify(body, headers)
            except (WebhookVerificationError, EmptyWebhookSecretError, ValueError) as exc:
                problem = str(exc) or type(exc).__name__
            state.received.append(Received(headers, body, verified, problem))
            status = state.answers.pop(0) if state.answers else 200
            if verified is None and status == 200:
                status = 401  # a receiver refuses what it cannot verify
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"ok": status == 200}).encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/icb"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
