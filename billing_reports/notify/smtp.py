"""Sending notify's e-mails over SMTP, telling a refused message from one that may have arrived."""

from __future__ import annotations

import contextlib
import email.policy
import email.utils
import smtplib
import ssl
from email.message import EmailMessage

from billing_reports.notify.messages import WIRE_POLICY
from billing_reports.notify.outbox import _one_line
from billing_reports.settings import SmtpSettings

UNCERTAIN_NOTE = "connection lost during SMTP DATA: assumed delivered"


class DeliveryFailed(Exception):
    """The server did not take the message (it is safe to send it again later)."""


class DeliveryUncertain(Exception):
    """The connection broke while the message was being handed over: it may have been delivered."""


# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------


def _describe(error: BaseException) -> str:
    return _one_line(f"{type(error).__name__}: {error}")[:500]


class SmtpSender:
    """One SMTP connection for the run, opened on the first message and re-opened after an error.

    ``send`` raises ``DeliveryFailed`` when the server certainly did not take the message (refused
    connection, login, sender, recipient, or a reply code to DATA) and ``DeliveryUncertain`` when
    the connection broke during DATA, after which nobody knows.
    """

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.envelope_from = email.utils.parseaddr(settings.mail_from)[1]
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        config = self.settings
        if config.tls == "ssl":
            smtp = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        try:
            smtp.ehlo()
            if config.tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if config.user:
                smtp.login(config.user, config.password or "")
        except BaseException:
            self._drop(smtp)
            raise
        return smtp

    @staticmethod
    def _drop(smtp: smtplib.SMTP | None) -> None:
        if smtp is None:
            return
        with contextlib.suppress(Exception):
            smtp.quit()
        with contextlib.suppress(Exception):
            smtp.close()

    def close(self) -> None:
        self._drop(self._smtp)
        self._smtp = None

    def send(self, mail: EmailMessage, recipient: str) -> None:
        payload = mail.as_bytes(policy=WIRE_POLICY)
        for fresh in (False, True):
            reused = self._smtp is not None and not fresh
            try:
                if self._smtp is None or fresh:
                    self.close()
                    self._smtp = self._connect()
                code, reply = self._smtp.mail(self.envelope_from)
                if code != 250:
                    raise smtplib.SMTPSenderRefused(code, reply, self.envelope_from)
                code, reply = self._smtp.rcpt(recipient)
                if code not in (250, 251):
                    raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
            except smtplib.SMTPServerDisconnected as error:
                self.close()
                if reused:  # an idle connection the server closed: try once on a new one
                    continue
                raise DeliveryFailed(_describe(error)) from error
            except (smtplib.SMTPException, OSError) as error:
                self._reset_or_close()
                raise DeliveryFailed(_describe(error)) from error
            break
        try:
            code, reply = self._smtp.data(payload)
            if code != 250:  # smtplib returns (not raises) the reply to the end of the message
                raise smtplib.SMTPDataError(code, reply)
        except smtplib.SMTPDataError as error:  # the server answered with an error code: not taken
            self._reset_or_close()
            raise DeliveryFailed(_describe(error)) from error
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise DeliveryUncertain(_describe(error)) from error

    def _reset_or_close(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except Exception:
            self.close()
