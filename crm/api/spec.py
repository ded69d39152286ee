"""The OpenAPI document: flask-smorest with the product's error envelope."""

import marshmallow as ma
from flask_smorest import Api


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "validation_error"})
    message = ma.fields.String(required=True)
    fields = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        required=True,
        metadata={"description": "the fields at fault, by name; empty when none is"},
    )


class ErrorSchema(ma.Schema):
    """{"error": {"code": ..., "message": ..., "fields": {...}}}"""

    error = ma.fields.Nested(ErrorBodySchema, required=True)


class CrmApi(Api):
    """flask-smorest's Api, documenting our error envelope and leaving errors to crm.errors."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """crm.errors answers every error, JSON under /api/ and HTML elsewhere."""
