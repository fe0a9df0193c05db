"""Deciding a job's approval exactly once (issue 15), on the hand-made fixture (tests/fixtures/handmade.py).

What the fixture holds, and so what the tests expect (worked out from its rows):

* J8 (C1 Acme Utilities) awaits customer approval AP8, requested 2026-03-11 13:20Z. Its two
  documents: D801 INV-801 10.00 USD (us_mail) and D802 INV-802 20.00 USD (email); none pulled.
  C1's primary support contact now is CT1 Pat Primary <pat@acme.example> (CT2 ended 2026-02-01).
* J7 (C2 Maple Power) awaits ops approval AP7; D702 is already pulled (P7), D701 100.00 CAD not.
  C2's primary support contact: CT4 Maple Prime <prime@maple.example>.
* AP2 (J2) and AP5 (J5) were decided in the billing system: approved by CT1 at 2026-03-03 14:45Z,
  and by ops-team at 2026-03-06 23:00Z.
"""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from billing_reports import approvals
from billing_reports.approvals import AlreadyDecided, Decider, Places, Refused, decide
from billing_reports.users import User

NOW = datetime(2026, 3, 15, 12, 30, 5, tzinfo=UTC)
STAMP = "2026-03-15T123005Z"

HASH = "$argon2id$not-a-real-hash"  # nobody signs in here: the CLI names the user with --as
ANN = User("ann", "client", HASH, "C1", None, True)  # C1's approver
AMY = User("amy", "client", HASH, "C1", None, True)  # another C1 approver
BOB = User("bob", "client", HASH, "C1", None, False)  # C1, not an approver
MIA = User("mia", "client", HASH, "C2", None, True)  # C2's approver
OLIVIA = User("olivia", "ops", HASH)

APPROVAL_HEADER = "approval_id,job_id,approval_stage,requested_at,decided_at,decision,decided_by\n"
PULL_HEADER = "pull_id,job_id,document_id,pulled_at,pulled_by\n"
AP8_APPROVED = APPROVAL_HEADER + "AP8,J8,customer,2026-03-11T13:20:00Z,2026-03-15T12:30:05Z,approved,ann\n"
AP8_PULLS = PULL_HEADER + "AP8-D801,J8,D801,2026-03-15T12:30:05Z,ann\n" + "AP8-D802,J8,D802,2026-03-15T12:30:05Z,ann\n"


def as_decider(user: User, session: str = "browser-session-1") -> Decider:
    return Decider.from_user(user, session=session, via="test")


@pytest.fixture
def places(handmade_warehouse, tmp_path) -> Places:
    """The hand-made warehouse (read-only) and, per test, fresh outbound folder, log and outbox."""
    return Places(handmade_warehouse, tmp_path / "outbound", tmp_path / "decisions.jsonl", tmp_path / "outbox.sqlite")


def outbound(places: Places) -> dict[str, str]:
    """Every file under the outbound folder, by relative path (temporary files included)."""
    if not places.outbound.exists():
        return {}
    return {
        str(path.relative_to(places.outbound)): path.read_text(encoding="utf-8")
        for path in sorted(places.outbound.rglob("*"))
        if path.is_file()
    }


def log_events(places: Places) -> list[tuple[str, str]]:
    return [(record["event"], record["approval_id"]) for record in approvals.read_log(places.log)]


def outbox_rows(places: Places) -> list[tuple]:
    if not places.outbox.exists():
        return []
    with sqlite3.connect(places.outbox) as connection:
        return connection.execute("select kind, recipient, state from outbox order by message_id").fetchall()


