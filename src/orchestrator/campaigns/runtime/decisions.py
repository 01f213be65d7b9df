"""From the history to the channel policy's inputs, and its decisions back to facts.

The policy (``orchestrator.domain.policy``) is pure; this module builds its arguments from
what the engine knows at the moment of the decision: the contact's consents and
suppressions as of then, its recent marketing sends (for the caps), the mention being
replied to, and which channels the message's template can use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestrator.campaigns.language.journey import TouchpointTrigger
from orchestrator.campaigns.runtime.packed import PackedSections
from orchestrator.domain import events as ev
from orchestrator.domain import journey_events as je
from orchestrator.domain.builtin_replies import BUILTIN_TEMPLATE_CHANNELS, SMS_HELP_TEMPLATE
from orchestrator.domain.contact import ContactState
from orchestrator.domain.policy import (
    ChannelCapabilities,
    ConsentFact,
    ContactFacts,
    Decision,
    MentionFacts,
    PolicyConfig,
    SendRequest,
    SuppressionFact,
    decide,
)
from orchestrator.domain.stages import StageThresholds
from orchestrator.domain.vocabulary import CHANNELS, MARKETING_INTENTS, PUBLIC_INTENTS
from orchestrator.rendering import TemplateError, TemplateRenderer
from orchestrator.rendering.catalog import TemplateCatalog
from orchestrator.rendering.layout import CHANNEL_FILES


@dataclass
class PolicyMemory(PackedSections):
    """What the policy needs beyond a contact's own facts, kept as the clock passes."""

    sends: dict[str, list[tuple[str, datetime]]] = field(default_factory=lambda: defaultdict(
        list))
    channel_of: dict[str, str] = field(default_factory=dict)
    scheduled: dict[str, je.MessageScheduled] = field(default_factory=dict)
    mentions: dict[str, MentionFacts] = field(default_factory=dict)
    undecided: dict[str, datetime] = field(default_factory=dict)  # message -> decide at
    unsent: set[str] = field(default_factory=set)  # chosen, not yet sent
    released: dict[str, str] = field(default_factory=dict)  # held message -> reviewer
    held: set[str] = field(default_factory=set)  # waiting for a reviewer

    # Settled messages that ``forget_settled`` dropped are looked up here instead (the
    # message's own stream in the store: see ``runner.settled_message_lookup``). Not
    # annotated, so not a dataclass field: it is not part of a snapshot.
    look_up = None  # Callable[[str], tuple[contact, channel] | None] | None

    def addressee(self, message: str | None) -> tuple[str | None, str | None] | None:
        """Whom ``message`` was for and the channel last chosen for it (None: no such
        message)."""
        if not message:
            return None
        scheduled = self.scheduled.get(message)
        if scheduled is not None:
            return scheduled.contact, self.channel_of.get(message)
        look_up: Callable[[str], Any] | None = self.look_up
        return look_up(message) if look_up is not None else None

    def settled(self, message: str) -> bool:
        """Nothing more will be decided or sent for it: its last decision was a
        suppression, or a channel it has since been sent on or failed on for good."""
        return message not in self.undecided and message not in self.unsent and (
            message not in self.held)

    def forget_settled(self, messages: Iterable[str], sends_after: datetime,
                       mentions_kept: set[str]) -> None:
        """Drop what only settled messages needed: each of ``messages`` (settled),
        marketing sends too old for any cap to count at or after ``sends_after``, and the
        mentions no message still held in memory answers (but those in
        ``mentions_kept``)."""
        for message in messages:
            del self.scheduled[message]
            self.channel_of.pop(message, None)
            self.released.pop(message, None)
        for contact in list(self.sends):
            recent = [send for send in self.sends[contact] if send[1] > sends_after]
            if recent:
                self.sends[contact] = recent
            else:
                del self.sends[contact]
        answered = mentions_kept | {s.trigger for s in self.scheduled.values()}
        for touchpoint in [t for t in self.mentions if t not in answered]:
            del self.mentions[touchpoint]

    def remember(self, event: Any) -> None:
        """Fold one recorded fact in (used when restoring, and as a run records)."""
        if isinstance(event, je.MessageScheduled):
            self.scheduled[event.message] = event
            self.undecided[event.message] = datetime.fromisoformat(event.at)
        elif isinstance(event, je.MessageDecided):
            self.undecided.pop(event.message, None)
            if isinstance(event, je.ReviewRequested):
                self.held.add(event.message)
            else:
                self.held.discard(event.message)
            if isinstance(event, je.MessageDeferred) and event.not_before:
                self.undecided[event.message] = datetime.fromisoformat(event.not_before)
            if isinstance(event, je.ChannelChosen):
                self.unsent.add(event.message)
                self.channel_of[event.message] = event.channel
                scheduled = self.scheduled.get(event.message)
                if scheduled and scheduled.contact and scheduled.intent in MARKETING_INTENTS:
                    self.sends[scheduled.contact].append(
                        (event.channel, datetime.fromisoformat(event.at)))
        elif isinstance(event, je.MessageSent | je.MessageFailed):
            self.unsent.discard(event.message)
        elif isinstance(event, je.ReviewApproved):
            self.released[event.message] = event.actor
        elif isinstance(event, ev.SocialMentionReceived):
            self.mentions[event.touchpoint_id] = MentionFacts(
                network=event.network, stance=event.stance, author_kind=event.author_kind)


# The classes a PolicyMemory remembers, for reading them back from the log.
REMEMBERED = (je.MessageScheduled, *je.DECISION_CLASSES.values(), je.MessageSent,
              je.MessageFailed, je.ReviewApproved, ev.SocialMentionReceived)


