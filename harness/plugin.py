"""The spec as a pytest plugin: each example of ``spec/NN-*.md`` is a test item.

``pytest spec/`` and ``tools/spec.py`` both go through here, so they give the same verdicts.
Options: ``--impl MODULE`` (default: $PROMP_SPEC_IMPL, else the reference ``promp``),
``--spec-clause ID`` (only examples checking that clause; repeatable), ``--spec-report DIR``
(write report.json and report.md there), ``--spec-live`` (a rich progress display),
``--spec-repeat N`` (each example N times; the report gives each measured figure's median and
worst), ``--faults PROFILE``.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import pytest

from .impl import chosen
from .markdown import Example, load_spec, parse_chapter
from .profiles import PROFILES
from .run import numbered, run_example


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("promp spec")
    group.addoption("--impl", default=None, help="module implementing Pro.MP (default: $PROMP_SPEC_IMPL or promp)")
    group.addoption("--spec-clause", action="append", default=[], help="run only the examples of this clause")
    group.addoption("--spec-report", default=None, help="directory for report.json and report.md")
    group.addoption("--spec-live", action="store_true", help="show a live progress display")
    group.addoption("--spec-repeat", type=int, default=1, help="run each example this many times (all must pass)")
    group.addoption("--faults", default=None, help="run every example under this fault profile (see harness/profiles.py)")
    group.addoption("--spec-timeout", type=float, default=None, help="each example's deadline in seconds, instead of the spec's")


def pytest_configure(config: pytest.Config) -> None:
    name = config.getoption("--faults")
    if name is not None and name not in PROFILES:
        raise pytest.UsageError(f"unknown fault profile {name!r}: one of {', '.join(PROFILES)}")
    config.addinivalue_line("markers", "clause(id): the spec clause an example checks")
    if config.getoption("--spec-report") or config.getoption("--spec-live"):
        if not hasattr(config, "workerinput"):  # the xdist controller (or a plain run) reports
            from .report import Reporter

            config.pluginmanager.register(Reporter(config), "promp-spec-reporter")


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix == ".md" and file_path.name[:2].isdigit() and file_path.name[2] == "-":
        return SpecFile.from_parent(parent, path=file_path)
    return None


@functools.cache
def _optional_clauses(spec_dir: Path) -> frozenset[str]:
    """Ids of the optional clauses of the whole spec (an example may check another chapter's clause)."""
    return frozenset(c.id for ch in load_spec(spec_dir) for c in ch.clauses if c.optional)


class SpecFile(pytest.File):
    def collect(self):
        chapter = parse_chapter(self.path)
        optional = _optional_clauses(self.path.parent)
        wanted = set(self.config.getoption("--spec-clause"))
        for example in chapter.examples:
            if wanted and not wanted & set(example.clauses):
                continue
            item = SpecItem.from_parent(self, name=f"line{example.line}[{','.join(example.clauses)}]", example=example)
            item.optional = all(c in optional for c in example.clauses)
            yield item


class SpecFailure(Exception):
    pass


class SpecItem(pytest.Item):
    def __init__(self, *, example: Example, **kwargs) -> None:
        super().__init__(**kwargs)
        deadline = self.config.getoption("--spec-timeout")
        self.example = dataclasses.replace(example, timeout=deadline) if deadline else example
        self.optional = False
        for clause in example.clauses:
            self.add_marker(pytest.mark.clause(clause))
        # the runner enforces each run's deadline itself; pytest-timeout only guards the whole item
        runs = max(1, self.config.getoption("--spec-repeat"))
        self.add_marker(pytest.mark.timeout(runs * (self.example.timeout + 10) + 30))
        self.user_properties += [("clauses", example.clauses), ("chapter", example.chapter), ("first_line", example.first_line)]

    def runtest(self) -> None:
        name = self.config.getoption("--faults")
        runs, figures, seconds = max(1, self.config.getoption("--spec-repeat")), [], 0.0
        for run in range(runs):
            outcome = run_example(self.example, chosen(self.config.getoption("--impl")), self.optional, PROFILES[name] if name else None)
            figures += outcome.figures
            seconds += outcome.seconds
            if outcome.verdict != "pass":
                if runs > 1 and outcome.verdict == "fail":
                    outcome.detail = f"run {run + 1} of {runs} failed:\n{outcome.detail}"
                break
        self.user_properties += [("seconds", round(seconds, 2)), ("runs", run + 1), ("figures", figures)]
        if outcome.verdict == "n/a":
            pytest.skip(f"not applicable: {outcome.detail}")
        if outcome.verdict == "fail":
            raise SpecFailure(outcome.detail)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, SpecFailure):
            ex = self.example
            last = ex.first_line + len(ex.code.splitlines()) - 1
            where = f"{ex.path.name}:{ex.first_line} checks {', '.join(ex.clauses)}"
            return f"{where}\n{excinfo.value}\n--- the example, {ex.path.name} lines {ex.first_line}-{last} ---\n{numbered(ex)}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.example.path, self.example.first_line - 1, f"{self.example.path.name}:{self.example.first_line}"
