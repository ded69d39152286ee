"""Request fields every feature's API uses alike."""

from typing import Any

import marshmallow as ma

from crm import MAX_RECORD_ID


class WholeNumber(ma.fields.Integer):
    """An integer: 7.9 is refused, where marshmallow's Integer would read 7 (digits in a query
    string are read as ever; its `strict` would refuse those too)."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, float) and not value.is_integer():  # 7.9, inf, nan
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def record_id(**options: Any) -> ma.fields.Integer:
    """The id of a record: a positive integer the database can hold (larger ones are 422)."""
    return WholeNumber(validate=ma.validate.Range(min=1, max=MAX_RECORD_ID), **options)
