"""The conformance report: a live display while the spec runs, then clause verdicts.

Runs in the pytest process that sees every result (the xdist controller).  Verdict of a
clause: ``fail`` if any of its examples failed, ``pass`` if all ran and passed, ``n/a`` if
every example was not applicable (an optional feature the implementation lacks),
``uncovered`` if it has no example, ``not run`` if this run left it out.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import html
from .impl import chosen
from .markdown import load_spec

STYLE = {"pass": "green", "fail": "bold red", "n/a": "yellow", "uncovered": "magenta", "not run": "dim"}


class Reporter:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.console = Console(stderr=True)
        self.results: dict[str, dict] = {}
        self.progress: Progress | None = None
        self.task = None
        args = [Path(a) for a in config.args] or [Path("spec")]
        self.spec_dir = next((a if a.is_dir() else a.parent for a in args if a.exists()), Path("spec"))

    # ---------------------------------------------------------- progress
    def _start(self, total: int) -> None:
        if self.config.getoption("--spec-live") and self.progress is None:
            columns = (TextColumn("spec"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[status]}"), TimeElapsedColumn())
            self.progress = Progress(*columns, console=self.console)
            self.task = self.progress.add_task("", total=total, status="")
            self.progress.start()

    def pytest_collection_modifyitems(self, items: list) -> None:
        self._start(len(items))

    def pytest_xdist_node_collection_finished(self, node, ids: list) -> None:
        self._start(len(ids))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not (report.when == "call" or (report.when == "setup" and not report.passed)):
            return
        props = dict(report.user_properties)
        verdict = "pass" if report.passed else ("n/a" if report.skipped else "fail")
        detail = ""
        if report.failed:
            detail = str(report.longrepr)
        elif report.skipped and isinstance(report.longrepr, tuple):
            detail = report.longrepr[2]
        self.results[report.nodeid] = {
            "location": f"{props.get('chapter', '?')}.md:{props.get('first_line', '?')}",
            "clauses": props.get("clauses", []),
            "verdict": verdict,
            "seconds": props.get("seconds"),
            "runs": props.get("runs", 1),
            "figures": props.get("figures", []),
            "detail": detail,
        }
        if self.progress is not None:
            failed = sum(r["verdict"] == "fail" for r in self.results.values())
            self.progress.update(self.task, advance=1, status=f"[red]{failed} failed" if failed else "[green]all passing")

    # ------------------------------------------------------------ report
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.progress is not None:
            self.progress.stop()
        report = build_report(self.spec_dir, self.results, chosen(self.config.getoption("--impl")), self.config.getoption("--faults"))
        print_report(report, self.console)
        directory = self.config.getoption("--spec-report")
        if directory:
            write_report(report, Path(directory))
            self.console.print(f"report written to {directory}/report.json, report.md and report.html")


def build_report(spec_dir: Path, results: dict[str, dict], impl: str, faults: str | None = None) -> dict:
    chapters = load_spec(spec_dir)
    by_clause: dict[str, list[dict]] = {}
    for result in results.values():
        for clause in result["clauses"]:
            by_clause.setdefault(clause, []).append(result)
    examples_of = {c: sum(c in ex.clauses for ch in chapters for ex in ch.examples) for ch in chapters for c in (x.id for x in ch.clauses)}
    clauses = []
    for chapter in chapters:
        for clause in chapter.clauses:
            ran = by_clause.get(clause.id, [])
            verdicts = {r["verdict"] for r in ran}
            if not examples_of[clause.id]:
                verdict = "uncovered"
            elif not ran:
                verdict = "not run"
            elif "fail" in verdicts:
                verdict = "fail"
            elif verdicts == {"n/a"}:
                verdict = "n/a"
            else:
                verdict = "pass"
            clauses.append(
                {
                    "id": clause.id,
                    "chapter": chapter.path.stem,
                    "title": chapter.title,
                    "optional": clause.optional,
                    "text": clause.text,
                    "verdict": verdict,
                    "examples": ran,
                    "figures": summarise_figures(ran),
                }
            )
    counts = {v: sum(c["verdict"] == v for c in clauses) for v in STYLE}
    covered = [c for c in clauses if c["verdict"] != "uncovered"]
    return {
        "implementation": impl,
        "faults": faults,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "summary": counts,
        "coverage": {
            "clauses": len(clauses),
            "with_examples": len(covered),
            "uncovered": [c["id"] for c in clauses if c["verdict"] == "uncovered"],
        },
        "clauses": clauses,
    }


def summarise_figures(examples: list[dict]) -> list[dict]:
    """Each figure measured by a clause's examples: its bound, and median and worst over every run."""
    values: dict[str, list[float]] = {}
    meta: dict[str, dict] = {}
    for example in examples:
        for fig in example.get("figures", []):
            values.setdefault(fig["name"], []).append(fig["value"])
            meta[fig["name"]] = fig
    return [
        {**{k: meta[name][k] for k in ("name", "bound", "unit")}, "n": len(v), "median": statistics.median(v), "worst": max(v)}
        for name, v in values.items()
    ]


