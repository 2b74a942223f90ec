"""Fixtures of the notify tests: a real SMTP server (aiosmtpd) in this process, and
webhooks allowed to loopback (ICB_WEBHOOKS_ALLOW_PRIVATE), where the real receiver
(`receiver`, tests/fixtures.py) listens."""

import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller


@pytest.fixture(autouse=True)
def loopback_webhooks(settings):
    settings.ICB_WEBHOOKS_ALLOW_PRIVATE = True
    settings.ICB_WEBHOOK_TIMEOUT = 3


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
