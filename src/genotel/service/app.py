"""The collector's FastAPI app: `create_app(settings)` builds it, `genotel serve` runs it.

Endpoints (all under /v1; every one but the health check authenticated, see `auth.py`):
upload a record, read a licence's type, export and delete a licence's records, create a
licence (operator), and the analysis. The OpenAPI description at /openapi.json is generated
from these declarations, so it stays accurate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from genotel import __version__
from genotel.record import SCHEMA

from . import analysis, licences, protocol, records
from .analysis_report import LicenceQuery, MinSizeQuery, add_report_route, analysis_licence
from .auth import Admin, AnyCaller, LicenceNumber, Owner, Signed, document_security, replayed
from .db import Database
from .limits import BodySizeLimit
from .settings import Settings
from .validation import UploadedRecord
from .writer import Writer

log = logging.getLogger("genotel.service")
NDJSON = "application/x-ndjson"


class Health(BaseModel):
    status: str
    version: str
    schema_version: str | None


class UploadResult(BaseModel):
    record_id: str
    stored: bool = Field(description="true: stored now (201); false: already stored before (200)")


class LicenceInfo(BaseModel):
    licence: int
    type: str
    telemetry_mandatory: bool


class NewLicence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(pattern="^(" + "|".join(protocol.LICENCE_TYPES) + ")$")


class CreatedLicence(LicenceInfo):
    key: str


class Deleted(BaseModel):
    licence: int
    deleted: int


class FieldShare(BaseModel):
    field: str
    share: float = Field(description="mean % of the compressed size taken by this field")


class AnalysisGroup(BaseModel):
    data_type: str
    sequencer: str | None
    mapper: str | None
    variant_caller: str | None
    base_caller: str | None
    study: str | None = Field(description="the study type (`study=` feature); null for records without one")
    count: int
    median_genozip_gain: float | None
    vs_data_type_percent: float | None = Field(description="group median vs its data type's median, in %")
    top_fields: list[FieldShare]
    flagged: bool = Field(description="median gain more than 20 % below the data type's median")
    text_bytes: int = Field(description="the records' total text size")
    disk_bytes: int = Field(description="the records' total size on disk")
    weighted_genozip_gain: float | None = Field(description="total text size / total compressed size")
    weighted_vs_data_type_percent: float | None = Field(description="weighted gain vs the data type's, in %")
    share_of_data_type_bytes: float = Field(description="% of the data type's text bytes in this group")
    top_fields_by_bytes: list[FieldShare] = Field(description="fields by share of the group's compressed bytes")
    flagged_weighted: bool = Field(description="weighted gain more than 20 % below the data type's, on at least "
                                               "1 % of the data type's text bytes")  # fmt: skip


class DataTypeSummary(BaseModel):
    data_type: str
    count: int
    median_genozip_gain: float | None
    weighted_genozip_gain: float | None
    text_bytes: int


class Trend(BaseModel):
    data_type: str
    week: str = Field(description="the Monday of the week of the records' `created` times")
    count: int
    median_genozip_gain: float | None
    weighted_genozip_gain: float | None


class Analysis(BaseModel):
    scope: str
    records: int
    min_size: int = Field(description="only files of at least this many bytes on disk")
    flag_ratio: float
    data_types: list[DataTypeSummary]
    groups: list[AnalysisGroup]
    trends: list[Trend] = Field(description="per data type and week, when the records span more than a week")


def _schema_error(field: str, message: str) -> HTTPException:
    """A 422 in FastAPI's own validation-error shape, so clients parse one format."""
    return HTTPException(
        422,  # (a literal: the constant's name differs between Starlette versions)
        [{"loc": ["body", field], "msg": message, "type": "value_error"}],
    )


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped, so that a lone surrogate a client sent can be
    echoed back in an error (as `\\ud800`; UTF-8 cannot encode it), and NaN or infinity as text."""

    def render(self, content: Any) -> bytes:
        return json.dumps(_finite(content), ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own 422 answer, in ASCII JSON."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return AsciiJSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


def create_app(settings: Settings) -> FastAPI:
    """The collector app; its database is opened and upgraded when the app starts."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.database_url, settings.server_secret)
        app.state.database = database
        app.state.schema_version = await run_in_threadpool(database.upgrade)
        app.state.licences = licences.LicenceCache(database)
        app.state.writer = writer = Writer(database)
        writer.start()
        housekeeping = asyncio.create_task(_housekeeping(database, settings))
        try:
            yield
        finally:
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            await run_in_threadpool(writer.stop)
            database.dispose()

    app = FastAPI(
        title="genotel collector",
        version=__version__,
        description="Collects genotel telemetry records per licence. Requests are signed with the licence key "
        "(HMAC-SHA256, see docs/service.md) or carry the operator's bearer token.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    app.add_exception_handler(RequestValidationError, _validation_error)
    v1 = protocol.API_PREFIX

    @app.get(f"{v1}/health", response_model=Health, tags=["service"])
    def health() -> Health:
        """Unauthenticated liveness check: the collector runs and its schema is current."""
        return Health(status="ok", version=__version__, schema_version=app.state.schema_version)

    @app.post(
        f"{v1}/records",
        response_model=UploadResult,
        status_code=status.HTTP_201_CREATED,
        tags=["records"],
        responses={
            200: {"model": UploadResult, "description": "already stored (a retried upload)"},
            500: {"description": "the database failed to store this record (the other uploads are not affected)"},
        },
    )
    async def upload(record: UploadedRecord, response: Response, caller: Signed) -> UploadResult:
        """Store one record for the signing licence. Idempotent on the licence and `record_id`."""
        if caller.licence is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "records are uploaded by a licence, not the operator")
        if record.schema_ != SCHEMA:
            raise _schema_error("schema", f"unsupported record schema {record.schema_!r}; expected {SCHEMA!r}")
        if record.license_num not in (None, caller.licence):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "the record's license_num is not the signing licence")
        row = records.record_row(record.model_copy(update={"license_num": caller.licence}), caller.licence,
                                 int(time.time()))  # fmt: skip
        # The nonce and the record go into the same transaction (group commit, see writer.py).
        try:
            accepted, stored = await app.state.writer.submit(caller.licence, caller.nonce, caller.seen_at, row)
        except Exception:  # logged by the writer; an answer of our own keeps the connection open
            raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, "the record could not be stored") from None
        if not accepted:
            raise replayed()
        if not stored:
            response.status_code = status.HTTP_200_OK
        return UploadResult(record_id=record.record_id, stored=stored)

    @app.post(f"{v1}/licences", response_model=CreatedLicence, status_code=201, tags=["licences"])
    def create(new: NewLicence, _: Admin) -> CreatedLicence:
        """Operator: create a licence; the answer holds its secret key (shown only here)."""
        made = licences.create_licence(app.state.database, new.type)
        return CreatedLicence(key=made.key, **made.public())  # type: ignore[arg-type]

    @app.get(
        f"{v1}/licences/{{licence}}", response_model=LicenceInfo, tags=["licences"],
        responses={404: {"description": "no such licence (the operator asked)"}},
    )  # fmt: skip
    def licence_info(licence: LicenceNumber, _: Owner) -> LicenceInfo:
        """The licence's type and whether it must send telemetry (used by `genotel activate`)."""
        found = app.state.licences.get(licence)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no licence {licence}")
        return LicenceInfo(**found.public())

    @app.get(
        f"{v1}/licences/{{licence}}/records",
        response_class=StreamingResponse,
        tags=["records"],
        responses={200: {"content": {NDJSON: {"schema": {"type": "string"}}}, "description": "one record per line"}},
    )
    def export(licence: LicenceNumber, _: Owner) -> StreamingResponse:
        """Every record of the licence, as JSON lines, oldest first."""
        return StreamingResponse(records.export_records(app.state.database, licence), media_type=NDJSON)

    @app.delete(f"{v1}/licences/{{licence}}/records", response_model=Deleted, tags=["records"])
    def delete(licence: LicenceNumber, _: Owner) -> Deleted:
        """Delete every record of the licence."""
        return Deleted(licence=licence, deleted=records.delete_records(app.state.database, licence))

    @app.get(f"{v1}/analysis", response_model=Analysis, tags=["analysis"])
    def get_analysis(caller: AnyCaller, licence: LicenceQuery = None, min_size: MinSizeQuery = 0) -> dict[str, Any]:
        """Records grouped by data type, sequencer, mapper, variant and base caller; weak groups flagged.
        The operator sees every record; a licence sees its own records only."""
        return analysis.analyse_database(app.state.database, analysis_licence(caller, licence), min_size)

    add_report_route(app)

    document_security(app, open_paths={f"{v1}/health"})
    return app


async def _housekeeping(database: Database, settings: Settings) -> None:
    """Forget nonces past the replay window; purge records past retention (at start, then hourly)."""
    last_purge = 0.0
    while True:
        try:
            now = time.time()
            await run_in_threadpool(records.forget_nonces, database, int(now) - 2 * settings.replay_window_seconds)
            if now - last_purge >= 3600:
                purged = await run_in_threadpool(records.purge_expired, database, settings.retention_days)
                last_purge = now
                if purged:
                    log.warning("retention: purged %d records older than %d days", purged, settings.retention_days)
        except Exception:  # the database may be briefly unreachable; try again next round
            log.exception("housekeeping failed")
        await asyncio.sleep(settings.housekeeping_seconds)
