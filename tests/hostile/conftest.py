"""The hostile-input suite (issue 7): ecrules run on input written to break it.

Policies, list files and records come from elsewhere (a compliance team's bundle, an ERP
export): docs/security.md says what ecrules promises about each. Every test here holds one of
those promises against one concrete attack, named in its docstring with the item of issue 7 it
covers, and asserts the exact exit code, the decision counts, and that no traceback reaches
the user:

- `test_hostile_codegen.py`: no text from a policy becomes Python or SQL code (item 1);
- `test_policy_imports.py`: `import` stays in the policy's tree (one containment rule with
  list files; `.ecrules-root`), reads regular UTF-8 files of bounded size, never echoes a file
  that is not a policy; the policy argument of every command gets the same reader (item 2);
- `test_policy_immutable.py`: a loaded Policy is read-only, all the way down (3);
- `test_like_linear.py`: `like` matches in linear time, with the same meaning (9);
- `test_policy_depth.py`: deep policies are refused at check time or work everywhere (11);
- `test_const_exact.py`: constant arithmetic is exact (issue 8's drift);
- `test_policy_text.py`: huge number literals (12); a BOM in a policy, an import, a list file (13);
- `test_verify_fuzz_extra.py`: `verify --fuzz` without Hypothesis (14);
- `test_policy_fuzz.py`: bounded Hypothesis fuzzing of the bundled and conformance policies at
  the token level.

Helpers live in `hostile_util.py`.
"""
