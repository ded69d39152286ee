# Production settings for 企业服务走访 CRM. Copy this file (for example to /etc/crm/production.py)
# and point CRM_CONFIG at it. Secrets stay in the environment, not in this file:
#   CRM_SECRET_KEY    random, e.g. from: python3 -c 'import secrets; print(secrets.token_hex(32))'
#   CRM_DATABASE_URL  postgresql+psycopg://crm:PASSWORD@127.0.0.1:5432/crm

# The bureau's name on the login page.
BUREAU_NAME = "洛阳市科学技术局"

# Served over HTTPS behind one reverse proxy (nginx) that sets X-Forwarded-For/-Proto.
PROXY_FIX_HOPS = 1
SESSION_COOKIE_SECURE = True
HSTS_SECONDS = 31536000

# Login throttling shared by every gunicorn worker and app server.
RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379/0"

# The dashboard's figures, shared by every worker and app server (computed once per 5 minutes).
CACHE_TYPE = "RedisCache"
CACHE_REDIS_URL = "redis://127.0.0.1:6379/1"

# Connection pool per worker process.
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 5}

# Notifications by e-mail too (off while MAIL_SERVER is None). The password comes from the
# environment, like the other secrets.
# import os
# MAIL_SERVER = "smtp.example.gov.cn"
# MAIL_PORT = 465
# MAIL_USE_SSL = True
# MAIL_USERNAME = "crm@example.gov.cn"
# MAIL_PASSWORD = os.environ["CRM_MAIL_PASSWORD"]
# MAIL_SENDER = "企业服务走访 CRM <crm@example.gov.cn>"
# PUBLIC_URL = "https://crm.example.gov.cn"  # for the links in the mails
