"""Replay a decision log: re-decide each logged record with the policy of the hash it was decided by."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterable, NamedTuple

from .auditlog import Entry, iter_records
from .contenthash import canonical_json
from .diagnostics import PolicyError
from .policy import Policy, load
from .provenance import decide


class Candidate(NamedTuple):
    label: str
    policy: Policy


def candidates(paths: Iterable[str | Path]) -> tuple[dict[str, Candidate], list[str]]:
    """Policies by content hash, from policy files, bundles and folders of them; notes on the rest."""
    from .bundle import BundleError, open_bundle

    found: dict[str, Candidate] = {}
    notes: list[str] = []
    files: list[Path] = []
    for given in paths:
        p = Path(given)
        if p.is_dir():
            files += sorted(q for q in p.rglob("*") if q.suffix in (".ecp", ".tar") and q.is_file())
        else:
            files.append(p)
    for f in files:
        try:
            policy = open_bundle(f)[0] if f.suffix == ".tar" else load(f)
        except (PolicyError, BundleError) as exc:
            first = exc.diagnostics[0].message if isinstance(exc, PolicyError) else str(exc)
            notes.append(f"note: `{f}` skipped: {first}")
            continue
        found.setdefault(policy.content_hash, Candidate(str(f), policy))
    return found, notes


class Difference(NamedTuple):
    entry: Entry
    logged: dict[str, Any]
    now: dict[str, Any]


class Replay(NamedTuple):
    same: int
    differences: list[Difference]
    unmatched: Counter[str]  # policy hash -> entries decided by it that no policy given has

    @property
    def ok(self) -> bool:
        return not self.differences and not self.unmatched


def _comparable(decision: Any) -> str:
    out = dict(decision)
    out.pop("provenance", None)
    return canonical_json(out)


def replay(entries: Iterable[Entry], found: dict[str, Candidate]) -> Replay:
    same = 0
    differences: list[Difference] = []
    unmatched: Counter[str] = Counter()
    for entry, record in iter_records(entries):
        policy_hash = str(entry.body.get("policy_hash"))
        candidate = found.get(policy_hash)
        if candidate is None:
            unmatched[policy_hash] += 1
            continue
        now = decide(candidate.policy, record, int(entry.body.get("position", 1))).to_dict()
        logged = entry.body.get("decision", {})
        if _comparable(now) == _comparable(logged):
            same += 1
        else:
            differences.append(Difference(entry, logged, now))
    return Replay(same, differences, unmatched)


def _outcome(d: dict[str, Any]) -> str:
    return f"{d.get('outcome')} [{', '.join(map(str, d.get('fired', [])))}]"


def render(result: Replay, found: dict[str, Candidate], entries: list[Entry]) -> str:
    lines = []
    for diff in result.differences:
        lines.append(f"entry {diff.entry.seq} (id {diff.logged.get('id')}): logged {_outcome(diff.logged)}, "
                     f"now {_outcome(diff.now)}")
    for policy_hash, count in result.unmatched.items():
        named = next((e.body for e in entries if e.body.get("policy_hash") == policy_hash), {})
        given = "; ".join(f"`{c.label}` has {h}" for h, c in found.items()) or "none loaded"
        lines.append(f"policy hash mismatch: {count} entr{'y' if count == 1 else 'ies'} were decided by policy "
                     f"`{named.get('policy')}` version {named.get('version')} with hash {policy_hash}, and no "
                     f"policy given has that hash ({given}): the policy or a file it reads, such as a list, "
                     "has changed since; replay with the bundle of that version")
    total = result.same + len(result.differences) + sum(result.unmatched.values())
    lines.append(f"replayed {total} entr{'y' if total == 1 else 'ies'}: {result.same} same, "
                 f"{len(result.differences)} different, {sum(result.unmatched.values())} without their policy")
    return "\n".join(lines)
