"""The upload client: activation config, telemetry policy, signed uploads and the spool.

Nothing is lost: every record that is to be sent is first written to the spool (one file per
record, written to a temporary file and renamed, so a crash leaves the whole file or none),
then uploaded, and its file is removed only once the collector has acknowledged it. The
collector dedups on `record_id`, so a record whose acknowledgement was lost and that is sent
again is stored once. `genotel upload` sends whatever is left in the spool. One record that
the collector answers with a server error does not hold back the others: they are sent, and a
record answered so in `SERVER_ERROR_RUNS` runs (in which other records got through) is set aside.

httpx is imported only when something is sent: `genotel record` must stay fast.
"""

from __future__ import annotations

import enum
import json
import os
import random
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from ..errors import UsageError
from ..paths import config_dir, data_dir, private_dir
from ..record import Record
from ..service import protocol

CONFIG_FILE = "client.json"
LICENSE_ERROR = "LICENSE ERROR: Failed to upload a telemetry record to the genotel server"
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_UPLOAD_FAILED = 3
# Short timeouts and a few quick retries: a blocked network must not hold a pipeline for long.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
ATTEMPTS = 4
BACKOFF_SECONDS = 0.25  # then 0.5, 1.0 (each with up to 25 % jitter)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
OPT_OUT_VARIABLES = ("GENOTEL_NO_TELEMETRY", "DO_NOT_TRACK")
# A record answered 500 in this many runs, each of which delivered other records, is set aside.
SERVER_ERROR_RUNS = 3
# This many 500 answers in a row (and nothing delivered yet): the collector is broken, stop trying.
SERVER_ERRORS_IN_A_ROW = 3
SERVER_ERRORS_FILE = ".server-errors.json"  # in the spool: {file name: runs answered 500}


def spool_dir() -> Path:
    """Where records wait until the collector has acknowledged them."""
    return data_dir() / "spool"


@dataclass(frozen=True)
class ClientConfig:
    """What `genotel activate` stores: where to send, as which licence, and the policy."""

    server: str
    licence: int
    key: str
    type: str
    telemetry_mandatory: bool
    telemetry: bool  # chosen at activation (always true where mandatory)


def load_config() -> ClientConfig | None:
    path = config_dir() / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ClientConfig(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        problem = f"the client configuration is unreadable ({exc}); run `genotel activate` again"
        raise UsageError(f"{path}: {problem}") from exc


def save_config(config: ClientConfig) -> Path:
    """Write the configuration with mode 0600 (it holds the licence key), atomically."""
    path = config_dir() / CONFIG_FILE
    write_private(path, json.dumps(asdict(config), indent=2) + "\n")
    return path


def write_private(path: Path, text: str) -> None:
    """Atomically write `text` to `path`, readable by the owner only, flushed to disk (a folder
    made for it is 0700)."""
    private_dir(path.parent)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())  # the rename must never expose a file whose bytes are not on disk
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def opted_out(environ: Mapping[str, str] | None = None) -> bool:
    """GENOTEL_NO_TELEMETRY or DO_NOT_TRACK set to anything but empty/0/false/no."""
    environ = os.environ if environ is None else environ
    return any(environ.get(name, "").strip().lower() not in ("", "0", "false", "no") for name in OPT_OUT_VARIABLES)


def should_send(config: ClientConfig, send_once: bool, environ: Mapping[str, str] | None = None) -> bool:
    """The policy: mandatory licences always send; `--telemetry` sends this run; otherwise the
    activation's choice, unless the environment opts out."""
    if config.telemetry_mandatory or send_once:
        return True
    return config.telemetry and not opted_out(environ)


def stamp(records: Iterable[Record], config: ClientConfig | None = None) -> list[Record]:
    """The records with `license_num` set to the activated licence (unchanged if none)."""
    config = config if config is not None else load_config()
    if config is None:
        return list(records)
    return [record.model_copy(update={"license_num": config.licence}) for record in records]


# --- the spool -------------------------------------------------------------------------------


def spool_record(record: Record) -> Path:
    path = spool_dir() / f"{record.record_id}.json"
    write_private(path, record.to_json(indent=None) + "\n")
    return path


def spooled() -> list[Path]:
    """Spooled record files, oldest first."""
    folder = spool_dir()
    if not folder.is_dir():
        return []
    files = [path for path in folder.glob("*.json") if not path.name.startswith(".")]
    return sorted(files, key=lambda path: (path.stat().st_mtime_ns, path.name))


