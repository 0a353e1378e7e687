"""The public face of a loaded policy: `load`, `loads`, `Policy.evaluate`, `evaluate_many`."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

from .checked import Checked, RuleInfo
from .compiler import Decide, compile_policy
from .fastpath import emit as fast_path
from .decision import Decision
from .diagnostics import Diagnostic, PolicyError, error
from .loader import check_source
from .contenthash import PolicyFiles, policy_files
from .files import printable, tree_root
from .source import Source, Span, read_text, recording_reads, strip_bom

if TYPE_CHECKING:
    from .columnar.masks import PolicyQuery
    from .explain import Explanation
    from .policytests import TestRun


class Policy:
    """A loaded, checked and compiled policy. Immutable, and safe to share between threads."""

    __slots__ = ("_checked", "_decide", "_source", "_files", "warnings")

    def __init__(self, checked: Checked, warnings: list[Diagnostic], files: PolicyFiles | None = None):
        decide, source, build = compile_policy(checked, fast_path)
        if checked.screenings:
            from .screening.runtime import with_matches
            decide = with_matches(decide, checked)
        elif build is not None:
            decide = _Tiered(self, build)
        for name, value in (("_checked", checked), ("_decide", decide), ("_source", source),
                            ("_files", files), ("warnings", tuple(warnings))):
            object.__setattr__(self, name, value)

    _checked: Checked
    _decide: Decide
    _source: str
    _files: PolicyFiles | None
    warnings: tuple[Diagnostic, ...]

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a Policy is immutable: cannot set `{name}`")

    @property
    def name(self) -> str:
        return self._checked.name

    @property
    def version(self) -> str | None:
        return self._checked.version

    @property
    def rules(self) -> tuple[RuleInfo, ...]:
        return self._checked.rules

    @property
    def files(self) -> PolicyFiles | None:
        """The policy file and every file its loading read (imports, lists), with their hashes."""
        return self._files

    @property
    def content_hash(self) -> str:
        """`sha256:...` over the policy and every file it read: a list update changes it."""
        if self._files is None:
            raise ValueError("this policy was not loaded with `load` or `loads`: it has no content hash")
        return self._files.content_hash

    @property
    def checked(self) -> Checked:
        """The checked IR (the typed tree, every fact on its nodes), for tools and back-ends."""
        return self._checked

    @property
    def generated_source(self) -> str:
        """The Python source the evaluator was compiled from (for debugging)."""
        return self._source

    def evaluate(self, record: Mapping[str, Any], *, position: int = 1, provenance: bool = False) -> Decision:
        """Decide one record. Never raises for bad input: a bad record gets an `error` decision.

        With `provenance=True` the decision carries `provenance`: the policy's content hash, the
        ecrules version, the record's hash and the time (docs/audit.md).
        """
        decision = self._decide(record, position)
        if provenance:
            from .provenance import provenance as stamp

            return decision._replace(provenance=stamp(self.content_hash, record))
        return decision

    def evaluate_many(self, records: Iterable[Mapping[str, Any]], *, provenance: bool = False) -> Iterator[Decision]:
        """Decide records in order; `position` (the id when the schema has none) counts from 1."""
        if provenance:
            return (self.evaluate(r, position=k, provenance=True) for k, r in enumerate(records, 1))
        decide = self._decide
        if decide.__class__ is _Tiered:
            decide = decide.ready()
        return map(decide, records, itertools.count(1))  # the loop runs in C

    def explain(self, record: Mapping[str, Any]) -> Explanation:
        """Explain the decision on one record (what `ecrules explain` prints): the decision, then
        for each rule whether it matched (and which matching rules waive it) or why not, and a
        one-line summary. `Explanation.render()` is the text, `to_dict()` the JSON."""
        from .explain import explain

        return explain(self, record)

    def run_tests(self, *, coverage: bool = False) -> TestRun:
        """Run the policy's own `test` blocks (what `ecrules test` does); with `coverage=True`, also
        measure what they exercised: rules, `and`/`or` operands, set members, waivers, instruments."""
        from .policytests import run_policy_tests

        return run_policy_tests(self, coverage)

    def evaluate_table(self, table: Any, *, batch_size: int = 100_000) -> Any:
        """Decide a whole table with the columnar engine (DuckDB): a `pyarrow.Table` of decisions.

        `table` is a pyarrow Table, a pandas or polars DataFrame, or the path of a JSON Lines,
        CSV or Parquet file. One decision row per record, in order, with the columns of
        `ecrules eval -o out.parquet`; the decisions are those of `evaluate`. Raises
        `ecrules.columnar.Unsupported` when the policy uses a construct the columnar engine
        cannot express (docs/columnar.md).
        """
        from .columnar.engine import ColumnarEngine

        return ColumnarEngine(self, batch_size=batch_size).evaluate_table(table)

    def to_sql(self, dialect: str = "duckdb") -> PolicyQuery:
        """The policy as one SQL query for `dialect` (`duckdb` or `spark`), with what it takes to
        run it on another engine and turn its result rows into decisions (`PolicyQuery.decide`,
        docs/spark.md). Raises `ecrules.columnar.Unsupported` naming what the dialect cannot express."""
        from .columnar.masks import policy_query

        return policy_query(self._checked, dialect)

    def __repr__(self) -> str:
        return f"<Policy {self.name!r} version {self.version!r}: {len(self.rules)} rules>"


class _Tiered:
    """A policy's `decide` until it decides its first record: then its guarded fast path
    (`fastpath.py`) is audited and compiled and takes this object's place in the policy."""

    __slots__ = ("policy", "build", "fast")

    def __init__(self, policy: Policy, build: Callable[[], Decide]):
        self.policy = policy
        self.build = build
        self.fast: Decide | None = None

    def ready(self) -> Decide:
        fast = self.fast
        if fast is None:  # two threads may both build it: the same function, either is kept
            fast = self.fast = self.build()
            object.__setattr__(self.policy, "_decide", fast)
        return fast

    def __call__(self, record: Any, position: int) -> Decision:
        return self.ready()(record, position)


def loads(text: str, path: str | Path | None = None) -> Policy:
    """Load a policy from text; `path` names it in diagnostics and anchors imports and list files.

    Imports and list files must lie in the policy's tree: its folder (the current folder without
    `path`) or below it, or below the nearest folder above marked with a `.ecrules-root` file
    (`ecrules.files.tree_root`, docs/security.md). A leading byte-order mark is dropped.
    """
    name = str(path) if path is not None else "<string>"
    if "\x00" in name:
        where = Span(Source(printable(name), ""), 1, 1, 1, 1)
        raise PolicyError([error("the policy's path holds a NUL character", where)])
    text = strip_bom(text)
    folder = Path(path).resolve().parent if path is not None else Path.cwd()
    with recording_reads() as reads:
        checked, diags = check_source(Source(name, text), tree_root(folder))
    if checked is None:
        raise PolicyError(diags)
    files = policy_files(Path(path) if path is not None else folder / name, text, reads)
    return Policy(checked, [d for d in diags if d.severity == "warning"], files)


def load(path: str | Path) -> Policy:
    """Load a policy file: a regular UTF-8 text file of at most `ecrules.files.MAX_POLICY_BYTES`."""
    p = Path(path)
    text, problem = read_text(p)
    if problem is not None:
        where = Span(Source(printable(str(p)), ""), 1, 1, 1, 1)
        raise PolicyError([error(f"policy file `{printable(str(p))}` {problem}", where)])
    return loads(text, p)
