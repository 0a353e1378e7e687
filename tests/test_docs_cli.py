"""The command line and the docs agree: each seam a new user found (issue 13, point 4) stays closed."""

from __future__ import annotations

import json
import pydoc
import re
import tomllib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import ecrules
from ecrules.cli import main

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "examples" / "tutorial"
CLI_MD = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# -- docs/cli.md describes the tool as it is

def test_cli_md_names_every_command_and_option() -> None:
    """Every command is on docs/cli.md; every option there or on the command's own page."""
    assert isinstance(main, click.Group)
    every_page = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))
    for name, command in main.commands.items():
        assert f"ecrules {name}" in CLI_MD, f"docs/cli.md does not show `ecrules {name}`"
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert any(opt in every_page for opt in param.opts), f"docs/ omit {param.opts} of `{name}`"
    assert "four commands" not in CLI_MD


def test_pyarrow_is_a_dependency_and_the_docs_say_so() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    assert any(d.startswith("pyarrow") for d in deps)
    assert "does not install" not in CLI_MD and "Without it, `eval` stops" not in CLI_MD
    assert "pyarrow" in CLI_MD


def test_readme_sample_is_a_real_run() -> None:
    """The README opens with commands on the bundled files whose output a test compares."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "EMB1" not in readme and "TX-0004\", \"outcome\": \"deny\"" not in readme
    first_sh = readme.index("```sh\n")
    assert "policies/export_control.ecp" in readme[first_sh : first_sh + 300]
    assert "examples/transactions.jsonl" in readme[first_sh : first_sh + 300]
    shown = readme[readme.index("```text\n", first_sh) :]
    assert '"outcome": "deny"' in shown[:2000] and '"TX-0010"' in shown[:2000]


# -- `-` reads a policy from standard input

POLICY = 'policy "p"\nschema { record r { destination: country } }\nrule KP deny { when destination == "KP" }\n'
BAD = 'schema { record r { destination: country } }\nrule KP deny { when destination == "UK" }\n'
TESTED = POLICY + 'test "kp" { given { destination: "KP" } expect deny fired KP }\n'


def test_check_reads_stdin() -> None:
    assert run("check", "-", stdin=POLICY) == (0, "<stdin>: ok (1 rule, 0 tests)\n", "")
    code, _, err = run("check", "-", stdin=BAD)
    assert code == 1 and err.startswith("<stdin>:2:36: error: `UK` is not a country code")
    assert err.rstrip().endswith("<stdin>: 1 error")


def test_test_and_verify_read_stdin() -> None:
    assert run("test", "-", stdin=TESTED)[:2] == (0, "1 passed, 0 failed\n")
    failing = TESTED.replace("expect deny", "expect allow")
    code, out, _ = run("test", "-", stdin=failing)
    assert code == 1 and out.startswith("<stdin>: FAIL kp")
    code, out, err = run("verify", "-", stdin=POLICY)
    assert code == 0 and "does not exist" not in out + err


# -- explain picks one record of a JSON Lines file

def test_explain_picks_a_record_by_id() -> None:
    code, out, err = run("explain", str(TUTORIAL / "export.ecp"), str(TUTORIAL / "transactions.jsonl"), "--id", "TX-3")
    assert code == 0, err
    assert "outcome: license" in out and "matched   DU (license)" in out


def test_explain_without_id_on_many_records_says_how() -> None:
    code, out, err = run("explain", str(TUTORIAL / "export.ecp"), str(TUTORIAL / "transactions.jsonl"))
    assert code == 2 and out == ""
    assert "holds 9 records: choose one with `--id ID`" in err and "Extra data" not in err
    code, _, err = run("explain", str(TUTORIAL / "export.ecp"), str(TUTORIAL / "transactions.jsonl"), "--id", "TX-99")
    assert code == 2 and "no record of" in err and "`TX-99`" in err


def test_explain_id_is_the_line_without_an_id_field(tmp_path: Path) -> None:
    policy = tmp_path / "p.ecp"
    policy.write_text(POLICY, encoding="utf-8")
    records = '{"destination": "FR"}\n\n{"destination": "KP"}\n'
    code, out, err = run("explain", str(policy), "-", "--id", "3", stdin=records)
    assert code == 0, err
    assert "matched   KP (deny)" in out and "outcome: deny" in out
    code, out, _ = run("explain", str(policy), "-", "--id", "1", stdin=records)
    assert code == 0 and "outcome: allow" in out


# -- did you mean

@pytest.mark.parametrize(("written", "meant"), [("UK", "GB"), ("EL", "GR"), ("kp", "KP")])
def test_country_suggestions(written: str, meant: str) -> None:
    source = f'schema {{ record r {{ destination: country }} }}\nrule X deny {{ when destination == "{written}" }}\n'
    with pytest.raises(ecrules.PolicyError) as info:
        ecrules.loads(source)
    (d,) = info.value.diagnostics
    assert d.message == f"`{written}` is not a country code"
    assert d.help is not None and d.help.startswith(f"did you mean `{meant}`?")


def test_country_suggestion_in_a_set() -> None:
    with pytest.raises(ecrules.PolicyError) as info:
        ecrules.loads('schema { record r { destination: country } }\nset s: country = { "UK" }\n')
    assert info.value.diagnostics[0].help is not None
    assert info.value.diagnostics[0].help.startswith("did you mean `GB`?")


def test_enum_case_suggestion() -> None:
    source = 'schema { record r { end_use: enum { civilian, wmd } } }\nrule X deny { when end_use == "WMD" }\n'
    with pytest.raises(ecrules.PolicyError) as info:
        ecrules.loads(source)
    assert info.value.diagnostics[0].help == "did you mean `wmd`?"


# -- Diagnostic.to_dict is shaped like the object

def test_diagnostic_to_dict_nests_span() -> None:
    with pytest.raises(ecrules.PolicyError) as info:
        ecrules.loads(BAD, "bad.ecp")
    d = info.value.diagnostics[0]
    out = d.to_dict()
    assert d.span is not None
    assert out == {
        "severity": "error", "message": d.message, "help": d.help,
        "span": {"file": "bad.ecp", "line": d.span.line, "column": d.span.column,
                 "end_line": d.span.end_line, "end_column": d.span.end_column},
    }
    assert list(out) == ["severity", "message", "span", "help"]
    json.dumps(out)


def test_check_json_prints_to_dict() -> None:
    code, _, err = run("check", "--format", "json", "-", stdin=BAD)
    assert code == 1
    assert json.loads(err.splitlines()[0])["span"]["line"] == 2


# -- help(ecrules)

def test_help_lists_evaluate_table_and_testing() -> None:
    text = pydoc.render_doc(ecrules, renderer=pydoc.plaintext)
    assert "evaluate_table" in text and "ecrules.testing" in text


# -- the tutorial ships its files

def test_tutorial_files_are_shipped_and_clean() -> None:
    for name in ("export.ecp", "broken.ecp", "transactions.jsonl", "screen.py", "lists/denied_parties.txt"):
        assert (TUTORIAL / name).is_file(), name
    ids = re.findall(r'"id": "(TX-\d)"', (TUTORIAL / "transactions.jsonl").read_text(encoding="utf-8"))
    assert ids == [f"TX-{k}" for k in range(1, 9)]
    assert run("test", str(TUTORIAL / "export.ecp"))[:2] == (0, "6 passed, 0 failed\n")
    assert run("fmt", "--check", str(TUTORIAL / "export.ecp"), str(TUTORIAL / "broken.ecp"))[0] == 0
    assert run("check", str(TUTORIAL / "broken.ecp"))[0] == 1


# -- every bundled policy and example is fmt-clean

FORMATTED = sorted([*ROOT.glob("policies/**/*.ecp"), *ROOT.glob("examples/**/*.ecp")])


def test_there_are_policies_to_format() -> None:
    assert len([p for p in FORMATTED if "policies" in p.parts]) >= 5


@pytest.mark.parametrize("path", FORMATTED, ids=[p.relative_to(ROOT).as_posix() for p in FORMATTED])
def test_bundled_policy_is_fmt_clean(path: Path) -> None:
    code, out, err = run("fmt", "--check", str(path))
    assert code == 0, out + err
