"""What the API shares: the OpenAPI document, the error envelope and the list envelope.

Each feature puts its endpoints in its own `api.py`, calling the same operations as its views;
token authentication lives in crm.auth.
"""
