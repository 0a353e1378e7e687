"""The meaning of the language, defined once: every back-end reads it, none redefines it.

- `operators`: one registry of operators and functions (token, precedence, type rule, run-time
  function, and how each back-end renders it, or an explicit `Unsupported`);
- `combining`: how rule outcomes combine, validity windows and bases in force.

Nothing here imports the parser, the checker, `policy.py` or a back-end.
"""
