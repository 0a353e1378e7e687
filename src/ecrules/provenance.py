"""Provenance: which policy, which lists, which ecrules and which input made a decision.

The hashes are those of `contenthash`; this module stamps decisions with them, and decides the
lines `ecrules eval` reads (a line that is not a record included) the way `eval` does.
"""

from __future__ import annotations

import datetime
from typing import Any, Iterable, Iterator

from .version import __version__
from .contenthash import record_hash
from .decision import Decision, DecisionError
from .inputs import BadLine
from .checked import Program


def now() -> str:
    """The current time, UTC, ISO 8601 to the microsecond."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def provenance(policy_hash: str, record: Any, timestamp: str | None = None) -> dict[str, str]:
    """The `provenance` object of a decision."""
    return {"policy_hash": policy_hash, "ecrules": __version__, "record_hash": record_hash(record),
            "timestamp": timestamp or now()}


def decide(policy: Program, record: Any, position: int) -> Decision:
    """A record's decision; a `BadLine` gets the `error` decision `ecrules eval` gives it."""
    if isinstance(record, BadLine):
        return Decision(position, "error", (), (), (), policy.name, policy.version,
                        DecisionError(record.message, None))
    return policy.evaluate(record, position=position)


def decide_all(policy: Program, records: Iterable[Any]) -> Iterator[tuple[int, Any, Decision]]:
    """`(position, record, decision)` for each record, positions from 1."""
    for position, record in enumerate(records, 1):
        yield position, record, decide(policy, record, position)
