"""The word lists the journey language reads: the product's own (``domain.vocabulary``)
and the template files a channel needs (``rendering.layout``). Nothing is defined twice."""

from __future__ import annotations

from orchestrator.domain.vocabulary import (
    AUDIENCES,
    DEFAULT_AUDIENCE,
    INTENTS,
    PRIVATE_CHANNELS,
    PRIVATE_INTENTS,
    PUBLIC_CHANNELS,
    PUBLIC_INTENTS,
    STAGE_ENTERED,
    STAGES,
    TOUCHPOINT_TYPES,
)
from orchestrator.rendering.layout import CHANNEL_FILES, TEMPLATE_FILES

__all__ = ["AUDIENCES", "CHANNEL_FILES", "DEFAULT_AUDIENCE", "INTENTS", "PRIVATE_CHANNELS",
           "PRIVATE_INTENTS", "PUBLIC_CHANNELS", "PUBLIC_INTENTS", "STAGES", "STAGE_ENTERED",
           "TEMPLATE_FILES", "TOUCHPOINT_TYPES"]
