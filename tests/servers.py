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
# Loopback only: a proxy named in the environment is never asked.
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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


def start_server(settings: Path, log: Path, workers: int = 1, threads: int = 4) -> Server:
    """gunicorn with the CRM_CONFIG file `settings` and nothing else of the caller's CRM_*
    environment, its output in `log`. It serves a socket this process has already bound to a
    free loopback port and hands over, so no other process can take the port in between."""
    if not GUNICORN.is_file():
        pytest.fail(f"gunicorn is not installed in {GUNICORN.parent} (make setup)")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CRM_")}
    environment |= {
        "CRM_CONFIG": str(settings),
        "CRM_BIND": f"fd://{listener.fileno()}",
        "CRM_WORKERS": str(workers),
        "CRM_THREADS": str(threads),
    }
    command = [str(GUNICORN), "-c", "config/gunicorn.conf.py", "crm:create_app()"]
    with listener, log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=(listener.fileno(),),
        )
    return Server(f"http://127.0.0.1:{port}", process, log)


def wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"{server.url} stopped:\n{server.output()}")
        try:
            with LOOPBACK.open(f"{server.url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:  # not answering yet
            pass
        time.sleep(0.2)
    pytest.fail(f"{server.url} did not answer /healthz within 30 s:\n{server.output()}")


def stop(servers: list[Server]) -> None:
    """SIGTERM (gunicorn stops its workers), then SIGKILL past its graceful timeout."""
    for server in servers:
        if server.process.poll() is None:
            server.process.terminate()
    for server in servers:
        try:
            server.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
