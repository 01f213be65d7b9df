"""Which file of a template folder fills which part of a message, per channel (SPEC
"Templates"): ``DIR/NAME/`` holds any of these files; a channel can carry the message
only if one of its body files exists."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.domain.vocabulary import PUBLIC_CHANNELS as VOCABULARY_PUBLIC_CHANNELS

__all__ = ["CHANNEL_FILES", "CHANNEL_LAYOUTS", "PUBLIC_CHANNELS", "TEMPLATE_FILES", "ChannelLayout"]


@dataclass(frozen=True)
class ChannelLayout:
    subject: str | None = None
    text: str | None = None
    html: str | None = None

    @property
    def body_files(self) -> tuple[str, ...]:
        return tuple(file for file in (self.text, self.html) if file)

    def parts(self) -> dict[str, str]:
        """Part (subject, text, html) -> file name, for the parts this channel has."""
        return {part: file for part, file in
                (("subject", self.subject), ("text", self.text), ("html", self.html)) if file}


CHANNEL_LAYOUTS = {
    "email": ChannelLayout(subject="email.subject.txt", text="email.txt", html="email.html"),
    "sms": ChannelLayout(text="sms.txt"),
    "mail": ChannelLayout(html="letter.html"),
    "social": ChannelLayout(text="social.txt"),
}

# Every file a template folder may hold, and the body files that let a channel carry a
# message (an email needs a body; its subject file alone is not enough).
TEMPLATE_FILES = ("email.subject.txt", "email.html", "email.txt", "sms.txt", "letter.html",
                  "social.txt")
CHANNEL_FILES = {channel: tuple(sorted(layout.body_files, key=TEMPLATE_FILES.index))
                 for channel, layout in CHANNEL_LAYOUTS.items()}

# Rendered for anyone to read: no contact data goes in.
PUBLIC_CHANNELS = frozenset(VOCABULARY_PUBLIC_CHANNELS)
