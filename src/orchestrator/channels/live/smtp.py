"""Email through an SMTP server, with :mod:`smtplib`.

What goes on the wire is exactly what the dry-run outbox writes to ``OUTBOX/email/ID.eml``
(:func:`~orchestrator.channels.email_message.wire_email`): the same
headers, RFC 8058 one-click unsubscribe and footer, so a dry run shows what SMTP sends.

Transport security (docs/print-batches.md, "SMTP"):

- ``smtps://`` speaks TLS from the first byte (RFC 8314, default port 465);
- ``smtp://`` (default port 587) upgrades with STARTTLS whenever the server offers it,
  and refuses to go on without it unless the host is this machine (localhost or a
  loopback address: a local relay), so credentials and personal data never cross a
  network in the clear.

Certificates are verified against the system's trust store, or against ``tls_context``
when given (for a private CA).

One connection is kept open and reused across sends; it is checked with NOOP before each
reuse and opened again when the server dropped it. Sends are serialised by a lock, so
one instance may be shared by threads (they take turns on the one connection).

The transaction is driven command by command (MAIL, RCPT, DATA, content) rather than with
``sendmail``, so the adapter knows whether the connection dropped before or after the
whole message had been handed over: only after is the message ``maybe_accepted``.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from orchestrator.channels.capabilities import EmailCapabilities
from orchestrator.channels.email_message import EmailSender, message_id_header, wire_email
from orchestrator.channels.errors import (
    ChannelConfigurationError,
    ChannelError,
    MessageInvalid,
    PermanentRejection,
    TransientFailure,
)
from orchestrator.channels.live.smtp_errors import error_for_reply
from orchestrator.channels.live.smtp_url import SmtpServer
from orchestrator.channels.message import OutboundMessage, SendResult

__all__ = ["SmtpChannel"]

logger = logging.getLogger(__name__)

# The in-process memory of sent message ids (for SendResult.repeated) is bounded: the
# dispatcher's records are the lasting guard; this one only catches a quick repeat.
_REMEMBERED_SENDS = 100_000

# A line starting with "." gets a second one (RFC 5321 4.5.2 "transparency").
_LINE_STARTING_WITH_A_DOT = re.compile(rb"(?m)^\.")


class SmtpChannel(EmailCapabilities):
    """Sends email through the SMTP server at ``url``.

    ``sender`` is the From (and envelope) address; ``clock`` stamps the Date header;
    ``timeout`` bounds connecting and every reply, in seconds; ``tls_context`` replaces
    the default certificate checks (e.g. to trust a private CA).
    """

    provider: ClassVar[str] = "smtp"

    def __init__(self, url: str, sender: EmailSender, *, clock: Callable[[], datetime],
                 timeout: float = 10.0, tls_context: ssl.SSLContext | None = None):
        self.server = SmtpServer.parse(url)
        if not isinstance(sender, EmailSender):
            raise ChannelConfigurationError("the SMTP channel needs an EmailSender")
        if not sender.address.addr_spec.isascii():
            raise ChannelConfigurationError(
                "the sender address must be ASCII for SMTP (ORCHESTRATOR_EMAIL_FROM)")
        self.sender = sender
        self._clock = clock
        self._timeout = timeout
        self._tls_context = tls_context or ssl.create_default_context()
        self._connection: smtplib.SMTP | None = None
        self._sent: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def redacted_url(self) -> str:
        """The server URL with the password replaced by ``***``."""
        return self.server.redacted_url

    def describe(self) -> str:
        """One line for the ``run`` banner, without secrets."""
        return self.redacted_url

    def __repr__(self) -> str:
        return f"SmtpChannel({self.redacted_url!r})"

    def send(self, message: OutboundMessage) -> SendResult:
        self.check_message(message)
        recipient = str(message.to_address)
        if not recipient.isascii():
            raise MessageInvalid(
                f"message {message.message_id}: the recipient address is not ASCII and "
                "this adapter does not speak SMTPUTF8")
        with self._lock:
            known = self._sent.get(message.message_id)
            if known is not None:
                logger.debug("smtp message %s already sent; not sent again",
                             message.message_id)
                return SendResult(provider_id=known, repeated=True)
            provider_id = message_id_header(message.message_id, self.sender.domain)
            self._transmit(recipient, wire_email(message, self.sender, self._now()))
            self._remember(message.message_id, provider_id)
        logger.info("smtp message %s accepted by %s", message.message_id, self.redacted_url)
        return SendResult(provider_id=provider_id)

    def close(self) -> None:
        """Say QUIT and close the connection (a later send opens a new one)."""
        with self._lock:
            self._drop_connection(polite=True)

    def __enter__(self) -> SmtpChannel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # The transaction

    def _transmit(self, recipient: str, data: bytes) -> None:
        connection = self._connection_for_a_send()
        stage, content_sent = "mail", False
        try:
            self._expect(connection.mail(self.sender.address.addr_spec), {250}, stage)
            stage = "rcpt"
            self._expect(connection.rcpt(recipient), {250, 251}, stage)
            stage = "data"
            self._expect(connection.docmd("DATA"), {354}, stage)
            stage = "message"
            connection.send(_wire_data(data))
            content_sent = True
            self._expect(connection.getreply(), {250}, stage)
        except PermanentRejection:
            self._reset_transaction(connection)
            raise
        except ChannelError:
            self._drop_connection(polite=False)
            raise
        except (smtplib.SMTPException, OSError) as exc:
            self._drop_connection(polite=False)
            # Once the whole message and its final dot were written, the server may have
            # queued it and only its 250 got lost: a resend could deliver it twice.
            raise TransientFailure(
                f"SMTP connection to {self.redacted_url} failed during {stage}: "
                f"{type(exc).__name__}", maybe_accepted=content_sent) from None

    @staticmethod
    def _expect(reply: tuple[int, bytes], codes: set[int], stage: str) -> None:
        code, text = reply
        if code not in codes:
            raise error_for_reply(code, text, stage)

    def _reset_transaction(self, connection: smtplib.SMTP) -> None:
        # A refused recipient leaves the connection usable once the transaction is reset.
        try:
            code, _ = connection.rset()
        except (smtplib.SMTPException, OSError):
            code = 0
        if code != 250:
            self._drop_connection(polite=False)

    # The connection

    def _connection_for_a_send(self) -> smtplib.SMTP:
        if self._connection is not None:
            try:
                alive = self._connection.noop()[0] == 250
            except (smtplib.SMTPException, OSError):
                alive = False
            if alive:
                return self._connection
            logger.info("smtp connection to %s was dropped; connecting again",
                        self.redacted_url)
            self._drop_connection(polite=False)
        self._connection = self._open()
        return self._connection

    def _open(self) -> smtplib.SMTP:
        server = self.server
        stage = "greeting"
        connection: smtplib.SMTP | None = None
        try:
            if server.implicit_tls:
                connection = smtplib.SMTP_SSL(server.host, server.port, timeout=self._timeout,
                                              context=self._tls_context)
            else:
                connection = smtplib.SMTP(server.host, server.port, timeout=self._timeout)
            stage = "ehlo"
            connection.ehlo_or_helo_if_needed()
            if not server.implicit_tls:
                stage = "starttls"
                self._upgrade_to_tls(connection)
            if server.username is not None:
                stage = "auth"
                self._log_in(connection)
            return connection
        except BaseException as exc:
            if connection is not None:
                connection.close()
            if isinstance(exc, ChannelError):
                raise
            if isinstance(exc, smtplib.SMTPResponseException):
                raise error_for_reply(exc.smtp_code, exc.smtp_error, stage) from None
            if isinstance(exc, ssl.SSLCertVerificationError):
                raise ChannelConfigurationError(
                    f"the TLS certificate of {self.redacted_url} does not verify "
                    f"({exc.verify_message}); for a private CA pass tls_context") from None
            if isinstance(exc, (smtplib.SMTPException, OSError)):
                raise TransientFailure(
                    f"cannot reach the SMTP server {self.redacted_url} ({stage}): "
                    f"{type(exc).__name__}: {exc}") from None
            raise

    def _upgrade_to_tls(self, connection: smtplib.SMTP) -> None:
        if connection.has_extn("starttls"):
            connection.starttls(context=self._tls_context)
            connection.ehlo_or_helo_if_needed()  # RFC 3207: greet again, now encrypted
        elif not self.server.plaintext_allowed:
            raise ChannelConfigurationError(
                f"the SMTP server {self.redacted_url} does not offer STARTTLS; refusing to "
                "send credentials and mail unencrypted over a network (use smtps:// or a "
                "server with STARTTLS)")

    def _log_in(self, connection: smtplib.SMTP) -> None:
        if not connection.has_extn("auth"):
            raise ChannelConfigurationError(
                f"the SMTP URL has credentials but {self.redacted_url} offers no AUTH")
        try:
            connection.login(self.server.username or "", self.server.password or "")
        except smtplib.SMTPNotSupportedError:
            raise ChannelConfigurationError(
                f"{self.redacted_url} offers no AUTH mechanism smtplib knows") from None

    def _drop_connection(self, *, polite: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if polite:
                connection.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            connection.close()

    # Bookkeeping

    def _now(self) -> datetime:
        moment = self._clock()
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ChannelConfigurationError("the SMTP channel's clock must give times with "
                                            "a zone")
        return moment

    def _remember(self, message_id: str, provider_id: str) -> None:
        self._sent[message_id] = provider_id
        while len(self._sent) > _REMEMBERED_SENDS:
            self._sent.popitem(last=False)


def _wire_data(data: bytes) -> bytes:
    """The message content as DATA carries it: dot-stuffed, ending in CRLF "." CRLF."""
    stuffed = _LINE_STARTING_WITH_A_DOT.sub(b"..", data)
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"
