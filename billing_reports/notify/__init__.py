"""``billing-reports notify``: the e-mails of the warehouse, each sent once per recipient.

Three kinds of message, all read from the published warehouse (read-only, one connection,
closed before anything is sent):

``job_activity``
    The Job Activity Report (R11) of every job in ``marts.rpt_job_activity``, to each row of
    ``marts.rpt_job_activity_recipients`` (the client's ``primary_support`` and ``billing``
    contacts valid at completion). HTML body and PDF attachment from
    ``billing_reports.activity_report``. Once per job x recipient.
``overdue_file``
    An alert for every upload that ``marts.rpt_file_pickup`` shows ``overdue`` (R12), to the
    client's ``primary_support`` contacts valid now. Once per file x recipient.
``approval_reminder``
    A reminder for every job awaiting customer approval (``marts.rpt_job_approval``) for longer
    than ``--approval-reminder-hours``, to the client's ``primary_support`` and ``billing``
    contacts valid now. Once per job x recipient x approval episode (``awaiting_since``). Not
    for an approval already decided, as landed or as logged by the portal.
``approval_decision``
    The confirmation of a decision made in the portal or with ``billing-reports approve|reject``
    (``billing_reports.approvals``), to the client's primary support contacts valid at the
    decision, read from the decision log (not the warehouse). Queued in the outbox when the
    decision is written; sent by the next run. Once per approval x recipient.

The alert and the reminder read the contacts valid now from ``marts.dim_contacts`` and the
client's name and time zone from ``marts.dim_clients``: like the dashboard, notify reads public
models only.

Exactly once goes through an outbox: a SQLite file (``BILLING_OUTBOX``, default ``outbox.sqlite``
beside the warehouse file, so that it outlives every published warehouse file). Each message has
a deterministic Message-ID, which is the outbox key. The protocol, one commit per step:

1. insert the row as ``pending`` (ignored when it exists);
2. mark it ``sending``, attempts + 1, and commit, *before* talking to the server;
3. send over SMTP;
4. mark it ``sent`` (or ``failed`` with a backoff, ``dead`` after ``--max-attempts``).

A run that dies between 3 and 4 leaves ``sending``. The next run does not know whether the
server took the message, and the requirement is that a job's report never reaches the same
person twice, so it marks such rows ``sent`` with ``last_error`` = "recovered after crash:
assumed delivered" (at most once). A connection lost during SMTP ``DATA`` is treated the same
way, for the same reason. See docs/notify.md.

The package, one module per step: ``outbox`` (message ids, times, the outbox file), ``planning``
(what the warehouse calls for), ``messages`` (the e-mails), ``smtp`` (sending), ``run``
(``run_notify``: one run) and ``command`` (the command line).
"""

from __future__ import annotations

from billing_reports.notify.command import register
from billing_reports.notify.run import run_notify

__all__ = ["register", "run_notify"]
