"""App servers for tests: gunicorn processes with config/gunicorn.conf.py on loopback ports."""

import os
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def write_settings(path: Path, settings: dict) -> Path:
    """A CRM_CONFIG file holding these settings."""
    path.write_text("".join(f"{key} = {value!r}\n" for key, value in settings.items()))
    return path


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(settings: Path, log: Path, workers: int = 1, threads: int = 4) -> Server:
    """gunicorn with the CRM_CONFIG file `settings`, its output in `log`; not yet answering."""
    if not GUNICORN.is_file():
        pytest.fail(f"gunicorn is not installed in {GUNICORN.parent} (make setup)")
    port = free_port()
    environment = {
        **os.environ,
        "CRM_CONFIG": str(settings),
        "CRM_BIND": f"127.0.0.1:{port}",
        "CRM_WORKERS": str(workers),
        "CRM_THREADS": str(threads),
    }
    command = [str(GUNICORN), "-c", "config/gunicorn.conf.py", "crm:create_app()"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    return Server(f"http://127.0.0.1:{port}", process, log)


def wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"{server.url} stopped:\n{server.output()}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:  # not listening yet
            pass
        time.sleep(0.2)
    pytest.fail(f"{server.url} did not answer /healthz within 30 s:\n{server.output()}")


def stop(servers: list[Server]) -> None:
    for server in servers:
        server.process.terminate()
    for server in servers:
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
