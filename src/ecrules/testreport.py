"""`ecrules test` reports for machines: one JSON document, or JUnit XML as CI systems read it.

JUnit XML is written with the standard library's ElementTree (it escapes what needs escaping):
one `testsuite` per policy file, one `testcase` per `test` block, a `failure` per failing test, an
`error` for a policy that does not load; coverage rides along as `testsuite` properties.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import attrs

from .coverage import KINDS, Ratio
from .diagnostics import Diagnostic
from .policytests import TestRun


@attrs.frozen
class FileRun:
    """One FILE argument of `ecrules test`: its run, or the diagnostics that kept it from loading."""

    path: str
    policy: str | None
    run: TestRun | None
    diagnostics: tuple[Diagnostic, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.path, "policy": self.policy, "loaded": self.run is not None,
                               "diagnostics": [d.to_dict() for d in self.diagnostics if d.severity == "error"]}
        out.update(self.run.to_dict() if self.run is not None else
                   {"tests": [], "passed": 0, "failed": 0, "coverage": None})
        return out


def total_coverage(files: list[FileRun]) -> Ratio | None:
    ratios = [f.run.coverage.ratio() for f in files if f.run is not None and f.run.coverage is not None]
    if not ratios:
        return None
    total = Ratio(0, 0)
    for r in ratios:
        total = total + r
    return total


def to_json(files: list[FileRun]) -> dict[str, Any]:
    total = total_coverage(files)
    return {"files": [f.to_dict() for f in files],
            "passed": sum(f.run.passed for f in files if f.run is not None),
            "failed": sum(f.run.failed for f in files if f.run is not None),
            "errors": sum(1 for f in files if f.run is None),
            "coverage": None if total is None else total.to_dict()}


def to_junit(files: list[FileRun]) -> str:
    root = ET.Element("testsuites", name="ecrules test")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for f in files:
        suite = ET.SubElement(root, "testsuite", name=f.path, file=f.path)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if f.run is None:
            counts.update(tests=1, errors=1)
            case = ET.SubElement(suite, "testcase", name="(the policy loads)", classname=f.path, file=f.path)
            errors = [d for d in f.diagnostics if d.severity == "error"]
            ET.SubElement(case, "error", message=f"{len(errors)} error{'s' if len(errors) != 1 else ''}",
                          type="PolicyError").text = "\n\n".join(d.render() for d in errors)
        else:
            if f.run.coverage is not None:
                props = ET.SubElement(suite, "properties")
                cov = f.run.coverage
                for key, ratio in (("coverage", cov.ratio()), *((f"coverage.{noun}", cov.ratio(k)) for k, noun in KINDS.items())):
                    ET.SubElement(props, "property", name=key, value=ratio.text())
            for r in f.run.results:
                counts["tests"] += 1
                case = ET.SubElement(suite, "testcase", name=r.name, classname=f.path, file=f.path,
                                     line=str(r.span.line))
                if not r.passed:
                    counts["failures"] += 1
                    ET.SubElement(case, "failure", message=r.message, type="TestFailure").text = \
                        f"{r.span}: {r.message}"
            if f.run.coverage is not None and f.run.coverage.uncovered:
                ET.SubElement(suite, "system-out").text = "\n".join(i.render() for i in f.run.coverage.uncovered)
        for key, value in counts.items():
            suite.set(key, str(value))
        for key in totals:
            totals[key] += counts[key]
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


__all__ = ["FileRun", "to_json", "to_junit", "total_coverage"]
