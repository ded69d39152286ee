"""The forms of a rendered page, read the way a browser reads them: each field's kind and what
the page fills in, so that a test can submit a form as the page offers it."""

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Field:
    name: str
    kind: str  # an input's type, "textarea", "select" or "select-multiple"
    options: list[str] = field(default_factory=list)  # of selects, radios and checkboxes
    filled: list[str] = field(default_factory=list)  # what the page fills in or has chosen
    invalid: bool = False  # marked is-invalid


@dataclass
class Form:
    method: str
    action: str | None
    fields: dict[str, Field] = field(default_factory=dict)

    def values(self) -> dict[str, str | list[str]]:
        """What submitting the form untouched sends."""
        sent: dict[str, str | list[str]] = {}
        for item in self.fields.values():
            if item.kind in ("file", "submit", "button"):
                continue
            if item.kind in ("checkbox", "select-multiple"):
                if item.filled:
                    sent[item.name] = list(item.filled)
            elif item.filled:
                sent[item.name] = item.filled[0]
            elif item.kind == "select" and item.options:
                sent[item.name] = item.options[0]
            elif item.kind not in ("radio", "select"):
                sent[item.name] = ""
        return sent


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._select: Field | None = None
        self._textarea: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.forms.append(Form((a.get("method") or "get").lower(), a.get("action")))
            return
        name = a.get("name")
        if not self.forms or not name:
            if tag == "option" and self._select is not None:
                self._option(a)
            return
        fields = self.forms[-1].fields
        invalid = "is-invalid" in a.get("class", "").split()
        if tag == "input":
            kind = a.get("type", "text")
            item = fields.setdefault(name, Field(name, kind))
            item.invalid |= invalid
            if kind in ("checkbox", "radio"):
                item.options.append(a.get("value", "on"))
                if "checked" in a:
                    item.filled.append(a.get("value", "on"))
            elif kind not in ("submit", "button", "file"):
                item.filled.append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = fields[name] = Field(name, "textarea", filled=[""], invalid=invalid)
        elif tag == "select":
            kind = "select-multiple" if "multiple" in a else "select"
            self._select = fields[name] = Field(name, kind, invalid=invalid)

    def _option(self, a: dict[str, str]) -> None:
        assert self._select is not None
        self._select.options.append(a.get("value", ""))
        if "selected" in a:
            self._select.filled.append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.filled[0] += data


def forms_of(page: str) -> list[Form]:
    reader = _Reader()
    reader.feed(page)
    for form in reader.forms:
        for item in form.fields.values():
            if item.kind == "textarea" and item.filled[0].startswith(("\r\n", "\n")):
                # A newline right after <textarea> is not part of its value.
                item.filled[0] = item.filled[0].split("\n", 1)[1]
    return reader.forms


def fields_of(page: str) -> dict[str, Field]:
    """Every form field of the page by its name (a later form's field of the same name wins)."""
    return {item.name: item for form in forms_of(page) for item in form.fields.values()}
