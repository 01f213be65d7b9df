"""``GET`` and ``POST /unsubscribe/TOKEN``: RFC 8058 one-click unsubscribe.

POST (a mail client's ``List-Unsubscribe=One-Click``, or the page's button) records
``message.unsubscribed`` for the token's message at once; the suppression rules then stop
email to that contact. GET only shows a page with the button: link scanners and
prefetchers follow GET links, and must never unsubscribe anyone. A token that is not ours,
or names a message this store never scheduled, gets 404 and nothing is recorded.
"""

from __future__ import annotations

import html

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from orchestrator.domain.unsubscribe_tokens import message_of
from orchestrator.service.context import Service

# The token is a credential for one action: keep it out of caches and Referer headers.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'",
}
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;
padding:0 1rem;line-height:1.5}}button{{font-size:1rem;padding:.6rem 1.2rem}}</style>
</head><body><h1>{title}</h1>{body}</body></html>
"""


def routes(service: Service) -> list[Route]:
    secret = service.settings.link_secret
    brand = html.escape(service.settings.brand_name)

    async def unsubscribe(request: Request) -> Response:
        message = message_of(request.path_params["token"], secret)
        if message is None or not await run_in_threadpool(service.receiving.is_our_message,
                                                          message):
            return _page("Link not valid", "<p>This unsubscribe link is not valid. If you "
                         "copied it, check that it is complete.</p>", 404)
        if request.method != "POST":
            return _page(f"Unsubscribe from {brand}", (
                f"<p>Stop receiving emails from {brand}?</p>"
                '<form method="post">'
                '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
                '<button type="submit">Unsubscribe</button></form>'))
        await request.body()  # read (within the size limit); the token is what counts
        receipt = await run_in_threadpool(service.receiving.unsubscribe, message)
        if receipt is None:
            return _page("Link not valid", "<p>This unsubscribe link is not valid.</p>", 404)
        service.metrics.received("unsubscribe", receipt)
        return _page("You are unsubscribed", f"<p>You will receive no more emails from "
                     f"{brand}.</p>")

    return [Route("/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"])]


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(title=title, body=body), status_code=status,
                        headers=PAGE_HEADERS)
