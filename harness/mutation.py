"""The spec's mutation score: how many broken variants of an implementation it catches.

A *variants package* (``tests.variants`` for the reference) maps each broken variant, a module
that re-exports an implementation with one behaviour broken, to the clause or clauses it
breaks (``BROKEN``).  A variant is *caught* when the spec fails it on that clause.
``promp-spec --variants [PACKAGE]`` runs them all and prints the score; the score is also
written to ``variants.json`` and ``variants.md`` in the report directory.
"""

from __future__ import annotations

import importlib
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

    The package is looked for from the current directory too, as ``python -m`` would (a console
    script such as ``promp-spec`` does not put it on the path).
    """
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    broken = importlib.import_module(package).BROKEN
    return sorted((v, c) for v, clauses in broken.items() for c in ((clauses,) if isinstance(clauses, str) else clauses))


def verdict(package: str, variant: str, clause: str, spec: str) -> str:
    """The spec's verdict on ``clause`` for one variant (``fail`` means caught)."""
    with tempfile.TemporaryDirectory(prefix="promp-variant-") as report_dir:
        cmd = [sys.executable, "-m", "harness.cli", "--impl", f"{package}.{variant}", "--clause", clause, "--spec", spec]
        path = os.pathsep.join(p for p in (os.getcwd(), os.environ.get("PYTHONPATH")) if p)  # the package, for the runner and examples
        env = {**os.environ, "PYTHONPATH": path}
        subprocess.run([*cmd, "--report-dir", report_dir, "-n", "0"], cwd=REPO, capture_output=True, timeout=900, env=env)
        try:
            report = json.loads((Path(report_dir) / "report.json").read_text())
        except FileNotFoundError:
            return "no report"
    return next(c["verdict"] for c in report["clauses"] if c["id"] == clause)


def score(package: str, spec: str, report_dir: Path, console: Console) -> int:
    rows = []
    found = pairs(package)
    with console.status("running the spec against each broken variant") as status:
        for n, (variant, clause) in enumerate(found, 1):
            status.update(f"variant {n} of {len(found)}: {variant} on {clause}")
            rows.append({"variant": variant, "clause": clause, "verdict": verdict(package, variant, clause, spec)})
    caught = sum(r["verdict"] == "fail" for r in rows)
    title = f"Mutation score: {caught} of {len(rows)} caught ({len({r['variant'] for r in rows})} broken variants, each on its clauses)"
    table = Table(title=title)
    for column in ("variant", "clause", "spec's verdict", "caught"):
        table.add_column(column)
    for r in rows:
        ok = r["verdict"] == "fail"
        table.add_row(r["variant"], r["clause"], r["verdict"], "[green]yes" if ok else "[bold red]NO")
    console.print(table)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "variants.json").write_text(json.dumps({"package": package, "caught": caught, "variants": rows}, indent=2))
    lines = [f"# {title}", "", "| variant | clause | verdict |", "|" + " --- |" * 3]
    lines += [f"| {r['variant']} | {r['clause']} | {r['verdict']} |" for r in rows]
    (report_dir / "variants.md").write_text("\n".join(lines) + "\n")
    return 0 if caught == len(rows) else 1