FIGURE_COLUMNS = ("clause", "figure", "bound", "median", "worst", "runs")


def figure_rows(report: dict) -> list[tuple[str, str, str, str, str, str]]:
    """(clause, figure, bound, median, worst, runs) for every measured figure, as text."""
    return [
        (c["id"], f["name"], f"{f['bound']:g} {f['unit']}", f"{f['median']:.3f}", f"{f['worst']:.3f}", str(f["n"]))
        for c in report["clauses"]
        for f in c.get("figures", [])
    ]


def failures(report: dict) -> list[tuple[dict, dict]]:
    """(clause, example) for each failed example, clause by clause: an example of several clauses comes once for each."""
    return [(c, e) for c in report["clauses"] for e in c["examples"] if c["verdict"] == "fail" and e["verdict"] == "fail"]


def print_report(report: dict, console: Console) -> None:
    table = Table(title=f"Pro.MP conformance of {_name(report)}")
    for column in ("chapter", "clause", "verdict", "examples", "why n/a"):
        table.add_column(column)
    for clause in _shown(report):
        verdict = clause["verdict"]
        name = clause["id"] + (" (optional)" if clause["optional"] else "")
        table.add_row(clause["chapter"], name, f"[{STYLE[verdict]}]{verdict}", str(len(clause["examples"])), why_na(clause))
    console.print(table)
    rows = figure_rows(report)
    if rows:
        figures = Table(title="Measured figures, beside the bounds the clauses set")
        for column in FIGURE_COLUMNS:
            figures.add_column(column)
        for row in rows:
            figures.add_row(*row)
        console.print(figures)
    for clause, example in failures(report):
        console.rule(f"[red]{clause['id']} failed: {example['location']}")
        console.print(f"[bold]{clause['id']}[/bold] {clause['text']}", highlight=False)
        console.print(example["detail"], markup=False, highlight=False)
    cov = report["coverage"]
    s = report["summary"]
    uncovered = f"; uncovered: {', '.join(cov['uncovered'])}" if cov["uncovered"] else ""
    console.print(f"{cov['with_examples']} of {cov['clauses']} clauses have an example{uncovered}")
    console.print(", ".join(f"[{STYLE[k]}]{v} {k}" for k, v in s.items() if v), highlight=False)


