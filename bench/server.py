"""The app under a real uvicorn in its own process group, for the benchmarks that time HTTP requests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping

import httpx

HOST = "127.0.0.1"  # loopback only


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its live children (the server's workers)."""
    # Imported here: psutil is needed by the benchmarks only.
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):  # a worker that just ended
            t = proc.cpu_times()
            total += t.user + t.system
    return total


def postgres_cpu_seconds() -> float:
    """User + system CPU seconds of every PostgreSQL process on this machine so far (0 when none runs here)."""
    import psutil

    total = 0.0
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] in ("postgres", "postmaster"):
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                total += t.user + t.system
    return total


def worker_pids(pid: int) -> list[int]:
    """The worker processes of a server started by `serve` (its children but multiprocessing's resource tracker)."""
    import psutil

    try:
        children = psutil.Process(pid).children()
    except psutil.Error:
        return []
    return [c.pid for c in children if "resource_tracker" not in " ".join(c.cmdline())]


@contextlib.contextmanager
def serve(env: Mapping[str, str], *, workers: int) -> Iterator[tuple[str, int]]:
    """`doudi.main:create_app` with `workers` worker processes and the settings in `env`, once it answers
    /healthz: (base URL, pid of the server process). Stopped, workers included, on leaving."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "doudi.main:create_app", "--factory", "--host", HOST,
                               "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
                              env=dict(env), start_new_session=True)  # its own process group: the workers stop with it
    base = f"http://{HOST}:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(1800):  # up to 3 minutes for the workers to start on a busy machine
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise RuntimeError(f"the server on {base} did not start")
        yield base, server.pid
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
