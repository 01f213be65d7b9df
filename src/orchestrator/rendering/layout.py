"""Which file of a template folder fills which part of a message, per channel (SPEC
"Templates"): ``DIR/NAME/`` holds any of these files; a channel can carry the message
only if one of its body files exists."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHANNEL_LAYOUTS", "PUBLIC_CHANNELS", "ChannelLayout"]


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

# Rendered for anyone to read: no contact data goes in.
PUBLIC_CHANNELS = frozenset({"social"})
