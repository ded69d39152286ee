"""Request fields every feature's API uses alike."""

import marshmallow as ma

from crm import MAX_RECORD_ID


def record_id(**options: object) -> ma.fields.Integer:
    """The id of a record: a positive integer the database can hold (larger ones are 422)."""
    return ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_RECORD_ID), **options)
