"""``policy.yaml``: the channel policy's rules as configuration, validated like journeys.

Every key is optional; the defaults are the SPEC's (see ``examples/policy.yaml``, which
spells them out). Problems are reported all at once as ``FILE:LINE:COL: message``.
"""

from __future__ import annotations

import os
import re
from datetime import time
from pathlib import Path

from orchestrator.campaigns.language.node_reader import NodeReader
from orchestrator.campaigns.language.problems import JourneyInvalid, Position
from orchestrator.campaigns.language.yaml_source import (
    MAX_SOURCE_BYTES,
    YamlMapping,
    YamlNode,
    oversized,
    parse_yaml_source,
)
from orchestrator.domain.policy import FrequencyCap, PolicyConfig, PolicyInputError
from orchestrator.domain.vocabulary import CONTACT_KINDS, STANCES

KEYS = ("private_channel_order", "known_customer_kinds", "sms_window",
        "sms_fallback_timezones", "frequency_caps", "no_marketing_kinds", "review_stances",
        "review_author_kinds")
CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def load_policy(path: str | Path) -> PolicyConfig:
    """The policy in ``path``. Problems name ``FILE:LINE:COL`` and what was expected; a
    file that is not YAML settings at all is never quoted (see ``yaml_source``)."""
    file = str(path)
    try:
        with open(path, "rb") as source:
            size = os.fstat(source.fileno()).st_size
            if (too_large := oversized(file, size)) is not None:
                raise JourneyInvalid([too_large])
            # Read no more than the limit allows, whatever the path is (a device, a pipe).
            data = source.read(MAX_SOURCE_BYTES + 1)
    except OSError as error:
        raise JourneyInvalid([_problem(file, Position(1, 1),
                                       f"cannot read: {error.strerror}")]) from None
    document = parse_yaml_source(data, file)
    reader = NodeReader(file, list(document.problems))
    settings: dict[str, object] = {}
    root = document.root
    if root is not None and not document.problems:
        mapping = reader.mapping(root, "the policy", allowed=KEYS,
                                 example="private_channel_order: [email, sms, mail]")
        if mapping is not None:
            settings = _read(reader, mapping)
    if reader.problems:
        raise JourneyInvalid(reader.problems)
    try:
        return PolicyConfig(**settings)  # type: ignore[arg-type]
    except PolicyInputError as error:
        position = root.position if root is not None else Position(1, 1)
        raise JourneyInvalid([_problem(file, position, str(error))]) from None


def _read(reader: NodeReader, mapping: YamlMapping) -> dict[str, object]:
    settings: dict[str, object] = {}
    words = {"private_channel_order": ("email", "sms", "mail"),
             "known_customer_kinds": tuple(sorted(CONTACT_KINDS)),
             "no_marketing_kinds": tuple(sorted(CONTACT_KINDS)),
             "review_stances": tuple(sorted(STANCES)),
             "review_author_kinds": tuple(sorted(CONTACT_KINDS))}
    for key, options in words.items():
        node = mapping.value(key)
        if node is not None:
            values = _choices(reader, node, key, options)
            if values is not None:
                settings[key] = tuple(values)
    zones = mapping.value("sms_fallback_timezones")
    if zones is not None:
        sequence = reader.sequence(zones, "sms_fallback_timezones", "[Europe/London]")
        if sequence is not None:
            settings["sms_fallback_timezones"] = tuple(
                reader.text(item, "a time zone", "Europe/London") or "" for item in sequence.items)
    window = mapping.value("sms_window")
    if window is not None:
        window_map = reader.mapping(window, "sms_window", allowed=("start", "end"),
                                    required=("start", "end"),
                                    example='{start: "08:00", end: "21:00"}')
        if window_map is not None:
            for key in ("start", "end"):
                moment = _clock(reader, window_map.value(key), f"sms_window {key}")
                if moment is not None:
                    settings[f"sms_window_{key}"] = moment
    caps = mapping.value("frequency_caps")
    if caps is not None:
        sequence = reader.sequence(caps, "frequency_caps",
                                   "[{name: daily, limit: 1, window: 24h, max_deferral: 24h}]")
        if sequence is not None:
            settings["frequency_caps"] = tuple(
                cap for cap in (_cap(reader, item) for item in sequence.items) if cap)
    return settings


def _choices(reader: NodeReader, node: YamlNode, what: str,
             options: tuple[str, ...]) -> list[str] | None:
    sequence = reader.sequence(node, what, f"[{options[0]}]")
    if sequence is None:
        return None
    return [value for item in sequence.items
            if (value := reader.choice(item, what, options)) is not None]


def _clock(reader: NodeReader, node: YamlNode | None, what: str) -> time | None:
    text = reader.text(node, what, '"08:00"')
    if text is None or node is None:
        return None
    match = CLOCK.match(text)
    if not match:
        reader.report(node.position, f"{what}: {text!r} is not a time of day like \"08:00\"")
        return None
    return time(int(match.group(1)), int(match.group(2)))


def _cap(reader: NodeReader, node: YamlNode) -> FrequencyCap | None:
    cap = reader.mapping(node, "a frequency cap",
                         allowed=("name", "limit", "window", "max_deferral"),
                         required=("name", "limit", "window", "max_deferral"),
                         example="{name: weekly, limit: 3, window: 7d, max_deferral: 24h}")
    if cap is None:
        return None
    name = reader.word(cap.value("name"), "cap name", "weekly")
    limit_text = reader.text(cap.value("limit"), "cap limit", "3", kind="a whole number")
    window = reader.duration(cap.value("window"), "cap window")
    deferral = reader.duration(cap.value("max_deferral"), "cap max_deferral")
    limit_node = cap.value("limit")
    if limit_text is not None and not limit_text.isdigit() and limit_node is not None:
        reader.report(limit_node.position, f"cap limit: {limit_text!r} is not a whole number")
        return None
    if None in (name, limit_text, window, deferral):
        return None
    try:
        return FrequencyCap(name=name, limit=int(limit_text), window=window,
                            max_deferral=deferral)
    except PolicyInputError as error:
        reader.report(cap.position, str(error))
        return None


def _problem(file: str, position: Position, message: str):
    from orchestrator.campaigns.language.problems import Problem
    return Problem(file, position.line, position.col, message)
