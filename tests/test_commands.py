"""The README's commands and the deployment examples work as documented."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from crm import create_app

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_page(url: str, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.mark.slow
def test_make_run_serves_the_login_page_and_prints_the_demo_logins(tmp_path):
    port = free_port()
    env = {**os.environ, "PORT": str(port), "CRM_DATABASE_URL": f"sqlite:///{tmp_path}/run.db"}
    log = tmp_path / "make-run.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        page = wait_for_page(f"http://127.0.0.1:{port}/login", seconds=120)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    assert "企业服务走访系统" in page
    printed = log.read_text()
    assert "demo2026" in printed and "yiyang" in printed, printed


def test_production_example_config_loads(monkeypatch):
    monkeypatch.setenv("CRM_CONFIG", str(ROOT / "config" / "production.example.py"))
    monkeypatch.setenv("CRM_SECRET_KEY", "k")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["RATELIMIT_STORAGE_URI"].startswith("redis://")


def test_gunicorn_config_is_valid():
    settings: dict = {}
    exec((ROOT / "config" / "gunicorn.conf.py").read_text(), settings)
    assert settings["worker_class"] == "gthread"
    assert settings["bind"].startswith("127.0.0.1:")
