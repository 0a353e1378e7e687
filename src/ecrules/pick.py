"""Pick the one record `ecrules explain` explains: a JSON object, or a line of JSON Lines by id."""

from __future__ import annotations

import json
from typing import Any

from .recordjson import loads_record


class PickError(Exception):
    """The text holds no record to explain, or more than one and no `--id` chose."""


def pick_record(text: str, name: str, record_id: str | None) -> Any:
    """The record of `text` (one JSON value, or JSON Lines) whose `id` is `record_id`.

    Without `record_id` the text must hold exactly one record. Ids compare as text, so `--id 7`
    finds `"id": 7` and `"id": "7"`; a record without an `id` is found by its line number.
    """
    if record_id is None:
        try:
            return loads_record(text)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":
                raise PickError(f"`{name}` is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
        count = sum(1 for line in text.splitlines() if line.strip())
        raise PickError(f"`{name}` holds {count} records: choose one with `--id ID`")
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = loads_record(line)
        except json.JSONDecodeError:
            if record_id == str(lineno):
                raise PickError(f"line {lineno} of `{name}` is not valid JSON") from None
            continue
        has_id = isinstance(value, dict) and "id" in value
        if (has_id and str(value["id"]) == record_id) or (not has_id and str(lineno) == record_id):
            return value
    raise PickError(f"no record of `{name}` has the id `{record_id}`")