def write_report(report: dict, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(json.dumps(report, indent=2))
    (directory / "report.md").write_text(markdown(report))
    (directory / "report.html").write_text(html.report_page(report, _shown(report), _name(report), why_na))


def markdown(report: dict) -> str:
    cov = report["coverage"]
    lines = [
        "# Pro.MP conformance: " + _name(report, code=True),
        "",
        f"{report['date']}. {cov['with_examples']} of {cov['clauses']} clauses have an example.",
        "",
        "| chapter | clause | verdict | examples | why n/a |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in _shown(report):
        why = why_na(c).replace("|", "\\|")
        name = c["id"] + (" (optional)" if c["optional"] else "")
        lines.append(f"| {c['chapter']} | {name} | {c['verdict']} | {len(c['examples'])} | {why} |")
    rows = figure_rows(report)
    if rows:
        lines += ["", "## Measured figures", "", "| " + " | ".join(FIGURE_COLUMNS) + " |", "|" + " --- |" * len(FIGURE_COLUMNS)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
    failed = failures(report)
    if failed:
        lines += ["", "## Failures"]
        for clause, example in failed:
            lines += ["", f"### {clause['id']} at {example['location']}", "", clause["text"], "", "```", example["detail"].rstrip(), "```"]
    return "\n".join(lines) + "\n"


def why_na(clause: dict) -> str:
    """The reason an n/a clause gives (its first example's), on one line; '' for any other verdict."""
    if clause["verdict"] != "n/a" or not clause["examples"]:
        return ""
    reason = " ".join(clause["examples"][0].get("detail", "").split())
    for prefix in ("Skipped: ", "not applicable: ", "not applicable: "):
        reason = reason.removeprefix(prefix)
    return reason[:160]


def _shown(report: dict) -> list[dict]:
    """The clauses a table lists: all of them, less those a ``--clause`` run left out (counted in the summary)."""
    ran = [c for c in report["clauses"] if c["verdict"] != "not run"]
    return ran if len(ran) < len(report["clauses"]) and ran else report["clauses"]


def _name(report: dict, code: bool = False) -> str:
    """The implementation, and the fault profile it ran under (one column per profile in a comparison)."""
    quote = "`" if code else ""
    faults = f" under the fault profile {quote}{report['faults']}{quote}" if report.get("faults") else ""
    return f"{quote}{report['implementation']}{quote}{faults}"


def columns_of(reports: list[dict], code: bool = False) -> list[str]:
    """A column title per run: the profile when one implementation ran under several, else the implementation."""
    impls = {r["implementation"] for r in reports}
    return [(r.get("faults") or "no faults") if len(impls) == 1 else _name(r, code=code) for r in reports]


def side_by_side(reports: list[dict]) -> tuple[list[tuple[str, list[str]]], list[tuple[str, list[str]]]]:
    """(rows whose verdicts differ, rows the same in every run), each row a clause and its verdict per run."""
    verdicts = [{c["id"]: c["verdict"] for c in r["clauses"]} for r in reports]
    rows = [(c["id"], [v.get(c["id"], "-") for v in verdicts]) for c in reports[0]["clauses"]]
    return [r for r in rows if len(set(r[1])) > 1], [r for r in rows if len(set(r[1])) == 1]


def _same_summary(same: list[tuple[str, list[str]]]) -> str:
    counts: dict[str, int] = {}
    for _clause, cells in same:
        counts[cells[0]] = counts.get(cells[0], 0) + 1
    return ", ".join(f"{n} {verdict}" for verdict, n in counts.items())


def comparison_markdown(reports: list[dict]) -> str:
    """The side-by-side table as Markdown (what ``faults.md`` holds): a column per run, differences first."""
    differ, same = side_by_side(reports)
    columns = columns_of(reports, code=True)
    lines = ["# Pro.MP conformance, side by side", ""]
    lines += [f"{len(differ) + len(same)} clauses: {len(differ)} with different verdicts, {len(same)} the same in every run.", ""]
    lines += ["| clause | " + " | ".join(columns) + " |", "|" + " --- |" * (len(columns) + 1)]
    lines += [f"| {clause} | " + " | ".join(cells) + " |" for clause, cells in differ + same]
    return "\n".join(lines) + "\n"


def compare(reports: list[dict], console: Console, html_path: Path | None = None) -> None:
    """Clause verdicts of several runs side by side: the differences row by row, the rest summed up."""
    impls = {r["implementation"] for r in reports}
    title = "Pro.MP conformance, side by side" + (f": {next(iter(impls))} under each fault profile" if len(impls) == 1 else "")
    differ, same = side_by_side(reports)
    columns = columns_of(reports)
    for column, report in zip(columns, reports, strict=True):
        counts = ", ".join(f"[{STYLE[k]}]{v} {k}[/]" for k, v in report["summary"].items() if v)
        console.print(f"{column}: {counts}", highlight=False)
    if differ:
        table = Table(title=f"{title}: the {len(differ)} clauses whose verdicts differ")
        table.add_column("clause")
        for column in columns:
            table.add_column(column)
        for clause, cells in differ:
            table.add_row(clause, *(f"[{STYLE.get(x, 'white')}]{x}" for x in cells))
        console.print(table)
    console.print(f"{len(differ)} of {len(differ) + len(same)} clauses differ; the same in every run: {_same_summary(same) or 'none'}")
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(html.matrix_page(reports, columns, title))
        console.print(f"the whole matrix: {html_path}")
