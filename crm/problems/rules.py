"""The rules for a problem's own fields, shared by every way of raising one."""

from typing import Any

from flask_babel import gettext as _

from crm.errors import FieldErrors
from crm.problems.models import ProblemCategory
from crm.text import collapse, is_clean

TITLE_MAX = 100
DESCRIPTION_MAX = 2000


def clean_problem(values: dict[str, Any], errors: FieldErrors, prefix: str = "") -> dict[str, Any]:
    """Category, title and description checked; errors are reported as `prefix` + field."""
    title = collapse(values.get("title"))
    description = str(values.get("description") or "").strip()
    category = values.get("category")
    if not title:
        errors.add(f"{prefix}title", _("Give the problem a title."))
    elif len(title) > TITLE_MAX or not is_clean(title):
        errors.add(f"{prefix}title", _("At most %(n)d ordinary characters.", n=TITLE_MAX))
    if len(description) > DESCRIPTION_MAX or not is_clean(description, multiline=True):
        errors.add(
            f"{prefix}description", _("At most %(n)d ordinary characters.", n=DESCRIPTION_MAX)
        )
    try:
        category = ProblemCategory(category)
    except ValueError:
        errors.add(f"{prefix}category", _("Choose a category."))
    return {"category": category, "title": title, "description": description}