def test_approve_with_two_pulls_writes_the_contract_rows_the_log_and_the_e_mail(places):
    result = decide(
        "AP8", "approved", as_decider(ANN), pulls=["D801", "D802"], reason="hold for review", places=places, now=NOW
    )
    assert not result.repeated
    # Both documents pulled: nothing left to send; 10.00 + 20.00 = 30.00 USD pulled.
    assert (result.record["send_count"], result.record["pull_amounts"]) == (0, {"USD": "30.00"})
    assert outbound(places) == {
        f"document_pulls/{STAMP}-AP8.csv": AP8_PULLS,
        f"job_approvals/{STAMP}-AP8.csv": AP8_APPROVED,
    }
    assert log_events(places) == [("decided", "AP8"), ("written", "AP8")]
    record = approvals.read_log(places.log)[0]
    assert (record["decided_by"], record["role"], record["via"], record["reason"]) == (
        "ann",
        "client",
        "test",
        "hold for review",
    )
    # The session is a keyed digest: stable for one session, never the raw id.
    assert "browser-session-1" not in places.log.read_text()
    assert record["session"] == approvals.session_digest("browser-session-1", Path(f"{places.log}.key"))
    assert record["session"] != approvals.session_digest("browser-session-2", Path(f"{places.log}.key"))
    assert outbox_rows(places) == [("approval_decision", "pat@acme.example", "pending")]
    assert oct(places.log.stat().st_mode & 0o777) == "0o600"


def test_a_rejection_needs_a_reason_and_pulls_nothing(places):
    with pytest.raises(Refused, match="a rejection needs a reason"):
        decide("AP7", "rejected", as_decider(OLIVIA), places=places, now=NOW)
    with pytest.raises(Refused, match="documents are pulled with an approval"):
        decide("AP7", "rejected", as_decider(OLIVIA), pulls=["D701"], reason="no", places=places, now=NOW)
    assert outbound(places) == {} and log_events(places) == []
    result = decide("AP7", "rejected", as_decider(OLIVIA), reason="totals look wrong", places=places, now=NOW)
    # D701 is neither sent nor pulled; D702 was pulled before.
    assert (result.record["send_count"], result.record["pulls"]) == (0, [])
    assert outbound(places) == {
        f"job_approvals/{STAMP}-AP7.csv": APPROVAL_HEADER
        + "AP7,J7,ops,2026-03-10T14:05:00Z,2026-03-15T12:30:05Z,rejected,olivia\n"
    }
    assert outbox_rows(places) == [("approval_decision", "prime@maple.example", "pending")]


@pytest.mark.parametrize(
    ("approval_id", "user", "message"),
    [
        ("AP8", BOB, "bob may not approve jobs"),  # C1 but not an approver
        ("AP8", MIA, "no approval AP8 awaits a decision"),  # another client's approver learns nothing
        ("AP8", OLIVIA, "the customer stage is decided by the client's approvers"),
        ("AP7", ANN, "no approval AP7 awaits a decision"),  # C2's job, ops stage
        ("AP7", MIA, "the ops stage is decided by the provider's operations team"),
        ("AP404", OLIVIA, "no approval AP404 awaits a decision"),
    ],
)
def test_a_forged_decision_is_refused_and_writes_nothing(places, approval_id, user, message):
    with pytest.raises(Refused, match=message):
        decide(approval_id, "approved", as_decider(user), places=places, now=NOW)
    assert outbound(places) == {} and log_events(places) == [] and outbox_rows(places) == []


def test_a_branch_limited_approver_is_refused(places):
    limited = User("ned", "client", HASH, "C1", ("B01",), True)  # a file edited by hand past `users add`
    with pytest.raises(Refused, match="must see all of its documents"):
        decide("AP8", "approved", as_decider(limited), places=places, now=NOW)


def test_refused_when_the_landed_data_shows_it_decided(places):
    with pytest.raises(
        Refused, match="AP2 is already decided in the billing system: approved by CT1 at 2026-03-03T14:45"
    ):
        decide("AP2", "approved", as_decider(ANN), places=places, now=NOW)
    with pytest.raises(Refused, match="AP5 is already decided in the billing system: approved by ops-team"):
        decide("AP5", "rejected", as_decider(OLIVIA), reason="late", places=places, now=NOW)
    assert outbound(places) == {}


def test_refused_when_the_job_moved_past_the_stage():
    # No pending approval of a job past its stage is in the fixture: the landed facts by hand.
    landed = approvals.Landed(
        "AP9",
        "C1",
        "J9",
        "customer",
        awaited=None,
        other={"decided_at": None, "awaited_approval_id": None, "current_status_label": "Printing Paper Bills"},
    )
    with pytest.raises(Refused, match=r"job J9 is no longer awaiting customer approval \(now: Printing Paper Bills\)"):
        approvals._check_state(landed, as_decider(ANN))


