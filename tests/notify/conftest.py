"""A real SMTP server for the notify tests: aiosmtpd on 127.0.0.1 at a free port, recording envelopes."""

from __future__ import annotations

import email
import email.policy
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

#: The hand-made warehouse's as_of: the fixed "now" of these tests.
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"]).strip()

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"]).strip()

    @property
    def kind(self) -> str:
        return str(self.message["X-Billing-Kind"])


@dataclass
class RecordingHandler:
    """Takes every message; ``refuse_data`` answers the first N DATA commands with 451; ``refuse_rcpt``
    answers 550 to those addresses, always."""

    refuse_data: int = 0
    refuse_rcpt: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    refused: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            self.refused += 1
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_data > 0:
            self.refuse_data -= 1
            self.refused += 1
            return "451 4.3.0 try later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    # What the tests look at ------------------------------------------------------------------

    def of_kind(self, kind: str) -> list[Received]:
        return [item for item in self.received if item.kind == kind]

    def recipients_by_subject(self, kind: str) -> dict[str, set[str]]:
        """Recipients per job (or file), read from the Message-ID."""
        result: dict[str, set[str]] = {}
        for item in self.of_kind(kind):
            key = item.message_id.split(".")[2]  # <kind.client.JOB_OR_FILE....>
            result.setdefault(key, set()).update(item.rcpt_tos)
        return result

    def message_id_counts(self) -> Counter:
        return Counter(item.message_id for item in self.received)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(monkeypatch):
    """Start an aiosmtpd server with the given handler and point BILLING_SMTP_* at it."""
    from aiosmtpd.controller import Controller

    controllers = []

    def start(handler: RecordingHandler | None = None) -> RecordingHandler:
        handler = handler or RecordingHandler()
        port = _free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        monkeypatch.setenv("BILLING_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("BILLING_SMTP_PORT", str(port))
        monkeypatch.setenv("BILLING_SMTP_TLS", "none")
        monkeypatch.setenv("BILLING_MAIL_FROM", "Billing Reports <reports@billing.example>")
        monkeypatch.delenv("BILLING_SMTP_USER", raising=False)
        monkeypatch.delenv("BILLING_SMTP_PASSWORD", raising=False)
        return handler

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(autouse=True)
def _no_outside_notify_settings(monkeypatch):
    """The tests name their outbox and thresholds; settings of the machine must not leak in."""
    for name in ("BILLING_OUTBOX", "BILLING_APPROVAL_REMINDER_HOURS", "BILLING_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
