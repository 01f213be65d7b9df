"""The SMTP adapter against a real aiosmtpd server: the URL forms, TLS (STARTTLS and
implicit, with a certificate made here), login, one reused connection, and every row of
the reply table, with neither the password nor the recipient in any error or log line."""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

import pytest
from tests.contract.channels.smtp_server import (
    DROP,
    SMTP_PASSWORD,
    RecordingHandler,
    check_login,
    free_port,
    non_loopback_address,
    self_signed_certificate,
    smtp_server,
    url_of,
)
from tests.contract.channels.support import POSTAL_ADDRESS, UNSUBSCRIBE_URL, fixed_clock, message

from orchestrator.channels.dry_run import DEFAULT_EMAIL_FROM
from orchestrator.channels.email_message import EmailSender
from orchestrator.channels.errors import (
    ChannelConfigurationError,
    MessageInvalid,
    PermanentRejection,
    TransientFailure,
)
from orchestrator.channels.live.smtp import SmtpChannel
from orchestrator.channels.live.smtp_errors import SMTP_REPLY_RULES, SMTP_RETRY_TABLE_VERSION

DOCS = Path(__file__).resolve().parents[3] / "docs" / "print-batches.md"
RECIPIENT = "ada@example.com"
SENDER = EmailSender(DEFAULT_EMAIL_FROM)


def smtp(url: str, **options) -> SmtpChannel:
    return SmtpChannel(url, SENDER, clock=fixed_clock, timeout=options.pop("timeout", 5),
                       **options)


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


@pytest.fixture
def server(handler):
    with smtp_server(handler) as controller:
        yield controller


@pytest.fixture
def channel(server):
    with smtp(url_of(server)) as channel:
        yield channel


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def assert_private(error: Exception, caplog) -> None:
    """Neither the password nor the recipient appear in the error or any log line."""
    for text in (str(error), repr(error), caplog.text):
        assert SMTP_PASSWORD not in text
        assert RECIPIENT not in text


# The URL


@pytest.mark.parametrize("url, redacted", [
    ("smtp://orchestrator:pw@mail.example:2525", "smtp://orchestrator:***@mail.example:2525"),
    ("smtps://orchestrator:pw@mail.example", "smtps://orchestrator:***@mail.example:465"),
    ("smtp://mail.example", "smtp://mail.example:587"),
    ("smtp://u%40shop.example:p%2Fw%23@[::1]:25", "smtp://u@shop.example:***@[::1]:25"),
])
def test_the_redacted_url_shows_everything_but_the_password(url, redacted):
    channel = smtp(url)
    assert channel.redacted_url == redacted == channel.describe()
    assert "pw" not in repr(channel) and "p/w#" not in repr(channel)


@pytest.mark.parametrize("url, problem", [
    ("http://u:s3cret-PASSWORD-marker@mail.example", "scheme"),
    ("smtp://u:s3cret-PASSWORD-marker@", "no host"),
    ("smtp://u:s3cret-PASSWORD-marker@mail.example:99999", "port"),
    ("smtp://u:s3cret-PASSWORD-marker@mail.example:abc", "port"),
    ("smtp://u:s3cret/PASSWORD-marker@mail.example", "percent-encoded"),
    ("smtp://u:s3cret-PASSWORD-marker@mail.example/path", "path"),
    ("smtp://u@mail.example", "both a user and a password"),
    ("smtp://u:s3cret PASSWORD-marker@mail.example", "not a URL"),
])
def test_a_bad_url_is_a_configuration_error_that_never_echoes_it(url, problem):
    with pytest.raises(ChannelConfigurationError, match=problem) as caught:
        smtp(url)
    assert "s3cret" not in str(caught.value) and "PASSWORD" not in str(caught.value)
    assert "ORCHESTRATOR_SMTP_URL" in str(caught.value)


