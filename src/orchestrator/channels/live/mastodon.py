"""Public posts and replies on Mastodon with Mastodon.py, and the mentions to read back.

Posting uses the message's idempotency key as Mastodon's ``Idempotency-Key`` header (the
server keeps it an hour), so a retry after a timeout does not post twice.

Mastodon.py 2.3 sends a plain status as form data (JSON only with a poll or media
attributes) and has no switch for it. The API documents JSON and accepts both; the
validating mock (and so our tests) takes only JSON. The client is therefore given a
``requests.Session`` (its documented ``session=`` hook) that sends a POST's form fields
as the equivalent JSON object. The status is posted with only string fields (``sensitive``
is left to the server's default), so the re-encoding needs no guessing of types.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, ClassVar

import requests
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonRatelimitError,
)

from orchestrator.channels.capabilities import SocialCapabilities
from orchestrator.channels.errors import ChannelConfigurationError, ChannelError
from orchestrator.channels.live.http_failures import (
    retry_after_seconds,
    scrub,
    transport_failure,
)
from orchestrator.channels.live.retry_tables import MASTODON, Transport
from orchestrator.channels.live.sent_once import SentOnce
from orchestrator.channels.message import OutboundMessage, SendResult

__all__ = ["MastodonChannel", "MastodonMentions", "Mention"]

logger = logging.getLogger(__name__)

# Mastodon returns at most 80 notifications a page; catching up reads a few pages.
_PAGE = 80
_MAX_PAGES = 10


class _JsonSession(requests.Session):
    """Sends a POST's form fields as JSON (``key[]`` lists become ``key``), and keeps
    each thread's last response headers: Mastodon.py's rate-limit error drops them."""

    def __init__(self) -> None:
        super().__init__()
        self._last = threading.local()

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        self._last.headers = None
        data = kwargs.get("data")
        if (str(method).upper() == "POST" and isinstance(data, Mapping)
                and not kwargs.get("files") and kwargs.get("json") is None):
            kwargs["data"] = None
            kwargs["json"] = {str(key).removesuffix("[]"): value for key, value in data.items()}
        response = super().request(method, url, *args, **kwargs)
        self._last.headers = response.headers
        return response

    def last_headers(self) -> Any:
        return getattr(self._last, "headers", None)


class _MastodonClient:
    """Mastodon.py set up the same way for posting and reading, with its errors read
    through the Mastodon retry table."""

    def __init__(self, base_url: str, access_token: str, timeout: float):
        if not base_url or not isinstance(base_url, str):
            raise ChannelConfigurationError("Mastodon needs a base URL (MASTODON_BASE_URL)")
        if not access_token or not isinstance(access_token, str):
            raise ChannelConfigurationError(
                "Mastodon needs an access token (MASTODON_ACCESS_TOKEN)")
        if timeout <= 0:
            raise ChannelConfigurationError("the Mastodon timeout must be positive")
        self.base_url = base_url.rstrip("/")
        self._token = access_token  # kept only to scrub it from any text we repeat
        self._session = _JsonSession()
        # "throw": Mastodon.py would otherwise sleep inside the call until the limit
        # resets; the dispatcher decides when to retry. "none": no /api/v1/instance call.
        self.api = Mastodon(access_token=access_token, api_base_url=self.base_url,
                            request_timeout=timeout, ratelimit_method="throw",
                            version_check_mode="none", session=self._session)

    def close(self) -> None:
        self._session.close()

    def error(self, exc: MastodonError) -> ChannelError:
        if isinstance(exc, MastodonRatelimitError):
            return MASTODON.error("HTTP 429", status=429,
                                  retry_after=retry_after_seconds(self._session.last_headers()))
        if isinstance(exc, MastodonNetworkError):
            kind = transport_failure(exc) or Transport.DROPPED
            return MASTODON.error(f"no answer ({kind.value})", transport=kind)
        if isinstance(exc, MastodonAPIError) and len(exc.args) >= 4 and isinstance(
                exc.args[1], int):
            status, reason = exc.args[1], exc.args[3] or exc.args[2]
            detail = f"HTTP {status}" + (f": {scrub(str(reason), self._token)[:300]}"
                                         if reason else "")
            return MASTODON.error(detail, status=status,
                                  retry_after=retry_after_seconds(self._session.last_headers()))
        return MASTODON.error(f"{type(exc).__name__}: {scrub(str(exc), self._token)[:300]}")


class MastodonChannel(SocialCapabilities):
    provider: ClassVar[str] = "mastodon"

    def __init__(self, base_url: str, access_token: str, *, timeout: float = 10.0):
        self._mastodon = _MastodonClient(base_url, access_token, timeout)
        self._sent = SentOnce()

    def __repr__(self) -> str:
        return f"MastodonChannel({self._mastodon.base_url!r})"

    def close(self) -> None:
        """Closes the kept-alive connections of the HTTP session."""
        self._mastodon.close()

    def send(self, message: OutboundMessage) -> SendResult:
        self.check_message(message)
        return self._sent.send(message.message_id, lambda: self._post(message))

    def _post(self, message: OutboundMessage) -> str:
        reply_to = message.in_reply_to.status_id if message.in_reply_to else None
        try:
            status = self._mastodon.api.status_post(
                message.text or "", in_reply_to_id=reply_to, visibility="public",
                idempotency_key=message.idempotency_key,
                sensitive=None)  # type: ignore[arg-type]  # None: leave it out (see above)
        except MastodonError as exc:
            raise self._mastodon.error(exc) from exc
        status_id = str(status["id"])
        logger.info("mastodon posted message %s as status %s", message.message_id, status_id)
        return status_id


@dataclass(frozen=True)
class Mention:
    """A public status that mentions our account. ``notification_id`` is the cursor to
    pass to :meth:`MastodonMentions.since` next time; ``account`` is the author's handle
    (``user`` on our server, ``user@server`` elsewhere); ``text`` is the content with
    the HTML taken out."""

    notification_id: str
    status_id: str
    account: str
    text: str
    created_at: datetime
    in_reply_to_id: str | None = None

    @property
    def touchpoint_id(self) -> str:
        """The id of the ``social.mention`` touchpoint it becomes."""
        return f"mastodon:{self.status_id}"


class MastodonMentions:
    """Reads the mentions of our account from its notifications."""

    def __init__(self, base_url: str, access_token: str, *, timeout: float = 10.0):
        self._mastodon = _MastodonClient(base_url, access_token, timeout)

    def close(self) -> None:
        self._mastodon.close()

    def since(self, since_id: str | None) -> list[Mention]:
        """Mentions newer than the notification ``since_id`` (all recent ones for None),
        oldest first. Pages forward with ``min_id`` so a backlog is read from its old
        end, never skipped; at most a few pages a call: call again with the last one's
        ``notification_id`` to read on."""
        mentions: list[Mention] = []
        cursor = since_id
        for _ in range(_MAX_PAGES):
            try:
                page = self._mastodon.api.notifications(types=["mention"], min_id=cursor,
                                                        limit=_PAGE)
            except MastodonError as exc:
                raise self._mastodon.error(exc) from exc
            fresh = sorted((m for m in map(_mention, page) if m is not None
                            and _newer(m.notification_id, cursor)),
                           key=lambda m: _id_order(m.notification_id))
            mentions.extend(fresh)
            if len(page) < _PAGE or not fresh:
                break
            cursor = fresh[-1].notification_id
        return mentions


def _mention(notification: Any) -> Mention | None:
    status = notification.get("status")
    if notification.get("type") != "mention" or not status:
        return None
    account = status.get("account") or notification.get("account") or {}
    created = status.get("created_at") or notification.get("created_at")
    if isinstance(created, str):
        created = datetime.fromisoformat(created.replace("Z", "+00:00"))
    created = created.astimezone(UTC)  # Mastodon.py hands back local times
    reply_to = status.get("in_reply_to_id")
    return Mention(notification_id=str(notification["id"]), status_id=str(status["id"]),
                   account=str(account.get("acct") or account.get("username") or ""),
                   text=plain_text(status.get("content") or ""), created_at=created,
                   in_reply_to_id=None if reply_to is None else str(reply_to))


def _id_order(value: str) -> tuple[int, int | str]:
    # Mastodon ids are numbers in strings; compare them as numbers when they are.
    return (0, int(value)) if value.isdigit() else (1, value)


def _newer(value: str, cursor: str | None) -> bool:
    return cursor is None or _id_order(value) > _id_order(cursor)


def plain_text(html: str) -> str:
    """A status's HTML as text: paragraphs and line breaks kept, tags dropped."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    lines = "".join(parser.parts).split("\n")
    return "\n".join(line.strip() for line in lines).strip()


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
