"""Messages the product sends on its own, not from a journey: today the answer to an SMS
``HELP``. They are recorded like any other message (scheduled, decided by the channel
policy, sent, with feedback), under the journey name ``system``, so ``messages`` and
``audit why`` show them too."""

from __future__ import annotations

from typing import Final
from uuid import uuid5

from orchestrator.domain.subjects import NAMESPACE

SYSTEM_JOURNEY: Final = "system"
SYSTEM_VERSION: Final = 0
SMS_HELP_STEP: Final = "sms-help"
# Not a folder name (a template folder name has no colon), so it can never clash with one.
SMS_HELP_TEMPLATE: Final = "builtin:sms_help"
BUILTIN_TEMPLATE_CHANNELS: Final = {SMS_HELP_TEMPLATE: frozenset({"sms"})}


def help_reply(touchpoint_id: str, contact: str) -> tuple[str, str]:
    """The message id and enrolment id of the answer to one HELP, for one contact."""
    key = f"sms-help:{touchpoint_id}:{contact}"
    return "msg-" + uuid5(NAMESPACE, f"message:{key}").hex[:24], str(uuid5(NAMESPACE, key))
