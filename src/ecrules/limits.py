"""The limits that keep hostile policies harmless (docs/security.md): module constants, so a
deployment that needs more can raise them before loading a policy."""

from __future__ import annotations

#: how deep a policy may nest (expressions, types, record literals), counting the expressions of
#: the `let`s an expression reads: deeper would overflow a recursive stage (checker, formatter,
#: Python's compiler, DuckDB's parser)
MAX_DEPTH = 100
#: the largest policy or imported file read, in bytes
MAX_POLICY_BYTES = 8 * 1024 * 1024
#: the largest list file read, in bytes
MAX_LIST_BYTES = 64 * 1024 * 1024
#: the most digits an integer literal in a policy may have (Python's own bound on int parsing)
MAX_INT_DIGITS = 4300
