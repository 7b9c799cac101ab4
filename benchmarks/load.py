"""Load test of the collector on loopback: records per second, latency, and a kill-and-restart run.

    .venv/bin/python benchmarks/load.py [--backend sqlite|postgresql|both] [--records N]
        [--processes P] [--threads T] [--seconds S] [--no-kill] [--markdown FILE]

For each backend it starts `genotel serve` on 127.0.0.1 (a fresh SQLite file, or a fresh schema
in the PostgreSQL database `test` at 127.0.0.1:5432), creates one licence per client thread, and
has P processes x T threads upload N distinct records over keep-alive connections, each request
signed as the genotel client signs it. A record counts once the collector acknowledges it (201,
or 200 for a retry of a record already stored). Then the kill run: the same load, but the server
is killed with SIGKILL when 40 % of the records are acknowledged and restarted; clients retry
every unacknowledged record (new signature each time, same record_id) until acknowledged. At the
end the database must hold exactly the acknowledged records, each once. Every run is bounded by
its record count and by --seconds, and the server is always stopped.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from genotel.engine import make_record
from genotel.service import protocol
from genotel.service.db import Database
from genotel.service.licences import create_licence

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # loopback only, always
POSTGRES_URL = os.environ.get("GENOTEL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, url: str, port: int, log: Path) -> None:
        self.url, self.port, self.log = url, port, log
        self.process: subprocess.Popen[bytes] | None = None
        self.cpu_seconds = 0.0  # of the server processes that have ended

    def cpu_now(self) -> float:
        """CPU seconds (user + system) of the running server process so far."""
        if self.process is None or self.process.poll() is not None:
            return 0.0
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def start(self) -> None:
        command = [sys.executable, "-c", "from genotel.cli import run; run()", "serve", "--db", self.url,
                   "--host", HOST, "--port", str(self.port)]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection(HOST, self.port, timeout=1)
                connection.request("GET", "/v1/health")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the collector did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.cpu_seconds += self.cpu_now()
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def client_thread(port: int, licence: tuple[int, str], bodies: list[tuple[str, bytes]], deadline: float,
                  acked: list[tuple[str, float]], progress: Any) -> None:  # fmt: skip
    """Upload `bodies` one by one; retry each (re-signed) until acknowledged or the deadline."""
    connection: http.client.HTTPConnection | None = None
    for record_id, body in bodies:
        started = time.perf_counter()
        pause = 0.02
        while time.monotonic() < deadline:
            headers = protocol.signed_headers(*licence, "POST", "/v1/records", body)
            headers["Content-Type"] = "application/json"
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(HOST, port, timeout=5)
                connection.request("POST", "/v1/records", body, headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):  # refused while down, cut off when it was killed
                if connection is not None:
                    connection.close()
                connection = None
                status = 0
            if status in (200, 201):
                acked.append((record_id, time.perf_counter() - started))
                with progress.get_lock():
                    progress.value += 1
                break
            if status not in (0, 500, 502, 503, 504, 429):
                raise RuntimeError(f"unexpected HTTP {status} for {record_id}")
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
    if connection is not None:
        connection.close()


def client_process(port: int, jobs: list[tuple[tuple[int, str], list[tuple[str, bytes]]]], deadline: float,
                   progress: Any, results: Any) -> None:  # fmt: skip
    acked: list[tuple[str, float]] = []
    threads = [threading.Thread(target=client_thread, args=(port, licence, bodies, deadline, acked, progress))
               for licence, bodies in jobs]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((acked, time.process_time()))


def record_bodies(count: int) -> list[tuple[str, bytes]]:
    """`count` realistic records (the BAM fixture's record), each with its own record_id."""
    template = json.loads(make_record(ROOT / "fixtures" / "aln_bwa.bam").to_json(indent=None))
    bodies = []
    for _ in range(count):
        record_id = str(uuid.uuid4())
        template["record_id"] = record_id
        bodies.append((record_id, json.dumps(template, separators=(",", ":")).encode()))
    return bodies


def run(url: str, args: argparse.Namespace, kill: bool, workdir: Path) -> dict[str, Any]:
    database = Database(url)
    database.upgrade()
    clients = args.processes * args.threads
    licences = [(made.number, made.key) for made in (create_licence(database, "research") for _ in range(clients))]
    bodies = record_bodies(args.records)
    server = Server(url, free_port(), workdir / f"server-{'kill' if kill else 'plain'}.log")
    server.start()
    context = multiprocessing.get_context("fork")
    progress = context.Value("i", 0)
    results = context.Queue()
    deadline = time.monotonic() + args.seconds
    shares = [bodies[i::clients] for i in range(clients)]
    processes = [
        context.Process(target=client_process, args=(server.port, [(licences[t], shares[t]) for t in
                        range(p * args.threads, (p + 1) * args.threads)], deadline, progress, results))
        for p in range(args.processes)
    ]  # fmt: skip
    downtime = 0.0
    cpu_at_start = server.cpu_now()
    started = time.perf_counter()
    try:
        for process in processes:
            process.start()
        if kill:
            while progress.value < 0.4 * args.records and time.monotonic() < deadline:
                time.sleep(0.005)
            down_at = time.perf_counter()
            server.kill()  # SIGKILL: no graceful shutdown, requests in flight are cut
            time.sleep(0.5)
            server.start()
            downtime = time.perf_counter() - down_at
        acked: list[tuple[str, float]] = []
        client_cpu = 0.0
        for _ in processes:
            process_acked, process_cpu = results.get(timeout=args.seconds + 60)
            acked.extend(process_acked)
            client_cpu += process_cpu
        elapsed = time.perf_counter() - started
        server_cpu = server.cpu_seconds + server.cpu_now() - cpu_at_start
        for process in processes:
            process.join()
    finally:
        server.stop()
    with database.read() as connection:
        stored = connection.execute(sa.text("SELECT record_id FROM records")).scalars().all()
    database.dispose()
    acked_ids = [record_id for record_id, _ in acked]
    latencies = sorted(latency for _, latency in acked)
    return {
        "kill": kill,
        "records": args.records,
        "clients": clients,
        "acknowledged": len(acked_ids),
        "acknowledged_unique": len(set(acked_ids)),
        "stored_rows": len(stored),
        "stored_unique": len(set(stored)),
        "missing": len(set(acked_ids) - set(stored)),
        "unacknowledged_stored": len(set(stored) - set(acked_ids)),
        "seconds": round(elapsed, 2),
        "downtime_seconds": round(downtime, 2),
        "records_per_second": round(len(acked_ids) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1) if latencies else None,
        "max_ms": round(1000 * latencies[-1], 1) if latencies else None,
        "server_cpu_ms_per_record": round(1000 * server_cpu / max(len(acked_ids), 1), 2),
        "client_cpu_ms_per_record": round(1000 * client_cpu / max(len(acked_ids), 1), 2),
        "load_average": round(os.getloadavg()[0], 1),
    }


def postgres_schema() -> tuple[str, Any]:
    schema = f"genotel_load_{os.getpid()}_{secrets.token_hex(3)}"
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--records", type=int, default=6000, help="records per run")
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=8, help="client threads (connections) per process")
    parser.add_argument("--seconds", type=float, default=60, help="time limit per run")
    parser.add_argument("--no-kill", action="store_true", help="skip the kill-and-restart runs")
    parser.add_argument("--markdown", type=Path, help="also write the results as a Markdown table here")
    args = parser.parse_args()
    # One secret for this script's `create_licence` and the collectors it starts (keys are derived).
    os.environ.setdefault("GENOTEL_SERVER_SECRET", secrets.token_hex(32))
    rows = []
    ok = True
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        for kill in [False] if args.no_kill else [False, True]:
            with tempfile.TemporaryDirectory(prefix="genotel-load-") as folder:
                url, cleanup = (f"sqlite:///{folder}/collector.sqlite3", lambda: None)
                if backend == "postgresql":
                    url, cleanup = postgres_schema()
                try:
                    result = {"backend": backend, **run(url, args, kill, Path(folder))}
                finally:
                    cleanup()
            exact = result["missing"] == 0 and result["stored_rows"] == result["stored_unique"]
            exact = exact and result["acknowledged"] == result["records"] == result["stored_rows"]
            result["exactly_once"] = exact
            ok = ok and exact
            rows.append(result)
            print(json.dumps(result), flush=True)
    if args.markdown:
        args.markdown.write_text(markdown(rows, args), encoding="utf-8")
    return 0 if ok else 1


def markdown(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        "| backend | run | records | clients | records/s | p50 ms | p99 ms | max ms | server CPU ms/rec "
        "| client CPU ms/rec | downtime s | stored | exactly once | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['backend']} | {'kill -9 + restart' if row['kill'] else 'steady'} | {row['acknowledged']} | "
            f"{row['clients']} | {row['records_per_second']} | {row['p50_ms']} | {row['p99_ms']} | {row['max_ms']} | "
            f"{row['server_cpu_ms_per_record']} | {row['client_cpu_ms_per_record']} | {row['downtime_seconds']} | "
            f"{row['stored_rows']} | "
            f"{'yes' if row['exactly_once'] else 'NO'} | {row['load_average']} |"
        )
    command = (f"benchmarks/load.py --records {args.records} --processes {args.processes} "
               f"--threads {args.threads}")  # fmt: skip
    return "\n".join([f"`{command}` on {os.cpu_count()} cores, loopback:", "", *lines, ""])


if __name__ == "__main__":
    sys.exit(main())
