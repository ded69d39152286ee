"""Work that takes longer than a request should: run in a thread with its own app context.

The page that started it polls for progress. If the process ends first, the thread ends with it
and the work's transaction is never committed: nothing is half done.
"""

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

from crm.extensions import db


def start(work: Callable[..., Any], *args: Any) -> threading.Thread:
    """Run `work(*args)` in a new thread, inside an app context of the current app."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        with app.app_context():
            try:
                work(*args)
            except Exception:
                app.logger.exception("background work %s failed", work.__name__)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name=f"crm-{work.__name__}", daemon=True)
    thread.start()
    return thread
