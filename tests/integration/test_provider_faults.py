"""What the live HTTP adapters make of provider failures, row by row of the retry tables,
with each failure produced on the wire: by Prism (``Prefer: code=N`` gives the spec's own
error example), or by the recording proxy (drops, late answers, 429 with its headers,
5xx before or after the provider took the request, Twilio's error bodies).

Also: no credential in any exception or log line, whatever failed; Twilio's
reconciliation; one request for concurrent sends of one message."""

from __future__ import annotations

import logging
import socket
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.contract.channels.support import message
from tests.providers.channels import (
    MASTODON_ACCESS_TOKEN,
    MASTODON_STATUSES,
    SECRETS,
    SENDGRID_SEND,
    TWILIO_MESSAGES,
    mastodon_channel,
    mastodon_mentions,
    sendgrid_channel,
    twilio_channel,
)
from tests.providers.mocks import Fault, ProviderMock

from orchestrator.channels.errors import (
    ChannelConfigurationError,
    ChannelError,
    PermanentRejection,
    RecipientOptedOut,
    TransientFailure,
)
from orchestrator.channels.live.mastodon import MastodonChannel
from orchestrator.channels.live.retry_tables import (
    MASTODON,
    SENDGRID,
    TWILIO,
    Outcome,
    RetryTable,
    Row,
    Transport,
)

CLIENT_TIMEOUT = 0.4  # for the "slow" rows: the proxy holds the answer longer
SLOW_ANSWER = 1.5


@dataclass(frozen=True)
class Provider:
    name: str
    kind: str  # the channel kind of its messages
    fixture: str
    build: Callable[..., Any]
    route: str
    table: RetryTable
    spec_statuses: frozenset[int]  # error statuses Prism can answer from the spec
    error_body: Callable[[int, int | None], Any]

    def __str__(self) -> str:
        return self.name


SENDGRID_PROVIDER = Provider(
    "sendgrid", "email", "sendgrid_mock", sendgrid_channel, SENDGRID_SEND, SENDGRID,
    frozenset({400, 401, 403, 404, 405, 413, 500}),
    lambda status, code: {"errors": [{"field": "personalizations.0.to",
                                      "message": "rejected ada@example.com"}]})
TWILIO_PROVIDER = Provider(
    "twilio", "sms", "twilio_mock", twilio_channel, TWILIO_MESSAGES, TWILIO,
    frozenset(),  # the spec defines no error response for Messages create
    lambda status, code: {"code": code, "status": status, "more_info": "https://x.example",
                          "message": "The 'To' number +447700900123 is not valid."})
MASTODON_PROVIDER = Provider(
    "mastodon", "social", "mastodon_mock", mastodon_channel, MASTODON_STATUSES, MASTODON,
    frozenset({401, 404, 410, 422, 429, 503}),
    lambda status, code: {"error": "Validation failed"})
PROVIDERS = (SENDGRID_PROVIDER, TWILIO_PROVIDER, MASTODON_PROVIDER)

TWILIO_CODE_STATUS = {20429: 429, 20003: 401}  # the others come with 400


def _rows() -> list[Any]:
    return [pytest.param(provider, row, id=f"{provider}-{row.condition.replace(' ', '-')}")
            for provider in PROVIDERS for row in provider.table.rows]


