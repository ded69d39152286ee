"""gunicorn settings: `gunicorn -c config/gunicorn.conf.py 'crm:create_app()'`.

Threads suit this app: requests wait on the database, not on the CPU.
"""

import os

bind = os.environ.get("CRM_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("CRM_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("CRM_THREADS", "8"))
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak never grows unbounded.
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
# Only the local reverse proxy may set X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("CRM_FORWARDED_ALLOW_IPS", "127.0.0.1")
