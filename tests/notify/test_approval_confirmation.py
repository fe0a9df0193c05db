"""The confirmation of a decision made in the portal (billing_reports.approvals), e-mailed once
through notify's outbox to the client's primary support contact (issue 15).

The decision (tests/approvals/test_approvals.py has the fixture's figures): ann approves J8's
AP8 at 12:30:05Z on 15 March, pulling D801 INV-801 (10.00 USD); D802 INV-802 (20.00 USD) is
still sent. C1's primary support contact is Pat Primary <pat@acme.example>.
"""

from __future__ import annotations

from datetime import UTC, datetime

from billing_reports.approvals import Places, decide
from billing_reports.notify import run_notify
from tests.approvals.test_approvals import ANN, as_decider

DECIDED_AT = datetime(2026, 3, 15, 12, 30, 5, tzinfo=UTC)


def test_the_confirmation_goes_once_to_the_primary_support_contact(
    handmade_warehouse, tmp_path, monkeypatch, smtp_server
):
    server = smtp_server()
    places = Places(handmade_warehouse, tmp_path / "out", tmp_path / "decisions.jsonl", tmp_path / "outbox.sqlite")
    monkeypatch.setenv("BILLING_DECISION_LOG", str(places.log))
    decide("AP8", "approved", as_decider(ANN), pulls=["D801"], reason="hold", places=places, now=DECIDED_AT)
    for _ in range(2):  # the second run finds it sent
        result = run_notify(handmade_warehouse, outbox=places.outbox, now=DECIDED_AT, log=lambda _line: None)
        assert result.ok
    (mail,) = server.of_kind("approval_decision")
    assert mail.rcpt_tos == ["pat@acme.example"]
    assert mail.subject == "Approved: Waiting on customer (J8)"
    text = mail.message.get_body(preferencelist=("plain",)).get_content()
    # 12:30Z on 15 March is 08:30 EDT in New York (daylight saving started on 8 March).
    assert "2026-03-15 12:30 UTC (2026-03-15 08:30 EDT, America/New_York)" in text
    assert "Documents to send:                1 (20.00 USD)" in text
    assert "pulled INV-801:                 10.00 USD" in text
    assert "Reason:                           hold" in text
    # J8 is decided: no approval reminder for it, although it has waited since 11 March.
    assert server.of_kind("approval_reminder") == []
    assert result.counts["approval_decision"].skipped == 1