def test_pulls_must_be_documents_of_the_job_not_pulled_yet(places):
    with pytest.raises(Refused, match="document D702 is already pulled"):
        decide("AP7", "approved", as_decider(OLIVIA), pulls=["D702"], places=places, now=NOW)
    with pytest.raises(Refused, match="document D801 is not in job J7"):
        decide("AP7", "approved", as_decider(OLIVIA), pulls=["D801"], places=places, now=NOW)
    assert outbound(places) == {}


def test_a_second_decision_is_told_who_decided_first_and_a_double_click_gets_the_first_back(places):
    first = decide("AP8", "approved", as_decider(ANN), pulls=["D801"], places=places, now=NOW)
    again = decide("AP8", "approved", as_decider(ANN), pulls=["D801"], places=places)
    assert again.repeated and again.record["decided_at"] == first.record["decided_at"] == "2026-03-15T12:30:05Z"
    with pytest.raises(AlreadyDecided, match="already decided by ann at 2026-03-15T12:30:05Z"):
        decide("AP8", "rejected", as_decider(AMY), reason="no", places=places)
    with pytest.raises(AlreadyDecided):
        decide("AP8", "approved", as_decider(ANN), pulls=["D801", "D802"], places=places)  # not the same decision
    assert log_events(places) == [("decided", "AP8"), ("written", "AP8")]
    assert len(outbound(places)) == 2


def _race(user: User, places: Places, barrier, results) -> None:
    barrier.wait()
    try:
        decide("AP8", "approved", as_decider(user, session=f"session-{user.username}"), places=places)
        results.put((user.username, 0))
    except AlreadyDecided as error:
        results.put((user.username, 3, error.record["decided_by"]))


def test_two_processes_racing_give_one_decision(places):
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_race, args=(user, places, barrier, results)) for user in (ANN, AMY)]
    for process in processes:
        process.start()
    outcomes = sorted((results.get(timeout=120) for _ in processes), key=lambda item: item[1])
    for process in processes:
        process.join(timeout=60)
    winner = outcomes[0][0]
    loser = "amy" if winner == "ann" else "ann"
    assert outcomes == [(winner, 0), (loser, 3, winner)]
    files = outbound(places)
    assert list(files) == [f"job_approvals/{next(iter(files)).split('/')[1]}"]
    assert f",approved,{winner}\n" in next(iter(files.values()))
    assert log_events(places) == [("decided", "AP8"), ("written", "AP8")]
    assert outbox_rows(places) == [("approval_decision", "pat@acme.example", "pending")]


class Crash(Exception):
    pass


@pytest.mark.parametrize("step", ["logged", "document_pulls_written", "job_approvals_written", "mail_queued"])
def test_a_crash_after_any_step_loses_nothing_and_writes_nothing_twice(places, monkeypatch, step):
    crashed = []

    def crash_once(name: str) -> None:
        if name == step and not crashed:
            crashed.append(name)
            raise Crash(name)

    monkeypatch.setattr(approvals, "_step", crash_once)
    with pytest.raises(Crash):
        decide("AP8", "approved", as_decider(ANN), pulls=["D801", "D802"], places=places, now=NOW)
    assert log_events(places) == [("decided", "AP8")]  # decided, not all written
    stamps = {name: (places.outbound / name).stat().st_mtime_ns for name in outbound(places)}

    # Someone else's decision is refused (it was decided), and finishes the crashed one first.
    with pytest.raises(AlreadyDecided, match="already decided by ann"):
        decide("AP8", "rejected", as_decider(AMY), reason="no", places=places)
    # The same user's retry gets the decision back.
    assert decide("AP8", "approved", as_decider(ANN), pulls=["D802", "D801"], places=places).repeated
    assert outbound(places) == {
        f"document_pulls/{STAMP}-AP8.csv": AP8_PULLS,
        f"job_approvals/{STAMP}-AP8.csv": AP8_APPROVED,
    }
    # A file written before the crash was not written again (an incremental refresh keeps it).
    assert {name: (places.outbound / name).stat().st_mtime_ns for name in stamps} == stamps
    assert log_events(places) == [("decided", "AP8"), ("written", "AP8")]
    assert outbox_rows(places) == [("approval_decision", "pat@acme.example", "pending")]