class PolicyDesk:
    """Asks the policy about one message at one moment."""

    def __init__(self, templates: TemplateCatalog, thresholds: StageThresholds,
                 config: PolicyConfig | None = None,
                 live: frozenset[str] = CHANNELS, renderer: TemplateRenderer | None = None,
                 pinned: Mapping[tuple[str, int], Mapping[str, str]] | None = None):
        self.templates = templates
        # (journey, version) -> its pinned ``NAME/FILE`` texts: a version renders from
        # those, so the channels its templates have are those files, not today's folder.
        self.pinned = pinned or {}
        self.thresholds = thresholds
        self.config = config or PolicyConfig()
        self.live = live
        self.renderer = renderer or TemplateRenderer(templates.directory)
        self._contact_data: dict[tuple[str | None, int | None, str], bool] = {}

    def carries_contact_data(self, message: je.MessageScheduled) -> bool:
        """Whether the public rendering of the message reads contact data (asked once per
        template for the desk's life: a run). A template that cannot be read is left to
        fail when it is rendered, with its own reason."""
        if message.intent not in PUBLIC_INTENTS:
            return False
        # Judged on the text the message renders from: its version's pinned files
        # (refused at publish if they read contact data; checked again here all the
        # same), or the folder for versions published before pinning.
        pinned = self.pinned.get((message.journey, message.version))
        key = (message.journey, message.version, message.template) if pinned else (
            None, None, message.template)
        known = self._contact_data.get(key)
        if known is None:
            known = self._contact_data[key] = self._reads_contact(message, pinned)
        return known

    def _reads_contact(self, message: je.MessageScheduled,
                       pinned: Mapping[str, str] | None) -> bool:
        if "social" not in self.template_channels(message):
            return False
        renderer = (TemplateRenderer(self.templates.directory, pinned=pinned)
                    if pinned else self.renderer)
        try:
            return renderer.uses_contact(message.template, "social")
        except TemplateError:
            return False

    def decide(self, message: je.MessageScheduled, state: ContactState | None,
               memory: PolicyMemory, is_reply_to_mention: bool, now: datetime) -> Decision:
        request = SendRequest(
            message_id=message.message, intent=message.intent, audience=message.audience,
            journey_id=message.journey, journey_version=message.version, step_id=message.step,
            is_reply_to_mention=is_reply_to_mention,
            carries_contact_data=self.carries_contact_data(message),
            released_by=memory.released.get(message.message),
            answers_request_on="sms" if message.template == SMS_HELP_TEMPLATE else None)
        mention = memory.mentions.get(message.trigger) if is_reply_to_mention else None
        if is_reply_to_mention and mention is None:
            mention = MentionFacts(network="unknown")
        capabilities = ChannelCapabilities(
            with_template=BUILTIN_TEMPLATE_CHANNELS.get(message.template)
            or self.template_channels(message),
            live=self.live, addressable=_addressable(state))
        facts = self.contact_facts(message.contact, state, memory, now)
        return decide(request, facts, mention, capabilities, self.config, now)

    def template_channels(self, message: je.MessageScheduled) -> frozenset[str]:
        """The channels the message's template has a file for: in its journey version's
        pinned templates, or (versions published before pinning) in the folder."""
        pinned = self.pinned.get((message.journey, message.version))
        if pinned is None:
            return frozenset(self.templates.channels(message.template))
        prefix = f"{message.template}/"
        files = {key[len(prefix):] for key in pinned if key.startswith(prefix)}
        return frozenset(channel for channel, needed in CHANNEL_FILES.items()
                         if files.intersection(needed))

    def contact_facts(self, key: str | None, state: ContactState | None, memory: PolicyMemory,
                      now: datetime) -> ContactFacts | None:
        if key is None or state is None or (not state.known and not state.purchases):
            return None
        consents = {
            (c.channel, c.purpose): ConsentFact(granted=c.granted,
                                                at=datetime.fromisoformat(c.at),
                                                source=c.source, event_ref=c.touchpoint)
            for c in state.consents.values()}
        suppressions = {
            s.channel: SuppressionFact(reason=s.reason, at=datetime.fromisoformat(s.at),
                                       event_ref=s.touchpoint)
            for s in state.suppressions.values() if s.reason != "erased"}
        return ContactFacts(
            contact_id=key, kind=state.kind if state.known else "unknown",
            stage=state.stage(now, self.thresholds),
            has_verified_identity=bool(state.identities), consents=consents,
            suppressions=suppressions, timezone=state.timezone, erased=state.erased,
            recent_marketing_sends=tuple(memory.sends.get(key, ())))


def replies_to_mention(version: Any) -> bool:
    """A journey started by a social mention answers it: its public sends are replies."""
    if version is None:  # a built-in reply, not a journey's
        return False
    trigger = version.journey.trigger
    return isinstance(trigger, TouchpointTrigger) and trigger.on == "social.mention"


def _addressable(state: ContactState | None) -> frozenset[str]:
    if state is None:
        return frozenset()
    present = {"email": state.email, "sms": state.phone, "mail": state.address}
    return frozenset(channel for channel, value in present.items() if value is not None)


def decision_event_fields(scheduled: je.MessageScheduled, decision: Decision,
                          now: datetime, released_by: str | None = None) -> dict[str, Any]:
    """The decision as a fact: rule, reason, and the facts it used, plus which journey
    version and step asked, so the decision reads on its own."""
    payload = decision.as_payload()
    facts = {**payload["facts"], "journey": scheduled.journey,
             "journey_version": scheduled.version, "step": scheduled.step}
    if released_by:
        facts["released_by"] = released_by
    return {"message": scheduled.message, "status": payload["status"],
            "channel": payload["channel"], "rule": payload["rule"],
            "reason": payload["reason"], "facts": facts,
            "not_before": payload["not_before"], "at": now.isoformat()}
