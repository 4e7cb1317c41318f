"""Judge a candidate in the sandbox against the baseline: target tests first (cheap, and the point), then the
rest of the relevant tests (nothing that passed may fail now), then the type checker (no new type errors).

Later stages run only when the earlier ones earn it: a candidate that fixes no target is not worth a full run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from greenloop.records import Outcome, RunResult, Selection, Severity, TestResult
from greenloop.repair.records import Patch, Verdict, VerdictStatus
from greenloop.repair.check.sandbox import Sandbox
from greenloop.typecheck import check_types


@dataclass
class Baseline:
    """The project before any candidate: which tests run, which fail, which are the targets."""

    relevant: Selection  # every test a candidate must not break
    results: dict[str, TestResult]  # node id -> result on the untouched code
    targets: list[str]  # the failing tests to make pass
    flaky: list[str] = field(default_factory=list)
    run: RunResult | None = None  # the baseline run itself (with coverage of project source)
    type_errors: dict[Path, Counter[str]] = field(default_factory=dict)  # filled lazily per file

    def passed(self) -> set[str]:
        return {n for n, r in self.results.items() if r.outcome in (Outcome.PASSED, Outcome.XFAILED,
                                                                       Outcome.SKIPPED, Outcome.XPASSED)}


@dataclass
class JudgeSettings:
    python: str
    timeout: float
    type_checker: str
    sandbox: str = "full"  # the least isolation candidates may run under (the `sandbox` setting)


def _type_key(message: str, code: str | None) -> str:
    return f"{code}: {message.splitlines()[0]}"  # no line numbers: an edit shifts them


async def _type_errors(checker: str, root: Path, python: str, files: list[Path]) -> dict[Path, Counter[str]]:
    report = await check_types(checker, root, python, files)
    counts: dict[Path, Counter[str]] = {f: Counter() for f in files}
    for finding in report.findings:
        if finding.severity is Severity.ERROR:
            counts.setdefault(finding.path.resolve(), Counter())[_type_key(finding.message, finding.code)] += 1
    return counts


async def judge(sandbox: Sandbox, baseline: Baseline, patch: Patch, settings: JudgeSettings) -> Verdict:
    sandbox.apply(patch)
    try:
        return await _judge(sandbox, baseline, patch, settings)
    finally:
        sandbox.reset()


async def _judge(sandbox: Sandbox, baseline: Baseline, patch: Patch, settings: JudgeSettings) -> Verdict:
    targets = await sandbox.run(settings.python, Selection(nodeids=list(baseline.targets)), settings.timeout)
    outcome = {r.nodeid: r for r in targets.results}
    passed = [n for n in baseline.targets if n in outcome and not outcome[n].outcome.is_failure]
    failed = [n for n in baseline.targets if n not in passed]
    failures = [r for r in targets.results if r.outcome.is_failure]
    if targets.problem and not targets.results:
        return Verdict(VerdictStatus.NO_BETTER, [], failed, failures=failures,
                       reason=f"the tests could not run with this patch: {targets.problem}")
    if not passed:
        return Verdict(VerdictStatus.NO_BETTER, passed, failed, failures=failures,
                       reason="no target test passes with this patch")

    full = await sandbox.run(settings.python, baseline.relevant, settings.timeout)
    was_passing = baseline.passed()
    regressions = sorted(r.nodeid for r in full.results if r.outcome.is_failure and r.nodeid in was_passing)
    regressions += sorted(r.nodeid for r in full.results
                          if r.when in ("collect", "conftest") and r.nodeid not in baseline.results)
    failures += [r for r in full.results if r.nodeid in regressions]
    if regressions:
        return Verdict(VerdictStatus.REGRESSED, passed, failed, regressions, failures=failures,
                       reason=f"breaks {len(regressions)} test(s) that passed before: {', '.join(regressions[:5])}")

    new_type_errors: list[str] = []
    if settings.type_checker != "off":
        files = [f for f in patch.files if f.suffix == ".py"]
        missing = [f for f in files if f not in baseline.type_errors]
        if missing:  # the untouched originals, checked once per file
            baseline.type_errors.update(await _type_errors(settings.type_checker, sandbox.root, settings.python,
                                                           missing))
        after = await _type_errors(settings.type_checker, sandbox.copy, settings.python,
                                   [sandbox.inside(f) for f in files])
        for original in files:
            added = after.get(sandbox.inside(original).resolve(), Counter()) - baseline.type_errors.get(original, Counter())
            new_type_errors += [f"{original.name}: {key}" for key in added.elements()]
    if new_type_errors:
        return Verdict(VerdictStatus.REGRESSED, passed, failed, [], new_type_errors, failures,
                       reason=f"adds type errors: {'; '.join(new_type_errors[:3])}")
    if failed:
        return Verdict(VerdictStatus.BETTER, passed, failed, failures=failures,
                       reason=f"{len(passed)} of {len(baseline.targets)} target tests pass, nothing regressed")
    return Verdict(VerdictStatus.GREEN, passed, [], failures=[], reason="every target test passes, nothing regressed")