def test_the_url_is_parsed_at_construction_without_connecting():
    # Nothing listens there: construction must not fail, the first send must.
    channel = smtp(f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(TransientFailure, match="cannot reach"):
        channel.send(message("email"))


# What arrives


def test_what_arrives_is_the_email_the_dry_run_describes(channel, handler):
    result = channel.send(message("email", "m-1"))
    [received] = handler.received
    email = received.email()
    assert email["From"] == DEFAULT_EMAIL_FROM
    assert email["To"] == RECIPIENT
    assert email["Subject"] == "Thank you, Ada"
    assert email["Message-ID"] == result.provider_id == "<m-1@shop.example>"
    assert email["List-Unsubscribe"] == f"<{UNSUBSCRIBE_URL}>"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.get_content_type() == "multipart/alternative"
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert "Hello Ada" in text and POSTAL_ADDRESS in text
    assert "<p>Hello Ada" in html and "1 High Street" in html
    assert received.mail_from == "hello@shop.example"
    assert received.rcpt_tos == (RECIPIENT,)


def test_lines_starting_with_a_dot_survive_the_trip(channel, handler):
    channel.send(message("email", text=".hidden?\n..two\nend", html=None))
    body = handler.received[0].email().get_content().replace("\r\n", "\n")
    assert body.startswith(".hidden?\n..two\nend\n")


def test_a_repeat_is_not_transmitted_again(channel, handler):
    first = channel.send(message("email", "m-1"))
    again = channel.send(message("email", "m-1"))
    assert again.repeated and again.provider_id == first.provider_id
    assert len(handler.received) == 1


def test_one_connection_carries_many_messages(channel, handler):
    for number in range(3):
        channel.send(message("email", f"m-{number}"))
    assert len({received.peer for received in handler.received}) == 1


def test_a_dropped_connection_is_opened_again(handler):
    port = free_port()
    with smtp_server(handler, port=port) as server:
        channel = smtp(url_of(server))
        channel.send(message("email", "m-1"))
    with smtp_server(handler, port=port):  # a server restart drops every connection
        channel.send(message("email", "m-2"))
    assert [received.email()["Message-ID"] for received in handler.received] == [
        "<m-1@shop.example>", "<m-2@shop.example>"]
    assert handler.received[0].peer != handler.received[1].peer
    channel.close()


def test_a_recipient_address_that_is_not_ascii_is_refused_before_connecting():
    channel = smtp(f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(MessageInvalid, match="SMTPUTF8"):
        channel.send(message("email", to_address="zoë@example.com"))


# Login and TLS


def test_login_with_the_urls_credentials(handler):
    with smtp_server(handler, authenticator=check_login, auth_require_tls=False) as server, \
            smtp(url_of(server, login=True)) as channel:
        assert not channel.send(message("email")).repeated
    assert len(handler.received) == 1


def test_refused_credentials_are_a_configuration_error(handler, caplog):
    with smtp_server(handler, authenticator=check_login, auth_require_tls=False) as server:
        channel = smtp(url_of(server, login=True, password="wrong-" + SMTP_PASSWORD))
        with pytest.raises(ChannelConfigurationError, match="535") as caught:
            channel.send(message("email"))
    assert_private(caught.value, caplog)
    assert "wrong-" not in str(caught.value)
    assert handler.received == []


def test_a_server_that_requires_login_refuses_an_anonymous_send(handler, certificate,
                                                                caplog):
    with smtp_server(handler, tls_context=certificate.server_context(),
                     authenticator=check_login, auth_required=True) as server:
        channel = smtp(url_of(server, host="localhost"), tls_context=certificate.client_context())
        with pytest.raises(ChannelConfigurationError, match="530") as caught:
            channel.send(message("email"))
    assert_private(caught.value, caplog)


def test_credentials_for_a_server_without_auth_are_a_configuration_error(server):
    with pytest.raises(ChannelConfigurationError, match="no AUTH"):
        smtp(url_of(server, login=True)).send(message("email"))


def test_starttls_is_used_when_offered_and_login_goes_over_it(handler, certificate):
    with smtp_server(handler, tls_context=certificate.server_context(),
                     require_starttls=True, authenticator=check_login) as server:
        # aiosmtpd refuses MAIL (and offers no AUTH) until the session is encrypted.
        url = url_of(server, login=True, host="localhost")
        with smtp(url, tls_context=certificate.client_context()) as channel:
            channel.send(message("email"))
    assert len(handler.received) == 1


def test_a_certificate_that_does_not_verify_is_a_configuration_error(handler, certificate,
                                                                     caplog):
    with smtp_server(handler, tls_context=certificate.server_context(),
                     require_starttls=True) as server, \
            pytest.raises(ChannelConfigurationError, match="certificate") as caught:
        # No tls_context: the system's trust store does not know this certificate.
        smtp(url_of(server, login=True, host="localhost")).send(message("email"))
    assert_private(caught.value, caplog)
    assert handler.received == []


def test_smtps_speaks_tls_from_the_first_byte(handler, certificate):
    # aiosmtpd only counts STARTTLS as encryption, so it is told AUTH is fine here.
    with smtp_server(handler, ssl_context=certificate.server_context(),
                     authenticator=check_login, auth_require_tls=False) as server:
        url = url_of(server, "smtps", login=True, host="localhost")
        with smtp(url, tls_context=certificate.client_context()) as channel:
            channel.send(message("email", "m-1"))
            channel.send(message("email", "m-2"))
    assert len(handler.received) == 2


def test_smtp_to_a_loopback_relay_without_starttls_goes_unencrypted(channel, handler):
    channel.send(message("email"))
    assert len(handler.received) == 1


def test_smtp_over_a_network_without_starttls_is_refused(handler, caplog):
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to listen on")
    with smtp_server(handler, host=address, authenticator=check_login,
                     auth_require_tls=False) as server, \
            pytest.raises(ChannelConfigurationError, match="STARTTLS") as caught:
        smtp(url_of(server, login=True)).send(message("email"))
    assert_private(caught.value, caplog)
    assert handler.received == []


# The reply table


@pytest.mark.parametrize("reply", ["421 4.3.2 Service shutting down",
                                   "450 4.2.1 Mailbox busy",
                                   "451 4.3.0 Local error in processing",
                                   "452 4.3.1 Insufficient system storage"])
def test_a_4xx_reply_to_data_is_transient_and_not_maybe_accepted(channel, handler, reply,
                                                                 caplog):
    handler.data_replies.append(reply)
    with pytest.raises(TransientFailure, match=reply[:3]) as caught:
        channel.send(message("email"))
    assert caught.value.provider_code == reply[:3]
    assert not caught.value.maybe_accepted
    assert_private(caught.value, caplog)
    assert channel.send(message("email")).repeated is False  # the retry goes through
    assert len(handler.received) == 1


@pytest.mark.parametrize("reply", [
    "550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown",
    "551 5.1.6 User not local; please try <ada@example.com>",
    "552 5.2.2 Mailbox full",
    "553 5.1.3 Mailbox name not allowed",
    "554 5.7.1 ada@example.com: Relay access denied"])
def test_a_5xx_reply_to_rcpt_is_a_permanent_rejection_with_the_code(channel, handler, reply,
                                                                    caplog):
    handler.rcpt_replies.append(reply)
    with pytest.raises(PermanentRejection, match=reply[:3]) as caught:
        channel.send(message("email"))
    assert caught.value.provider_code == reply[:3]
    assert_private(caught.value, caplog)
    assert "<address>" in str(caught.value) or "@" not in reply
    # The connection stays usable for the next message.
    channel.send(message("email", "m-2"))
    assert len({received.peer for received in handler.received}) == 1


def test_a_5xx_reply_to_the_content_is_a_permanent_rejection(channel, handler, caplog):
    handler.data_replies.append("554 5.6.0 Message content rejected")
    with pytest.raises(PermanentRejection, match="554") as caught:
        channel.send(message("email"))
    assert_private(caught.value, caplog)
    assert handler.received == []


def test_a_connection_dropped_after_the_content_may_have_delivered_it(channel, handler,
                                                                      caplog):
    handler.data_replies.append(DROP)
    with pytest.raises(TransientFailure) as caught:
        channel.send(message("email", "m-1"))
    assert caught.value.maybe_accepted
    assert len(handler.received) == 1  # the server did take it: a resend would duplicate
    assert_private(caught.value, caplog)
    channel.send(message("email", "m-2"))  # and the adapter connects again
    assert len(handler.received) == 2


def test_a_connection_refused_is_transient_and_not_maybe_accepted():
    with pytest.raises(TransientFailure, match="ConnectionRefused") as caught:
        smtp(f"smtp://127.0.0.1:{free_port()}").send(message("email"))
    assert not caught.value.maybe_accepted


def test_a_server_that_never_answers_times_out_as_transient():
    with socket.socket() as silent:  # accepts connections (backlog) and never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"smtp://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(TransientFailure, match="greeting") as caught:
            smtp(url, timeout=0.3).send(message("email"))
    assert not caught.value.maybe_accepted


def test_a_send_is_logged_by_message_id_only(channel, caplog):
    with caplog.at_level(logging.DEBUG, logger="orchestrator"):
        channel.send(message("email", "m-1"))
        channel.send(message("email", "m-1"))
    assert "m-1" in caplog.text
    assert RECIPIENT not in caplog.text


def test_every_reply_rule_is_listed_in_the_docs_under_its_version():
    docs = DOCS.read_text(encoding="utf-8")
    assert f"SMTP_RETRY_TABLE_VERSION = {SMTP_RETRY_TABLE_VERSION}" in docs
    table = docs[docs.index("SMTP_RETRY_TABLE_VERSION"):]
    for code in (421, 450, 451, 452, 530, 535, 550, 551, 552, 553, 554):
        assert re.search(rf"\b{code}\b", table), code
    assert len(SMTP_REPLY_RULES) == 4
