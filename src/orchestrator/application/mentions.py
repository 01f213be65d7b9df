"""Use case: mentions of the brand's Mastodon account become ``social.mention``
touchpoints (id ``mastodon:<status id>``, so reading the same mention twice records it
once), which the journeys that answer mentions then see like any other touchpoint.

The live service polls before each tick. The cursor (the last notification read) is kept
in the process: after a restart the first poll reads the latest page again, and what was
already recorded is a duplicate, not a second mention.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from orchestrator.application.stores import store_of
from orchestrator.application.tail import finish_write
from orchestrator.channels.errors import ChannelError
from orchestrator.ingest.service import check_touchpoint, record_touchpoints

logger = logging.getLogger(__name__)

NETWORK = "mastodon"


@dataclass
class MentionPoller:
    app: Any
    reader: Any  # a MastodonMentions
    cursor: str | None = None

    def poll(self) -> int:
        """Record the mentions since the last poll; returns how many were new. A provider
        that fails is logged and tried again at the next tick."""
        try:
            mentions = self.reader.since(self.cursor)
        except ChannelError as error:
            logger.warning("mastodon mentions not read this time: %s", error)
            return 0
        if not mentions:
            return 0
        touchpoints = []
        for mention in mentions:
            checked = check_touchpoint({
                "id": mention.touchpoint_id, "type": "social.mention",
                "at": mention.created_at.isoformat(), "network": NETWORK,
                "handle": f"@{mention.account.lstrip('@')}", "text": mention.text})
            if isinstance(checked, list):  # e.g. a text over the ingest limits
                logger.warning("mastodon mention %s not recorded: %s", mention.status_id,
                               "; ".join(f"{p.field}: {p.reason}" for p in checked))
                continue
            touchpoints.append(checked)
        recorded = 0
        if touchpoints:
            with store_of(self.app) as store:
                with store.write() as unit:
                    report = record_touchpoints(unit, touchpoints, recorded_at=self.app.now(),
                                                source="mastodon notifications",
                                                first_wins=True)
                recorded = report.recorded
                if recorded:
                    finish_write(self.app, store)
        self.cursor = mentions[-1].notification_id
        return recorded


