"""Issue 7, items 12 and 13 for policies: an integer literal of any length is a diagnostic or an
exact value, never Python's int-string limit; a leading UTF-8 byte-order mark (as Notepad and
Excel write) is accepted in a policy, an imported file and a list file, and `fmt` drops it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from records_helpers import cli, process

import ecrules
from ecrules.diagnostics import PolicyError
from ecrules.literals import MAX_EXPONENT

BOM = "\ufeff"
POLICY = """\
policy "bom" version "1"
default allow

schema {
  record t {
    d: country
    v: number
  }
}

rule R deny {
  when d in embargoed
}

rule BIG hold {
  when v > LIMIT
}

test "listed is denied" {
  given { d: "KP", v: 1 }
  expect deny fired R
}
"""


def write(path: Path, text: str, bom: bool = True) -> Path:
    path.write_bytes(((BOM if bom else "") + text).encode("utf-8"))
    return path


def bom_tree(tmp_path: Path, list_name: str, list_text: str) -> Path:
    """A formatted policy, its import and its list file, each starting with a BOM."""
    write(tmp_path / "lib.ecp", "const LIMIT = 100\n")
    body = POLICY.replace('default allow\n', f'default allow\n\nimport "lib.ecp"\n\n'
                          f'set embargoed: country = file "{list_name}"\n')
    write(tmp_path / list_name, list_text)
    return write(tmp_path / "p.ecp", body)


@pytest.mark.parametrize("list_name,list_text", [
    ("embargo.txt", "KP\nIR\n"),
    ("embargo.csv", "value,instrument\nKP,\nIR,\n"),
    ("embargo.jsonl", '{"value": "KP"}\n{"value": "IR"}\n'),
])
def test_a_bom_in_the_policy_its_import_and_its_list_file_loads(tmp_path: Path, list_name: str, list_text: str) -> None:
    path = bom_tree(tmp_path, list_name, list_text)
    code, out, err = cli("check", str(path))
    assert (code, out, err) == (0, f"{path}: ok (2 rules, 1 test)\n", "")
    assert cli("test", str(path))[:2] == (0, "1 passed, 0 failed\n")
    policy = ecrules.load(path)
    assert policy.checked.sets["embargoed"].values == frozenset({"KP", "IR"})
    assert policy.checked.consts["LIMIT"].value == 100


def test_eval_with_a_bom_policy(tmp_path: Path) -> None:
    path = bom_tree(tmp_path, "embargo.txt", "KP\n")
    records = tmp_path / "r.jsonl"
    records.write_text('{"d": "KP", "v": 1}\n{"d": "FR", "v": 500}\n{"d": "FR", "v": 5}\n', encoding="utf-8")
    for engine in ("row", "columnar"):
        code, out, err = process("eval", str(path), str(records), "--engine", engine)
        assert code == 0, err
        assert [json.loads(line)["outcome"] for line in out.splitlines()] == ["deny", "hold", "allow"]
        assert err == "decided 3 records: 1 allow, 1 hold, 1 deny\n"


def test_fmt_drops_the_bom_and_check_reports_it(tmp_path: Path) -> None:
    path = bom_tree(tmp_path, "embargo.txt", "KP\n")
    text = path.read_bytes().decode("utf-8")
    assert cli("fmt", "--check", str(path)) == (1, f"would reformat {path}\n", "")
    assert cli("fmt", str(path)) == (0, "", f"reformatted {path}\n")
    assert path.read_bytes().decode("utf-8") == text[1:]  # the BOM, and nothing else, is gone
    assert cli("fmt", "--check", str(path)) == (0, "", "")


def test_fmt_and_check_from_standard_input_with_a_bom(tmp_path: Path) -> None:
    text = (BOM + 'schema {\n  record t {\n    d: country\n  }\n}\n').encode("utf-8")
    code, out, err = cli("fmt", "-", input=text)
    assert (code, err) == (0, "") and out == text.decode("utf-8")[1:]
    assert cli("check", "-", input=text) == (0, "<stdin>: ok (0 rules, 0 tests)\n", "")


def test_columns_on_the_first_line_do_not_count_the_bom(tmp_path: Path) -> None:
    path = write(tmp_path / "p.ecp", "schema { record t { d: cuntry } }\n")
    code, out, err = cli("check", str(path))
    assert code == 1
    assert err.startswith(f"{path}:1:24: error: unknown type `cuntry`"), err
    assert BOM not in err


def test_loads_drops_a_bom_too() -> None:
    assert ecrules.loads(BOM + "schema { record t { d: country } }\n").name


def test_only_a_leading_bom_is_dropped(tmp_path: Path) -> None:
    """A BOM elsewhere is an invisible character the author should hear about, at its place."""
    path = write(tmp_path / "p.ecp", "schema { record t { d: country } }\n" + BOM + "rule R deny { when d == \"KP\" }\n", bom=False)
    code, _, err = cli("check", str(path))
    assert code == 1 and err.startswith(f"{path}:2:1: error: "), err


# -- integer literals beyond Python's 4,300-digit int-string limit (item 12)

def huge(digits: int) -> str:
    return "9" * digits


@pytest.mark.parametrize("where,line,col", [
    ("rule R deny {{ when v == {n} }}", 2, 25),
    ("const BIG = {n}", 2, 13),
    ('test "t" {{ given {{ d: "FR", v: {n} }} expect allow }}', 2, 32),
    ("rule R deny {{ when v == {n}.5 }}", 2, 25),
])
@pytest.mark.parametrize("digits", [1002, 4301, 100_000])
def test_a_huge_number_literal_is_a_diagnostic_at_its_span(tmp_path: Path, where: str, line: int, col: int,
                                                           digits: int) -> None:
    number = huge(digits) + (".5" if "}.5" in where else "")
    path = tmp_path / "p.ecp"
    path.write_text("schema { record t { d: country  v: number } }\n" + where.format(n=huge(digits)) + "\n",
                    encoding="utf-8")
    code, out, err = cli("check", str(path))
    assert code == 1 and out == ""
    first = err.splitlines()[0]
    shown = f"{number[:12]}...{number[-6:]}"
    assert first == (f"{path}:{line}:{col}: error: the number `{shown}` ({len(number):,} characters) is out of range: "
                     f"its exponent must lie between -{MAX_EXPONENT} and {MAX_EXPONENT}"), first
    assert "= help: a number's leading digit lies at most 1,000 places from its point: at most 1,001 digits before it" in err
    assert err.rstrip().endswith(": 1 error")


def test_a_tiny_fraction_is_refused_the_same_way() -> None:
    with pytest.raises(PolicyError) as caught:
        ecrules.loads("schema { record t { v: number } }\nrule R deny { when v == 0." + "0" * 1000 + "1 }\n")
    (d,) = caught.value.diagnostics
    assert str(d.span) == "<string>:2:25" and "is out of range" in d.message


def test_the_largest_literal_in_range_is_exact_and_evaluates(tmp_path: Path) -> None:
    """1,001 digits is in range: the value is exact, compiles, formats and decides."""
    n = int(huge(MAX_EXPONENT + 1))
    text = ("schema {\n  record t {\n    v: number\n  }\n}\n\nrule R deny {\n  when v == " + huge(MAX_EXPONENT + 1)
            + "\n}\n")
    path = tmp_path / "p.ecp"
    path.write_text(text, encoding="utf-8")
    policy = ecrules.load(path)
    assert policy.evaluate({"v": Decimal(n)}).outcome == "deny"
    assert policy.evaluate({"v": Decimal(n - 1)}).outcome == "allow"
    assert cli("fmt", "--check", str(path)) == (0, "", "")


def test_a_huge_literal_in_a_real_process_is_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "p.ecp"
    path.write_text("schema { record t { v: number } }\nrule R deny { when v == " + huge(5000) + " }\n", encoding="utf-8")
    for command in ("check", "test", "verify", "fmt"):
        code, out, err = process(command, str(path))
        assert code == 1, (command, err)
        assert out == (b"0 passed, 0 failed\n" if command == "test" else b"")
        assert err.startswith(f"{path}:2:25: error: the number `999999999999...999999` (5,000 characters) is out of range")
