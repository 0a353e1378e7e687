"""A screening list's dates: the `YYYY-MM-DD` of a timestamp is kept, but nothing else is read
into a date (issue 8's one literal reader). The loader took the first ten characters of any text,
so a typo such as `2026-01-019` became 2026-01-01, silently."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest


@pytest.mark.parametrize("listed", ["2026-01-019", "2026-01-01junk", "2026-01-01-05", "2026-01-0123:00"])
def test_a_date_with_trailing_text_is_refused(tmp_path: Path, listed: str) -> None:
    from ecrules.screening import ListError, load_list

    path = tmp_path / "list.jsonl"
    path.write_text('{"ref": "X1", "type": "entity", "names": ["Example Trading"], "listed_on": "%s"}\n' % listed)
    with pytest.raises(ListError, match="is not a date"):
        load_list(path)


@pytest.mark.parametrize("listed", ["2026-01-02", "2026-01-02T00:00:00", "2026-01-02T10:30:00Z", "2026-01-02 10:30",
                                    "2026-01-02Z", "2026-01-02-04:00", "2026-01-02+05:30"])
def test_a_timestamp_keeps_its_date(tmp_path: Path, listed: str) -> None:
    from ecrules.screening import load_list

    path = tmp_path / "list.jsonl"
    path.write_text('{"ref": "X1", "type": "entity", "names": ["Example Trading"], "listed_on": "%s"}\n' % listed)
    assert load_list(path).entries[0].listed_on == datetime.date(2026, 1, 2)