def set_aside(path: Path) -> Path:
    """Move a record the collector refused for good into spool/rejected/ (kept, never resent)."""
    target = private_dir(path.parent / "rejected") / path.name
    os.replace(path, target)
    return target


def _server_errors() -> dict[str, int]:
    try:
        data = json.loads((spool_dir() / SERVER_ERRORS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(name): int(runs) for name, runs in data.items()} if isinstance(data, dict) else {}


# --- sending ---------------------------------------------------------------------------------


class Outcome(enum.Enum):
    STORED = "stored"  # 201
    ALREADY_STORED = "already stored"  # 200: an earlier attempt got through
    REJECTED = "rejected"  # 413/422: the record itself is refused; retrying cannot help
    FAILED = "failed"  # unreachable, timed out, 5xx or refused credentials: keep and retry later


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    reason: str = ""
    status: int | None = None
    body: bytes = b""


def describe_error(status: int, body: bytes) -> str:
    """One line from a collector error answer (FastAPI's `detail`, a string or a list)."""
    try:
        detail = json.loads(body)["detail"]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {status}"
    if isinstance(detail, list):
        parts = [".".join(str(p) for p in item.get("loc", [])[1:]) + ": " + str(item.get("msg")) for item in detail]
        detail = "; ".join(parts)
    return f"HTTP {status}: {detail}"


class Session:
    """Signed requests to the collector with timeouts and retries with backoff."""

    def __init__(self, config: ClientConfig, admin_token: str | None = None) -> None:
        import httpx

        self.config = config
        self.admin_token = admin_token
        self._httpx = httpx
        self._client = httpx.Client(timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT))

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_: object) -> None:
        self._client.close()

    def request(self, method: str, path: str, body: bytes = b"", attempts: int = ATTEMPTS) -> Answer:
        """Send, retrying transport failures and 5xx; each attempt is signed afresh (new nonce)."""
        reason = ""
        last_status: int | None = None  # of the last attempt; None when it got no answer
        for attempt in range(attempts):
            if attempt:
                time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1) * (1 + random.random() / 4))
            headers = {"content-type": "application/json"} if body else {}
            if self.admin_token:
                headers["authorization"] = f"Bearer {self.admin_token}"
            else:
                headers.update(protocol.signed_headers(self.config.licence, self.config.key, method, path, body))
            try:
                response = self._client.request(method, self.config.server + path, content=body, headers=headers)
            except self._httpx.HTTPError as exc:
                reason, last_status = f"cannot reach {self.config.server}: {exc or type(exc).__name__}", None
                continue
            if response.status_code in RETRY_STATUSES:
                reason, last_status = describe_error(response.status_code, response.content), response.status_code
                continue
            return _classify(response.status_code, response.content)
        return Answer(Outcome.FAILED, reason, last_status)

    def upload(self, record: Record) -> Answer:
        body = record.to_json(indent=None).encode("utf-8")
        return self.request("POST", f"{protocol.API_PREFIX}/records", body)


def _classify(status: int, body: bytes) -> Answer:
    if 200 <= status < 300:
        try:
            already = status == 200 and json.loads(body).get("stored") is False
        except (ValueError, AttributeError):
            already = False  # not an upload answer (export is JSON lines): plain success
        return Answer(Outcome.ALREADY_STORED if already else Outcome.STORED, status=status, body=body)
    if status in (413, 422):
        return Answer(Outcome.REJECTED, describe_error(status, body), status, body)
    return Answer(Outcome.FAILED, describe_error(status, body), status, body)


@dataclass
class SpoolReport:
    sent: int = 0
    already: int = 0
    rejected: int = 0
    kept: int = 0
    reason: str = ""


