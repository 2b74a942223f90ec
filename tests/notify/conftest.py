"""Fixtures of the notify tests: a real webhook receiver (an HTTP server that verifies
each request's signature with the Standard Webhooks reference library and answers the
status codes it is told) and a real SMTP server (aiosmtpd), both on loopback, which
the tests allow (ICB_WEBHOOKS_ALLOW_PRIVATE)."""

import json
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@pytest.fixture(autouse=True)
def loopback_webhooks(settings):
    settings.ICB_WEBHOOKS_ALLOW_PRIVATE = True
    settings.ICB_WEBHOOK_TIMEOUT = 3


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


@pytest.fixture
def receiver():
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified, problem = None, ""
            try:
                verified = Webhook(state.secret).verify(body, headers)
            except (WebhookVerificationError, ValueError) as exc:
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
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list = field(default_factory=list)  # email.message.EmailMessage
    envelopes: list = field(default_factory=list)  # (from, [to…])


class _Collect:
    def __init__(self, box: Mailbox):
        self.box = box

    async def handle_DATA(self, server, session, envelope):
        self.box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.box.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """A real SMTP server in this process, and the product's mail pointed at it."""
    box = Mailbox("127.0.0.1", _free_port())
    controller = Controller(_Collect(box), hostname=box.host, port=box.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = box.host, box.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "ICB <icb@acme.test>"
    yield box
    controller.stop()
