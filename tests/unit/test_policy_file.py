"""policy.yaml: the defaults round-trip, and every mistake is named with its position."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from orchestrator.campaigns.language.policy_file import load_policy
from orchestrator.campaigns.language.problems import JourneyInvalid
from orchestrator.domain.policy import PolicyConfig

EXAMPLE = Path(__file__).parents[2] / "examples" / "policy.yaml"


def test_the_example_file_states_the_defaults():
    assert load_policy(EXAMPLE) == PolicyConfig()


def test_settings_are_read(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text('private_channel_order: [sms, email]\nsms_window: {start: "09:30", '
                    'end: "20:00"}\nfrequency_caps:\n  - {name: weekly, limit: 2, window: 7d, '
                    'max_deferral: 0s}\n'.replace("0s", "1s"))

    config = load_policy(path)

    assert config.private_channel_order == ("sms", "email")
    assert (config.sms_window_start, config.sms_window_end) == (time(9, 30), time(20))
    [cap] = config.frequency_caps
    assert (cap.name, cap.limit, cap.window) == ("weekly", 2, timedelta(days=7))


@pytest.mark.parametrize(("text", "expected"), [
    ("private_channel_order: [email, fax]\n", "1:32: private_channel_order: unknown value 'fax'"),
    ("sms_window: {start: \"8am\", end: \"21:00\"}\n", "1:21: sms_window start: '8am' is not"),
    ("frequency_capz: []\n", "1:1: unknown key 'frequency_capz'"),
    ("frequency_caps:\n  - {name: weekly, limit: x, window: 7d, max_deferral: 1d}\n",
     "2:27: cap limit: 'x' is not a whole number"),
    ("frequency_caps:\n  - {name: weekly, limit: 3, window: soon, max_deferral: 1d}\n",
     "2:38: cap window"),
    ("review_stances: [grumpy]\n", "1:18: review_stances: unknown value 'grumpy'"),
])
def test_mistakes_are_reported_with_file_line_and_column(tmp_path, text, expected):
    path = tmp_path / "policy.yaml"
    path.write_text(text)

    with pytest.raises(JourneyInvalid) as raised:
        load_policy(path)

    assert any(line.startswith(f"{path}:{expected}") for line in raised.value.lines), \
        raised.value.lines