def send_files(config: ClientConfig, paths: list[Path], err: TextIO, collector_works: bool = False) -> SpoolReport:
    """Upload spooled files, oldest first (those that met server errors before, last); remove
    each once acknowledged. A transport failure, a busy collector or refused credentials keep
    every file left without trying it; a 500 keeps that file and goes on, unless it is the
    SERVER_ERRORS_IN_A_ROW-th in a row with nothing delivered. `collector_works`: records were
    delivered just before (a 500 is then the record's own)."""
    report = SpoolReport()
    if not paths:
        return report
    errors = _server_errors()
    paths = sorted(paths, key=lambda path: path.name in errors)  # stable: oldest first within each group
    answered_500: list[tuple[Path, str]] = []
    in_a_row = 0
    stop = False
    with Session(config) as session:
        for path in paths:
            if stop:
                report.kept += 1
                continue
            try:
                record = Record.model_validate_json(path.read_bytes())
            except FileNotFoundError:
                continue  # another genotel sent it meanwhile
            except ValueError as exc:
                print(f"genotel: {path}: not a valid record, set aside in {set_aside(path).parent}: {exc}", file=err)
                report.rejected += 1
                continue
            if record.license_num != config.licence:  # made before a re-activation: send as this licence
                record = record.model_copy(update={"license_num": config.licence})
            answer = session.upload(record)
            if answer.outcome in (Outcome.STORED, Outcome.ALREADY_STORED):
                path.unlink(missing_ok=True)
                errors.pop(path.name, None)
                report.sent += answer.outcome is Outcome.STORED
                report.already += answer.outcome is Outcome.ALREADY_STORED
                collector_works, in_a_row = True, 0
            elif answer.outcome is Outcome.REJECTED:
                print(f"genotel: the collector refused record {record.record_id} ({answer.reason}); "
                      f"kept in {set_aside(path).parent}", file=err)  # fmt: skip
                report.rejected += 1
            else:
                report.kept += 1
                report.reason = answer.reason or "upload failed"
                if answer.status == 500:  # this record failed inside the collector
                    answered_500.append((path, record.record_id))
                    in_a_row += 1
                    stop = in_a_row >= SERVER_ERRORS_IN_A_ROW and not collector_works
                else:  # unreachable, busy, or the credentials are refused: the others would fail alike
                    stop = True
    if collector_works:
        _count_server_errors(errors, answered_500, report, err)
    return report


def _count_server_errors(errors: dict[str, int], answered: list[tuple[Path, str]], report: SpoolReport,
                         err: TextIO) -> None:  # fmt: skip
    """One more run for each record answered 500; set aside those at SERVER_ERROR_RUNS."""
    for path, record_id in answered:
        errors[path.name] = runs = errors.get(path.name, 0) + 1
        if runs >= SERVER_ERROR_RUNS and path.exists():
            target = set_aside(path)
            del errors[path.name]
            report.kept -= 1
            report.rejected += 1
            print(f"genotel: warning: the collector failed on record {record_id} in {runs} runs while others "
                  f"went through; set aside as {target}", file=err)  # fmt: skip
    folder = spool_dir()
    present = {name: runs for name, runs in errors.items() if (folder / name).exists()}
    if present or (folder / SERVER_ERRORS_FILE).exists():
        write_private(folder / SERVER_ERRORS_FILE, json.dumps(present) + "\n")


def deliver(records: list[Record], send_once: bool, err: TextIO) -> int:
    """After `genotel record`: send `records` as the activated licence's policy says.

    Returns the exit code to merge: 0 done (or nothing to do), 2 `--telemetry` without a
    licence, 3 a mandatory upload failed (the record stays in the spool).
    """
    config = load_config()
    if config is None:
        if send_once:
            print("genotel: error: --telemetry sends the record, but no licence is activated (genotel activate)",
                  file=err)  # fmt: skip
            return EXIT_USAGE
        return EXIT_OK
    if not should_send(config, send_once):
        return EXIT_OK
    older = spooled()
    # Spool first: if genotel is killed during the upload, the record is still on disk.
    fresh = [spool_record(record) for record in stamp(records, config)]
    report = send_files(config, fresh, err)
    if report.kept or report.rejected:
        if config.telemetry_mandatory:
            print(LICENSE_ERROR, file=err)
        else:
            print(f"genotel: warning: could not upload {report.kept + report.rejected} telemetry record(s)", file=err)
        if report.kept:
            print(f"genotel: {report.reason}; {report.kept} record(s) kept in {spool_dir()}, "
                  "`genotel upload` sends them", file=err)  # fmt: skip
        return EXIT_UPLOAD_FAILED if config.telemetry_mandatory else EXIT_OK
    if older:  # the collector is reachable again: flush what earlier runs left behind
        earlier = send_files(config, [path for path in older if path not in fresh], err, collector_works=True)
        if earlier.sent or earlier.already:
            print(f"genotel: also sent {earlier.sent + earlier.already} record(s) left in the spool", file=err)
    return EXIT_OK


def fetch_licence(server: str, licence: int, key: str) -> dict[str, Any]:
    """Ask the collector what the licence is (a signed call, so it also checks the key)."""
    probe = ClientConfig(server=server, licence=licence, key=key, type="", telemetry_mandatory=False, telemetry=False)
    with Session(probe) as session:
        answer = session.request("GET", f"{protocol.API_PREFIX}/licences/{licence}", attempts=2)
    if answer.status != 200:
        raise UsageError(f"cannot activate licence {licence}: {answer.reason}")
    return dict(json.loads(answer.body))