def test_a_crash_after_logging_is_finished_by_recover_without_another_decision(places, monkeypatch):
    def crash(name: str) -> None:
        if name == "logged":
            raise Crash(name)

    monkeypatch.setattr(approvals, "_step", crash)
    with pytest.raises(Crash):
        decide("AP8", "approved", as_decider(ANN), pulls=["D801", "D802"], places=places, now=NOW)
    monkeypatch.undo()
    assert outbound(places) == {}
    assert approvals.recover(places) == ["AP8"]  # what the Job approval page runs on every run
    assert outbound(places) == {
        f"document_pulls/{STAMP}-AP8.csv": AP8_PULLS,
        f"job_approvals/{STAMP}-AP8.csv": AP8_APPROVED,
    }
    assert approvals.recover(places) == []
    assert log_events(places) == [("decided", "AP8"), ("written", "AP8")]


def test_a_crash_before_the_decision_is_logged_leaves_nothing(places, monkeypatch):
    def crash(*_args, **_kwargs):
        raise Crash("during the landed checks")

    monkeypatch.setattr(approvals, "summarize", crash)
    with pytest.raises(Crash):
        decide("AP8", "approved", as_decider(ANN), places=places, now=NOW)
    assert outbound(places) == {} and log_events(places) == [] and outbox_rows(places) == []


def test_a_torn_last_line_of_the_log_is_not_a_record_and_the_next_one_starts_on_its_own_line(places):
    places.log.write_text('{"event": "decided", "approval_id": "AP8", "decided_by": "ann", "deci')
    assert approvals.read_log(places.log) == []
    decide("AP7", "rejected", as_decider(OLIVIA), reason="totals look wrong", places=places, now=NOW)
    assert log_events(places) == [("decided", "AP7"), ("written", "AP7")]
    assert json.loads(places.log.read_text().splitlines()[1])["approval_id"] == "AP7"


def test_the_command_line_exit_codes(places, monkeypatch, tmp_path, capsys):
    from billing_reports.cli import main
    from billing_reports.users import save_users

    users_file = tmp_path / "users.toml"
    save_users(users_file, {user.username: user for user in (ANN, AMY, BOB, OLIVIA)})
    monkeypatch.setenv("BILLING_USERS_FILE", str(users_file))
    monkeypatch.setenv("BILLING_WAREHOUSE", str(places.warehouse))
    monkeypatch.setenv("BILLING_OUTBOUND_DIR", str(places.outbound))
    monkeypatch.setenv("BILLING_DECISION_LOG", str(places.log))
    monkeypatch.setenv("BILLING_OUTBOX", str(places.outbox))

    assert main(["approve", "AP8", "--as", "bob"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "billing-reports approve: refused: bob may not approve jobs (ask an administrator for `users add --approver`)"
    ]
    assert main(["approve", "AP8", "--as", "nobody"]) == 2
    assert "no user 'nobody'" in capsys.readouterr().err
    assert main(["approve", "AP8", "--as", "ann", "--pull", "D801", "--reason", "hold"]) == 0
    assert capsys.readouterr().out.startswith("approved AP8 (job J8) as ann at ")
    assert main(["reject", "AP8", "--as", "amy", "--reason", "no"]) == 3
    assert capsys.readouterr().err.startswith("billing-reports reject: already decided by ann at ")
    assert main(["reject", "AP7", "--as", "olivia", "--reason", "wrong totals"]) == 0
    with pytest.raises(SystemExit):  # --reason is required for a rejection
        main(["reject", "AP7", "--as", "olivia"])
    assert sorted(path.split("/")[0] for path in outbound(places)) == [
        "document_pulls",
        "job_approvals",
        "job_approvals",
    ]
