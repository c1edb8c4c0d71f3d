"""The spec's mutation score: how many broken variants of an implementation it catches.

A *variants package* (``tests.variants`` for the reference) maps each broken variant, a module
that re-exports an implementation with one behaviour broken, to the clause or clauses it
breaks (``BROKEN``).  A variant is *caught* when the spec fails it on that clause.
``promp-spec --variants [PACKAGE]`` runs them all and prints the score, with why each verdict; the score is also
written to ``variants.json`` and ``variants.md`` in the report directory.  A variant the runner cannot
judge (it cannot be imported, say) is an error, never counted as caught.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .impl import REPO


def pairs(package: str) -> list[tuple[str, str]]:
    """(variant, clause) for every clause a variant of ``package`` must fail.

    The package is looked for from the current directory, then from the checkout (where the reference's
    ``tests.variants`` lives), as ``python -m`` would: a console script such as ``promp-spec`` puts
    neither on the path. A key of ``BROKEN`` may be a module's full dotted name or its last part.
    """
    for place in (str(REPO), os.getcwd()):  # the current directory first, as ``python -m`` would
        if place not in sys.path:
            sys.path.insert(0, place)
    broken = importlib.import_module(package).BROKEN
    found = []
    for variant, clauses in broken.items():
        name = variant.removeprefix(package + ".")
        found += [(name, c) for c in ((clauses,) if isinstance(clauses, str) else clauses)]
    return sorted(found)


def what_it_breaks(package: str, variant: str) -> str:
    """The first line of the variant's docstring, read without importing it (a variant patches what imports it)."""
    try:
        origin = importlib.util.find_spec(f"{package}.{variant}").origin
        return (ast.get_docstring(ast.parse(Path(origin).read_text())) or "").strip().splitlines()[0]
    except (AttributeError, ImportError, OSError, SyntaxError, IndexError, ValueError):
        return ""


def verdict(package: str, variant: str, clause: str, spec: str) -> tuple[str, str]:
    """The spec's verdict on ``clause`` for one variant (``fail`` means caught; ``error``: it could not be judged),
    and why: the failure's first line, the n/a reason, or what kept the variant from being judged."""
    with tempfile.TemporaryDirectory(prefix="promp-variant-") as report_dir:
        cmd = [sys.executable, "-m", "harness.cli", "--impl", f"{package}.{variant}", "--clause", clause, "--spec", spec]
        places = (os.getcwd(), str(REPO), os.environ.get("PYTHONPATH"))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in places if p)}  # the package, for the runner and examples
        try:
            cmd += ["--report-dir", report_dir, "-n", "0"]
            done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900, env=env)
        except subprocess.TimeoutExpired:
            return "error", "the runner did not finish within 900 s"
        try:
            report = json.loads((Path(report_dir) / "report.json").read_text())
        except FileNotFoundError:
            said = [line for line in done.stderr.strip().splitlines() if line.strip()]
            return "error", (said[-1] if said else f"the runner's exit status {done.returncode}").removeprefix("promp-spec: error: ")
    (judged,) = [c for c in report["clauses"] if c["id"] == clause]
    return judged["verdict"], _why(judged)


def _why(clause: dict) -> str:
    """The line saying what the spec saw: a failure's first line after its location, else the n/a reason."""
    for example in clause["examples"]:
        lines = [line for line in example.get("detail", "").splitlines() if line.strip()]
        if example["verdict"] == clause["verdict"] and lines:
            return (lines[1] if len(lines) > 1 and " checks " in lines[0] else lines[0])[:160]
    return "every example passed" if clause["verdict"] == "pass" else ""


def score(package: str, spec: str, report_dir: Path, console: Console) -> int:
    """Run every variant on its clauses; 0 when every one is caught, 1 otherwise (a variant not judged is not caught)."""
    rows = []
    found = pairs(package)
    with console.status("running the spec against each broken variant") as status:
        for n, (variant, clause) in enumerate(found, 1):
            status.update(f"variant {n} of {len(found)}: {variant} on {clause}")
            judged, why = verdict(package, variant, clause, spec)
            rows.append({"variant": variant, "clause": clause, "verdict": judged, "why": why, "breaks": what_it_breaks(package, variant)})
    caught = sum(r["verdict"] == "fail" for r in rows)
    errors = sum(r["verdict"] == "error" for r in rows)
    title = f"Mutation score: {caught} of {len(rows)} caught ({len({r['variant'] for r in rows})} broken variants, each on its clauses)"
    if errors:
        title += f"; {errors} could not be judged"
    table = Table(title=title)
    for column in ("variant", "clause", "spec's verdict", "caught", "why"):
        table.add_column(column)
    for r in rows:
        mark = {"fail": "[green]yes", "error": "[bold red]ERROR"}.get(r["verdict"], "[bold red]NO")
        table.add_row(r["variant"], r["clause"], r["verdict"], mark, r["why"])
    console.print(table)
    report_dir.mkdir(parents=True, exist_ok=True)
    summary = {"package": package, "caught": caught, "errors": errors, "variants": rows}
    (report_dir / "variants.json").write_text(json.dumps(summary, indent=2))
    lines = [f"# {title}", "", "| variant | what it breaks | clause | verdict | why |", "|" + " --- |" * 5]
    cells = [(r["variant"], r["breaks"], r["clause"], r["verdict"], r["why"]) for r in rows]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in cells]
    (report_dir / "variants.md").write_text("\n".join(lines) + "\n")
    console.print(f"written to {report_dir}/variants.json and variants.md")
    return 0 if caught == len(rows) else 1
