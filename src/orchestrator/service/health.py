"""``GET /healthz`` (the process is up and the store answers) and ``GET /metrics``."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orchestrator.service.context import Service


def routes(service: Service) -> list[Route]:
    async def healthz(request: Request) -> Response:
        if await run_in_threadpool(service.receiving.store_reachable):
            return JSONResponse({"status": "ok", "store": "reachable"})
        return JSONResponse({"status": "unavailable", "store": "unreachable"},
                            status_code=503)

    async def metrics(request: Request) -> Response:
        return Response(service.metrics.exposition(),
                        headers={"Content-Type": service.metrics.content_type})

    return [Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"])]
