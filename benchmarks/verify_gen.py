"""A generated large policy for `benchmarks/verify.py` and the deadline tests: R rules over a
set of M names and a set of M item codes, with constraints whose verdicts are known by design.

    large_policy(directory, rules=50, members=5000) -> Path, expected verdicts

Rules: `rules` deny/license rules that screen `normalize(end_user.name)` and item codes against
the large sets (and, for one in five, a destination under a dated UN basis). The constraints:
`nondiscrimination` (proved: every destination rule has an admissible basis in force whenever it
can match), `screened` (proved: a name on the list is always denied), `civilian_trade` (proved:
no deny for an unlisted party with unlisted items and an ordinary destination) and `fr_listed`
(violated: a listed name is denied even to France, so `never deny when destination == "FR"`
has a witness, whose name must be a real member of the 5,000-entry set).
"""

from __future__ import annotations

from pathlib import Path

EXPECTED = {"nondiscrimination": "proved", "screened": "proved", "civilian_trade": "proved",
            "fr_listed": "violated"}
EMBARGOED = ["KP", "LY", "SS", "SO", "CF", "CD", "IQ", "LB", "HT", "SD"]


def large_policy(directory: Path, rules: int = 50, members: int = 5000) -> tuple[Path, dict[str, str]]:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "names.txt").write_text("".join(f"entity {k:05d} trading\n" for k in range(members)))
    (directory / "codes.txt").write_text("".join(f"{k % 10}X{k:04d}\n" for k in range(members)))
    out = [
        f'policy "large-{rules}x{members}" version "1"',
        "as_of date",
        "schema {",
        "  record transaction { id: string  date: date  destination: country  end_user: party",
        "                       end_use: enum { civilian, military, wmd }  items: list<item> }",
        "  type party { name: string  country: country }",
        "  type item { code: string  value: number }",
        "}",
        'set listed_names: string = file "names.txt"',
        '  basis UNSC "UN Security Council Consolidated List (generated for the benchmark)"',
        'set listed_codes: string = file "codes.txt"',
        'invariant on items.value "must not be negative" { all(i in items: i.value >= 0) }',
        "rule SCREEN deny {",
        '  basis UNSC "S/RES/1267 (1999)"',
        "  when normalize(end_user.name) in listed_names",
        "}",
    ]
    for k in range(1, rules):
        if k % 5 == 0:
            dest = EMBARGOED[(k // 5) % len(EMBARGOED)]
            out += [f"rule EMB{k} deny {{", "  effective 2010-01-01",
                    f'  basis UNSC "S/RES/{1000 + k} (2010)" from 2010-01-01',
                    f'  when destination == "{dest}" and any(i in items: i.code in listed_codes and i.value > {k})',
                    "}"]
        elif k % 2 == 0:
            out += [f"rule WMD{k} deny {{", '  basis NPT "Treaty on the Non-Proliferation of Nuclear Weapons, art. I"',
                    f'  when end_use == "wmd" and any(i in items: i.code in listed_codes and i.code like "{k % 10}X*")',
                    "}"]
        else:
            out += [f"rule LIC{k} license {{", '  require "a licence for the listed item"',
                    f'  when any(i in items: i.code in listed_codes and i.value >= {k * 100})',
                    "}"]
    out += [
        "constraint nondiscrimination {",
        "  protect destination, end_user.country, type country",
        "  unless basis UNSC",
        "}",
        "constraint screened { always deny when normalize(end_user.name) in listed_names }",
        "constraint civilian_trade {",
        '  never deny when end_use == "civilian" and not (normalize(end_user.name) in listed_names)',
        f"    and destination not in {{ {', '.join(repr(d).replace(chr(39), chr(34)) for d in EMBARGOED)} }}",
        "}",
        'constraint fr_listed { never deny when destination == "FR" }',
    ]
    path = directory / "large.ecp"
    path.write_text("\n".join(out) + "\n")
    return path, dict(EXPECTED)


SHARED_EU = Path(__file__).resolve().parents[1].parent / "shared" / "examples" / "eu_dual_use.ecp"


def eu_without_effective(directory: Path, keep_tests: bool, source: Path = SHARED_EU) -> Path:
    """Issue 9's example: ../shared/examples/eu_dual_use.ecp with `effective 2021-09-09` removed
    from EU001 (a real violation: before its UGEA basis is in force the rule singles out the EU001
    destinations); with or without the policy's test records, which the search starts from."""
    out: list[str] = []
    in_eu001 = False
    for line in source.read_text().splitlines(keepends=True):
        if line.startswith("rule EU001"):
            in_eu001 = True
        if in_eu001 and line.strip() == "effective 2021-09-09":
            continue
        if line.startswith("}"):
            in_eu001 = False
        if not keep_tests and line.startswith("test "):
            break
        out.append(line)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"eu_dual_use_no_effective{'' if keep_tests else '_no_tests'}.ecp"
    path.write_text("".join(out))
    return path