def _status_for(provider: Provider, row: Row) -> int:
    if row.code is not None:
        return TWILIO_CODE_STATUS.get(row.code, 400)
    if row.status is not None:
        return row.status
    assert row.status_class is not None
    # A status of that class no exact row claims, one Prism can answer where possible.
    exact = {r.status for r in provider.table.rows}
    spec = sorted(s for s in provider.spec_statuses
                  if s // 100 == row.status_class and s not in exact)
    return spec[0] if spec else row.status_class * 100 + (18 if row.status_class == 4 else 2)


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens once closed


def _provoke(provider: Provider, mock: ProviderMock, row: Row) -> Any:
    """Arrange ``row``'s failure on the wire; returns the channel to send with."""
    if row.transport is Transport.CONNECT:
        url = _closed_port_url()
        key = "host" if provider is SENDGRID_PROVIDER else (
            "base_url" if provider is TWILIO_PROVIDER else None)
        if key is None:  # Mastodon's URL is its first argument, not an option
            return MastodonChannel(url, MASTODON_ACCESS_TOKEN, timeout=2.0)
        return provider.build(mock, **{key: url})
    if row.transport is Transport.READ_TIMEOUT:
        mock.inject(Fault.slow(SLOW_ANSWER, path=provider.route))
        return provider.build(mock, timeout=CLIENT_TIMEOUT)
    if row.transport is Transport.DROPPED:
        mock.inject(Fault.drop(path=provider.route))
        return provider.build(mock)
    status = _status_for(provider, row)
    if status in provider.spec_statuses:
        mock.inject(Fault.prefer(status, path=provider.route))
    else:
        mock.inject(Fault.reply(status, provider.error_body(status, row.code),
                                path=provider.route))
    return provider.build(mock)


EXPECTED: dict[Outcome, Callable[[ChannelError], bool]] = {
    Outcome.RETRY: lambda e: isinstance(e, TransientFailure) and not e.maybe_accepted,
    Outcome.RETRY_IN_DOUBT: lambda e: isinstance(e, TransientFailure) and e.maybe_accepted,
    Outcome.REJECT: lambda e: type(e) is PermanentRejection,
    Outcome.OPTED_OUT: lambda e: isinstance(e, RecipientOptedOut),
    Outcome.CONFIGURATION: lambda e: isinstance(e, ChannelConfigurationError),
}


@pytest.mark.parametrize(("provider", "row"), _rows())
def test_each_row_of_the_retry_tables_is_what_the_adapter_raises(provider, row, request,
                                                                caplog):
    caplog.set_level(logging.DEBUG)
    mock = request.getfixturevalue(provider.fixture)
    channel = _provoke(provider, mock, row)
    sent = message(provider.kind, "m-1")

    with pytest.raises(ChannelError) as raised:
        channel.send(sent)

    error = raised.value
    assert EXPECTED[row.outcome](error), (row, repr(error))
    assert f"[{provider.table.provider} table {provider.table.version}]" in str(error)
    if row.code is not None:
        assert f"error {row.code}" in str(error)
        if row.outcome is not Outcome.CONFIGURATION:  # that error has no code field
            assert error.provider_code == str(row.code)
    elif row.transport is None and row.outcome is not Outcome.CONFIGURATION:
        assert error.status_code == _status_for(provider, row)
    _assert_nothing_private_leaked(error, caplog, sent)


def _assert_nothing_private_leaked(error: BaseException, caplog, sent) -> None:
    chain = "".join(traceback.format_exception(error))
    for secret in SECRETS:
        assert secret not in chain
        assert secret not in caplog.text
    recipient = sent.to_address
    if isinstance(recipient, str):
        assert recipient not in str(error)
        ours = [r.getMessage() for r in caplog.records if r.name.startswith("orchestrator")]
        assert not any(recipient in line for line in ours)


@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
def test_nothing_is_remembered_after_a_failure_so_the_retry_goes_out(provider, request):
    mock = request.getfixturevalue(provider.fixture)
    channel = provider.build(mock)
    mock.inject(Fault.reply(503, provider.error_body(503, None), path=provider.route))

    with pytest.raises(TransientFailure):
        channel.send(message(provider.kind, "m-1"))
    result = channel.send(message(provider.kind, "m-1"))

    assert not result.repeated
    assert [e.status for e in mock.requests(provider.route)] == [503, _ok(provider)]


def _ok(provider: Provider) -> int:
    return {"sendgrid": 202, "twilio": 201, "mastodon": 200}[provider.name]


@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
def test_a_500_after_the_provider_took_it_is_in_doubt_and_the_retry_is_the_same_request(
        provider, request):
    mock = request.getfixturevalue(provider.fixture)
    channel = provider.build(mock)
    mock.inject(Fault.after_forwarding(500, provider.error_body(500, None),
                                       path=provider.route))

    with pytest.raises(TransientFailure) as raised:
        channel.send(message(provider.kind, "m-1"))
    channel.send(message(provider.kind, "m-1"))

    assert raised.value.maybe_accepted
    first, retry = mock.requests(provider.route)
    assert first.reached_provider and first.status == 500  # taken, yet reported failed
    # What lets the provider (SendGrid: Message-ID, Mastodon: Idempotency-Key) or the
    # reconciliation (Twilio) recognise the second as the first.
    assert (first.body, first.header("Idempotency-Key")) == (
        retry.body, retry.header("Idempotency-Key"))


@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
def test_a_500_before_the_provider_saw_it_is_still_in_doubt_to_the_client(provider, request):
    mock = request.getfixturevalue(provider.fixture)
    mock.inject(Fault.reply(500, provider.error_body(500, None), path=provider.route))

    with pytest.raises(TransientFailure) as raised:
        provider.build(mock).send(message(provider.kind, "m-1"))

    assert raised.value.maybe_accepted  # the client cannot tell the two 500s apart
    [exchange] = mock.requests(provider.route)
    assert not exchange.reached_provider


@pytest.mark.parametrize(("provider", "fault", "expected"), [
    (SENDGRID_PROVIDER, Fault.rate_limited(retry_after=7), 7.0),
    (SENDGRID_PROVIDER, Fault.rate_limited(reset_in=30), 30.0),
    (TWILIO_PROVIDER, Fault.rate_limited(retry_after=7), 7.0),
    (MASTODON_PROVIDER, Fault.rate_limited(reset_in=30, reset_format="iso"), 30.0),
], ids=["sendgrid-retry-after", "sendgrid-ratelimit-reset", "twilio-retry-after",
        "mastodon-ratelimit-reset"])
def test_429_carries_the_providers_wait_hint(provider, fault, expected, request):
    mock = request.getfixturevalue(provider.fixture)
    mock.inject(fault)

    with pytest.raises(TransientFailure) as raised:
        provider.build(mock).send(message(provider.kind, "m-1"))

    assert raised.value.status_code == 429 and not raised.value.maybe_accepted
    assert raised.value.retry_after == pytest.approx(expected, abs=1.0)


@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
def test_a_dropped_connection_is_in_doubt(provider, request):
    mock = request.getfixturevalue(provider.fixture)
    mock.inject(Fault.drop(forward=True, path=provider.route))

    with pytest.raises(TransientFailure) as raised:
        provider.build(mock).send(message(provider.kind, "m-1"))

    assert raised.value.maybe_accepted
    assert mock.requests(provider.route)[0].reached_provider


@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
def test_a_success_logs_no_credential_even_at_debug(provider, request, caplog):
    caplog.set_level(logging.DEBUG)
    mock = request.getfixturevalue(provider.fixture)
    channel = provider.build(mock)
    sent = message(provider.kind, "m-1")

    channel.send(sent)

    assert caplog.records  # the SDKs and we did log: the check below is not vacuous
    for secret in SECRETS:
        assert secret not in caplog.text
        assert secret not in repr(channel)
    if provider is SENDGRID_PROVIDER:  # its client logs headers and body at DEBUG
        assert "HEADERS: (withheld" in caplog.text and "PAYLOAD: (withheld" in caplog.text
        assert str(sent.to_address) not in caplog.text


def test_mastodon_mention_reading_maps_errors_like_posting(mastodon_mock):
    mastodon_mock.inject(Fault.prefer(401, path="/api/v1/notifications"))
    with pytest.raises(ChannelConfigurationError, match="mastodon table 1"):
        mastodon_mentions(mastodon_mock).since(None)


# Twilio reconciliation ---------------------------------------------------------------

SINCE = datetime(2026, 1, 1, tzinfo=UTC)
EMPTY_PAGE = {"messages": [], "end": 0, "first_page_uri": TWILIO_MESSAGES + "?PageSize=50",
              "next_page_uri": None, "page": 0, "page_size": 50, "previous_page_uri": None,
              "start": 0, "uri": TWILIO_MESSAGES + "?PageSize=50"}


def test_reconciliation_finds_the_message_twilio_took(twilio_mock):
    channel = twilio_channel(twilio_mock)
    # The spec's example list holds an outbound "testing" to +18182008801.
    sms = message("sms", "m-1", text="testing", to_address="+18182008801")

    found = channel.find_accepted(sms, SINCE)

    assert found is not None and found.repeated
    assert found.provider_id == "SMded05904ccb347238880ca9264e8fe1c"
    [lookup] = twilio_mock.requests(TWILIO_MESSAGES, "GET")
    assert lookup.query["To"] == ["+18182008801"] and "DateSent>" in lookup.query
    assert channel.send(sms).repeated  # and it is not sent again
    assert twilio_mock.requests(TWILIO_MESSAGES, "POST") == []


def test_reconciliation_says_none_when_twilio_lists_nothing(twilio_mock):
    twilio_mock.inject(Fault.reply(200, EMPTY_PAGE, method="GET"))
    assert twilio_channel(twilio_mock).find_accepted(message("sms"), SINCE) is None


def test_reconciliation_cannot_tell_past_the_pages_it_reads(twilio_mock):
    # The mock's example list always has a next page and never our message.
    with pytest.raises(TransientFailure, match="cannot tell") as raised:
        twilio_channel(twilio_mock).find_accepted(message("sms"), SINCE)
    assert raised.value.maybe_accepted


def test_reconciliation_that_fails_is_transient_in_doubt(twilio_mock):
    twilio_mock.inject(Fault.reply(404, {"code": 20404, "status": 404, "message": "x"},
                                   method="GET"))
    with pytest.raises(TransientFailure) as raised:
        twilio_channel(twilio_mock).find_accepted(message("sms"), SINCE)
    assert raised.value.maybe_accepted


# Concurrency -------------------------------------------------------------------------


def test_concurrent_sends_of_one_message_make_one_request(sendgrid_mock):
    channel = sendgrid_channel(sendgrid_mock)
    results = []
    start = threading.Barrier(8)

    def send() -> None:
        start.wait()
        results.append(channel.send(message("email", "m-1")))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(sendgrid_mock.requests(SENDGRID_SEND)) == 1
    assert sorted(result.repeated for result in results) == [False] + [True] * 7


# The documentation -------------------------------------------------------------------


def test_docs_providers_md_lists_every_retry_table_as_the_code_has_it():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "providers.md").read_text()
    for table in (SENDGRID, TWILIO, MASTODON):
        assert f"(table version {table.version})" in docs
        assert table.markdown() in docs, f"docs/providers.md: the {table.provider} table"
