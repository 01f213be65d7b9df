"""Use case: ``orchestrator preview TEMPLATE --contact C``, what that contact would get on
each channel the template has.

Each channel's message is composed by :mod:`orchestrator.application.composing`, the very
code the dispatcher sends with: the same renderer and sandbox and limits, the same
context (the contact as the store knows them now, the brand, the postal address, an
unsubscribe link of the real shape), the email footer every email adapter adds. With
``journey``, the templates are those pinned in that journey's latest version, as its
messages render; otherwise the templates folder as it is now.

The store is opened read-only and nothing is recorded: a preview is not a message. Only
``send_test`` (``--send-to``) writes: the one test message it sent, as a
``TestMessageSent`` that nothing counts as a message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import uuid4, uuid5

from orchestrator.application.composing import (
    Composition,
    DispatchSettings,
    compose,
    contact_context,
    recipient_address,
)
from orchestrator.application.stores import store_of
from orchestrator.application.tail import finish_write
from orchestrator.campaigns.runtime.versions import VersionRenderers, published_versions
from orchestrator.channels.capabilities import CAPABILITIES
from orchestrator.channels.email_message import with_html_footer, with_text_footer
from orchestrator.channels.errors import MessageInvalid, PermanentRejection, TransientFailure
from orchestrator.channels.message import E164, EMAIL_ADDRESS
from orchestrator.domain.journey_events import TestMessageSent
from orchestrator.domain.new_fact import NewFact
from orchestrator.domain.sms_segments import MAX_SEGMENTS, sms_segments
from orchestrator.domain.subjects import NAMESPACE, stream_of_test_message
from orchestrator.errors import CheckFailed, OrchestratorError, UsageError
from orchestrator.rendering import TemplateError, TemplateRenderer
from orchestrator.rendering.layout import CHANNEL_LAYOUTS, PUBLIC_CHANNELS, TEMPLATE_FILES
from orchestrator.store import Store
from orchestrator.store.reader import contact_state

__all__ = ["ChannelPreview", "Preview", "RenderRefused", "SentTest", "preview",
           "preview_message_id", "send_test", "write_preview"]

# The order channels are shown in: the policy's preference for private ones, then public.
CHANNEL_ORDER = tuple(CHANNEL_LAYOUTS)


class RenderRefused(OrchestratorError):
    """The template fails for this contact as a real send would fail on it (the message
    would be recorded as failed): a template to fix, so exit code 2."""

    exit_code = 2


@dataclass(frozen=True)
class ChannelPreview:
    """One channel's message as the contact would get it. ``warnings`` say why a real
    send on this channel would not reach them although the template renders."""

    channel: str
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    warnings: tuple[str, ...] = ()
    # What the dispatcher would hand to the channel (before its email footer).
    composition: Composition | None = field(default=None, repr=False, compare=False)

    @property
    def segments(self) -> Any:
        return sms_segments(self.text or "") if self.channel == "sms" else None

    def parts(self) -> dict[str, str]:
        """Template file name -> what it rendered to, for the parts this message has."""
        layout = CHANNEL_LAYOUTS[self.channel].parts()
        values = {"subject": self.subject, "text": self.text, "html": self.html}
        return {file: values[part] for part, file in layout.items()
                if values[part] is not None}

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {part: getattr(self, part) for part in
                                 CHANNEL_LAYOUTS[self.channel].parts()}
        if self.channel == "sms":
            segments = self.segments
            shown.update(segments=segments.count, encoding=segments.encoding,
                         characters=len(self.text or ""))
        shown["warnings"] = list(self.warnings)
        return shown


@dataclass(frozen=True)
class Preview:
    template: str
    contact: str
    as_of: datetime
    message_id: str
    journey: str | None = None
    version: int | None = None
    channels: dict[str, ChannelPreview] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"template": self.template, "contact": self.contact,
                "as_of": self.as_of.isoformat(), "journey": self.journey,
                "version": self.version, "message_id": self.message_id,
                "channels": {name: shown.as_json() for name, shown in self.channels.items()},
                "notes": list(self.notes)}


def preview_message_id(template: str, contact: str) -> str:
    """The id a preview renders with (its unsubscribe link is made for it): stable for the
    same template and contact, and never one a journey gives (those start ``msg-``), so
    ``serve`` answers its link as not one of our messages."""
    return "preview-" + uuid5(NAMESPACE, f"preview:{template}:{contact}").hex[:24]


def preview(app: Any, template: str, contact: str, *, channel: str | None = None,
            journey: str | None = None, message_id: str | None = None) -> Preview:
    """What ``contact`` would get from ``template`` (on ``channel`` only, if given)."""
    from orchestrator.application.running import dispatch_settings
    now = app.now()
    with store_of(app, read_only=True) as store:
        renderer, version, notes = _renderer(store, app.settings.templates_dir, template,
                                             journey)
        channels = _channels(renderer, template, channel, app.settings.templates_dir)
        state = contact_state(store, contact, now)
        if state is None:
            raise UsageError(f"no history for contact {contact!r}: nothing to preview "
                             "(check the key, or ingest the contact first)")
        person = contact_context(state)
        settings = dispatch_settings(app)
        message = message_id or preview_message_id(template, contact)
        shown = {name: _channel_preview(renderer, settings, template, name, message,
                                        contact, person) for name in channels}
    if state.erased:
        notes = (*notes, f"contact {contact} was erased: their personal data is gone, "
                         "so the template's defaults show")
    return Preview(template, contact, now, message, journey, version, shown, notes)


def _renderer(store: Store, templates_dir: str, template: str, journey: str | None
              ) -> tuple[TemplateRenderer, int | None, tuple[str, ...]]:
    """The renderer a message of ``journey`` would render with (the dispatcher's own),
    or the templates folder as it is now."""
    renderers = VersionRenderers(store, templates_dir)
    if journey is None:
        return renderers, None, ()
    versions = [v for v in published_versions(store) if v.id == journey]
    if not versions:
        raise UsageError(f"--journey: no journey {journey!r} is published")
    latest = versions[-1]
    if latest.templates is None:
        return renderers, latest.version, (
            f"journey {journey} version {latest.version} was published before templates "
            "were pinned: its messages render from the templates folder, as here",)
    used = sorted({file.split("/", 1)[0] for file in latest.templates})
    if template not in used:
        raise UsageError(f"--journey: journey {journey} version {latest.version} does not "
                         f"use template {template!r} (it pins {', '.join(used) or 'none'})")
    return renderers.for_version(journey, latest.version), latest.version, ()


def _channels(renderer: TemplateRenderer, template: str, channel: str | None,
              templates_dir: str) -> list[str]:
    has = renderer.channels(template)
    if not has:
        raise UsageError(f"no template {template!r} in {templates_dir} (a folder "
                         f"{templates_dir}/{template}/ with email.txt, email.html, sms.txt, "
                         "letter.html or social.txt)")
    if channel is None:
        return [name for name in CHANNEL_ORDER if name in has]
    if channel not in has:
        wanted = " or ".join(CHANNEL_LAYOUTS[channel].body_files)
        raise UsageError(f"--channel {channel}: template {template!r} has no {wanted} "
                         f"(it has {', '.join(n for n in CHANNEL_ORDER if n in has)})")
    return [channel]


def _channel_preview(renderer: TemplateRenderer, settings: DispatchSettings, template: str,
                     channel: str, message: str, contact: str,
                     person: Mapping[str, Any]) -> ChannelPreview:
    try:
        composition = compose(renderer, settings, template=template, channel=channel,
                              message_id=message, contact=person)
    except TemplateError as error:
        raise RenderRefused(f"{channel}: a real send of {template!r} to {contact} would "
                            f"fail here: {error}") from None
    rendered = composition.rendered
    warnings = _warnings(composition, channel, contact, person)
    if channel == "email":
        # What every email adapter adds (channels.email_message), so shown here too.
        address = composition.sender_postal_address or ""
        return ChannelPreview(
            channel, subject=rendered.subject,
            text=rendered.text and with_text_footer(rendered.text, address,
                                                    composition.unsubscribe_url),
            html=rendered.html and with_html_footer(rendered.html, address,
                                                    composition.unsubscribe_url),
            warnings=warnings, composition=composition)
    return ChannelPreview(channel, subject=rendered.subject, text=rendered.text,
                          html=rendered.html, warnings=warnings, composition=composition)


def _warnings(composition: Composition, channel: str, contact: str,
              person: Mapping[str, Any]) -> tuple[str, ...]:
    """Why a real send on ``channel`` would be refused before any provider saw it: the
    channel's own checks (the ones every adapter of that kind makes), on the message the
    dispatcher would build."""
    found = []
    if channel == "sms":
        segments = sms_segments(composition.rendered.text or "")
        if segments.count > MAX_SEGMENTS:
            found.append(f"{segments.count} segments ({segments.encoding}): the SMS "
                         f"channel refuses more than {MAX_SEGMENTS}")
    public = channel in PUBLIC_CHANNELS
    to = None if public else recipient_address(channel, person)
    if not public and not (person.get("address") if channel == "mail" else to):
        found.append(f"contact {contact} has no {_address_word(channel)}: a real send "
                     f"could not go on {channel}")
        return tuple(found)
    try:
        message = composition.outbound(to_address=to, contact_key=None if public else contact,
                                       metadata={})
        CAPABILITIES[channel]().check_message(message)
    except MessageInvalid as refusal:
        found.append(f"the {channel} channel would refuse it: {refusal}")
    return tuple(dict.fromkeys(found))


def _address_word(channel: str) -> str:
    return {"email": "email address", "sms": "phone number",
            "mail": "postal address"}[channel]


PREVIEW_FILE = "preview.json"


def write_preview(shown: Preview, folder: str | Path) -> list[Path]:
    """Each channel's parts into ``folder``, one file a part named as in a template folder
    (``email.subject.txt``, ``email.txt``, ``email.html``, ``sms.txt``, ``letter.html``,
    ``social.txt``), plus ``preview.json`` (segments, warnings, notes). Files of those names
    this preview did not produce are removed, so the folder never shows a stale part."""
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--out {folder}: cannot create the folder: "
                         f"{error.strerror or error}") from None
    contents = {file: text for channel in shown.channels.values()
                for file, text in channel.parts().items()}
    contents[PREVIEW_FILE] = json.dumps(shown.as_json(), indent=2, ensure_ascii=False) + "\n"
    written = []
    try:
        for file in TEMPLATE_FILES:
            if file not in contents:
                (out / file).unlink(missing_ok=True)
        for file, text in contents.items():
            path = out / file
            partial = path.with_name(f".{file}.partial")
            partial.write_text(text, encoding="utf-8")
            partial.replace(path)  # whole or not at all
            written.append(path)
    except OSError as error:
        raise UsageError(f"--out {folder}: cannot write: {error.strerror or error}") from None
    return written


@dataclass(frozen=True)
class SentTest:
    """``preview --send-to``: what was sent, where, and the fact recording it."""

    preview: Preview
    channel: str
    sent_to: str
    provider_id: str
    position: int

    def as_json(self) -> dict[str, Any]:
        return {**self.preview.as_json(), "test_message": {
            "id": self.preview.message_id, "channel": self.channel, "sent_to": self.sent_to,
            "provider_id": self.provider_id, "position": self.position}}


# What configures each channel a test message can go on (SPEC "Configuration of live
# channels"), for the refusal when it is not.
_CONFIGURED_BY = {
    "email": "SENDGRID_API_KEY (or ORCHESTRATOR_SMTP_URL) and ORCHESTRATOR_EMAIL_FROM",
    "sms": "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM (or "
           "TWILIO_MESSAGING_SERVICE_SID)",
}


def send_test(app: Any, template: str, contact: str, address: str, *,
              channel: str | None = None, journey: str | None = None) -> SentTest:
    """Render ``template`` for ``contact`` as :func:`preview` does and send it once,
    through the live channel for ``address`` (email for an address with ``@``, sms for
    an E.164 number), to ``address``, not to the contact. Recorded as ``TestMessageSent``
    once the provider accepted it; a refusal or a failure records nothing (exit 1)."""
    from orchestrator.application.running import close_all
    kind = _address_channel(address)
    if channel is not None and channel != kind:
        raise UsageError(f"--send-to: {address!r} is an address for {kind}, not {channel}")
    if kind not in app.settings.channels_in_force:
        raise UsageError(f"--send-to: live {kind} is not configured; set "
                         f"{_CONFIGURED_BY[kind]}")
    message = "test-" + uuid4().hex[:24]
    shown = preview(app, template, contact, channel=kind, journey=journey,
                    message_id=message)
    composition = shown.channels[kind].composition
    assert composition is not None
    try:
        outbound = composition.outbound(to_address=address, contact_key=None, metadata={
            "template": template, "journey": journey, "test": True})
    except MessageInvalid as refusal:
        raise UsageError(f"--send-to: {refusal}") from None
    now = app.now()
    adapters = app.channel_adapters(lambda: now)
    try:
        result = adapters[kind].send(outbound)
    except (PermanentRejection, TransientFailure) as failure:
        # Not sent (as far as we know): nothing to record. A timeout may still have
        # delivered it, which a test address can tell.
        raise CheckFailed(f"--send-to: the test message was not sent: {kind} answered "
                          f"{type(failure).__name__}: {failure}; nothing recorded") from None
    finally:
        close_all(adapters.values())
    with store_of(app) as store:
        with store.write() as unit:
            [position] = unit.append_facts([NewFact(
                stream_of_test_message(message), TestMessageSent, {
                    "message": message, "template": template,
                    "template_digest": composition.rendered.template_digest,
                    "contact": contact, "journey": shown.journey, "version": shown.version,
                    "channel": kind, "provider_id": result.provider_id, "sent_to": address,
                    "sent_by": app.settings.actor, "at": now.isoformat()})],
                recorded_at=now)
        finish_write(app, store)
    return SentTest(shown, kind, address, result.provider_id, position)


def _address_channel(address: str) -> str:
    if EMAIL_ADDRESS.fullmatch(address):
        return "email"
    if E164.fullmatch(address):
        return "sms"
    raise UsageError(f"--send-to: {address!r} is neither an email address nor a phone "
                     "number in E.164 form such as +447700900123")
