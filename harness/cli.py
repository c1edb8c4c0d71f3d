"""``promp-spec`` / ``python tools/spec.py``: run the specification against an implementation.

    promp-spec                          the reference, every clause, in parallel
    promp-spec --impl mypkg.mp          another implementation (a module exposing the Pro.MP names)
    promp-spec --clause OUT-3           only the examples of one clause (repeatable)
    promp-spec --compare a.json b.json  two reports side by side
    promp-spec --faults short-stalls    every example while the nemesis stalls its workers ('list': profiles)
    promp-spec --faults all             without faults, then under each profile: one column per run
    promp-spec --variants               the mutation score: is every broken variant in tests/variants caught?
    promp-spec --clause FLT-7 --repeat 20   twenty runs in a row; the report gives measured figures' median and worst

Writes reports/report.json and reports/report.md; exits non-zero when a clause fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from .impl import REPO, chosen
from .profiles import PROFILES
from .report import compare


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="promp-spec", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", help="module implementing Pro.MP (default: $PROMP_SPEC_IMPL, else promp)")
    parser.add_argument("--clause", action="append", default=[], help="run only this clause's examples")
    parser.add_argument("--spec", default=str(REPO / "spec"), help="the spec directory")
    parser.add_argument("--report-dir", default="reports", help="where report.json and report.md go")
    parser.add_argument("-n", "--workers", default="auto", help="parallel example runners (pytest-xdist -n)")
    parser.add_argument("--compare", nargs="+", metavar="REPORT", help="show saved report.json files side by side")
    parser.add_argument(
        "--variants", nargs="?", const="tests.variants", metavar="PACKAGE", help="run each broken variant of PACKAGE on its clause"
    )
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="run each example N times in a row (all must pass)")
    parser.add_argument("--faults", metavar="PROFILE", help="run every example under a fault profile ('list' shows them)")
    opts = parser.parse_args(argv)
    if opts.faults == "list":
        for profile in PROFILES.values():
            print(f"{profile.name}: {profile.description}")
        return 0
    if opts.faults == "all" or (opts.faults and "," in opts.faults):
        names = list(PROFILES) if opts.faults == "all" else opts.faults.split(",")
        unknown = [n for n in names if n not in PROFILES]
        if unknown:
            parser.error(f"unknown fault profile(s) {', '.join(unknown)} (promp-spec --faults list)")
        return run_profiles(names, sys.argv[1:] if argv is None else argv, Path(opts.report_dir))
    if opts.faults is not None and opts.faults not in PROFILES:
        parser.error(f"unknown fault profile {opts.faults!r} (promp-spec --faults list)")
    if opts.variants:
        from .mutation import score

        return score(opts.variants, opts.spec, Path(opts.report_dir), Console())
    if opts.compare:
        compare([json.loads(Path(p).read_text()) for p in opts.compare], Console())
        return 0

    import pytest

    impl = chosen(opts.impl)
    args = [opts.spec, "--impl", impl, "--spec-report", opts.report_dir, "-p", "no:cacheprovider"]
    if sys.stderr.isatty():  # the live display replaces pytest's own terminal output
        args += ["--spec-live", "-p", "no:terminal"]
    else:
        args += ["-q", "--no-header", "--tb=no", "-rN"]
    if opts.workers not in ("0", "1"):
        args += ["-n", opts.workers]
    for clause in opts.clause:
        args += ["--spec-clause", clause]
    if opts.faults:
        args += ["--faults", opts.faults]
    if opts.repeat > 1:
        args += ["--spec-repeat", str(opts.repeat)]
    os.environ.setdefault("PYTHONPATH", "")
    return int(pytest.main(args))


def run_profiles(names: list[str], argv: list[str], report_dir: Path) -> int:
    """The spec without faults and under each profile, one after the other; one table, a column per run."""
    rest, skip = [], False
    for arg in argv:  # the same options, less --faults and --report-dir
        if skip:
            skip = False
        elif arg in ("--faults", "--report-dir"):
            skip = True
        elif not arg.startswith(("--faults=", "--report-dir=")):
            rest.append(arg)
    worst, reports = 0, []
    for name in [None, *names]:
        directory = report_dir / (name or "no-faults")
        cmd = [sys.executable, "-m", "harness.cli", *rest, "--report-dir", str(directory)] + (["--faults", name] if name else [])
        worst = max(worst, subprocess.run(cmd, cwd=REPO).returncode)
        reports.append(json.loads((directory / "report.json").read_text()))
    console = Console(record=True)
    compare(reports, console)
    (report_dir / "faults.md").write_text("```\n" + console.export_text() + "```\n")
    console.print(f"each run's report is under {report_dir}/<profile>/; this table is in {report_dir}/faults.md")
    return worst


if __name__ == "__main__":
    sys.exit(main())
