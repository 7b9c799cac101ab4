"""`GET /v1/analysis/report`: the collector's analysis as one HTML page (see genotel.report.analysis_page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from . import analysis, protocol
from .auth import AnyCaller, Caller
from .db import MAX_BIGINT

LicenceQuery = Annotated[int | None, Query(ge=1, le=MAX_BIGINT, description="operator only: restrict to one licence")]
MinSizeQuery = Annotated[int, Query(ge=0, le=MAX_BIGINT, description="only files of at least this many bytes on disk")]


def analysis_licence(caller: Caller, licence: int | None) -> int | None:
    """The licence whose records the caller may analyse: the operator any (None: all), a licence its own."""
    if caller.admin:
        return licence
    if licence not in (None, caller.licence):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a licence may only analyse its own records")
    return caller.licence


def add_report_route(app: FastAPI) -> None:
    """Add the HTML analysis page to the app."""

    @app.get(
        f"{protocol.API_PREFIX}/analysis/report",
        response_class=HTMLResponse,
        tags=["analysis"],
        responses={200: {"content": {"text/html": {}}, "description": "one self-contained HTML page"}},
    )
    async def analysis_report(
        caller: AnyCaller, licence: LicenceQuery = None, min_size: MinSizeQuery = 0
    ) -> HTMLResponse:
        """The analysis as an HTML page with plots (works offline: nothing is fetched)."""
        from genotel.report.analysis_page import analysis_page

        scope = analysis_licence(caller, licence)
        result = await run_in_threadpool(analysis.analyse_database, app.state.database, scope, min_size)
        page = await run_in_threadpool(lambda: analysis_page(result).render())
        return HTMLResponse(page)
