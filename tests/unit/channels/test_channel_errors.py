"""The channel error tree, and HTTP statuses mapped onto it (table-driven)."""

from __future__ import annotations

import pytest

from orchestrator.channels.errors import (
    ChannelConfigurationError,
    ChannelError,
    MessageInvalid,
    PermanentRejection,
    TransientFailure,
    error_for_http_status,
)
from orchestrator.errors import OrchestratorError


def test_the_tree():
    for error in (ChannelConfigurationError, PermanentRejection, TransientFailure):
        assert issubclass(error, ChannelError)
    assert issubclass(MessageInvalid, PermanentRejection)
    assert issubclass(ChannelError, OrchestratorError)


def test_only_transient_failures_are_retryable():
    assert TransientFailure("x").retryable
    assert not PermanentRejection("x").retryable
    assert not ChannelConfigurationError("x").retryable


@pytest.mark.parametrize("status, kind", [
    (429, TransientFailure), (500, TransientFailure), (502, TransientFailure),
    (503, TransientFailure), (599, TransientFailure), (408, TransientFailure),
    (400, PermanentRejection), (404, PermanentRejection), (413, PermanentRejection),
    (422, PermanentRejection), (401, ChannelConfigurationError),
    (403, ChannelConfigurationError),
])
def test_http_status_to_error(status, kind):
    error = error_for_http_status(status, "detail", retry_after=2.0)
    assert type(error) is kind
    assert f"HTTP {status}" in str(error)


def test_a_transient_failure_keeps_the_providers_retry_hint():
    error = error_for_http_status(429, "slow down", retry_after=30.0)
    assert isinstance(error, TransientFailure)
    assert (error.status_code, error.retry_after) == (429, 30.0)
