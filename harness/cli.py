"""``promp-spec`` / ``python tools/spec.py``: run the specification against an implementation.

    promp-spec                          the reference, every clause, in parallel
    promp-spec --impl mypkg.mp          another implementation (a module exposing the Pro.MP names)
    promp-spec --clause OUT-3           only the examples of one clause (repeatable)
    promp-spec --compare a.json b.json  two reports side by side
    promp-spec --faults short-stalls    every example while the nemesis stalls its workers ('list': profiles)
    promp-spec --faults all             without faults, then under each profile: one column per run
    promp-spec --variants               the mutation score: is every broken variant in tests/variants caught?
    promp-spec --clause FLT-7 --repeat 20   twenty runs in a row; the report gives measured figures' median and worst
    promp-spec --timeout 10             each example's deadline (a hung implementation costs 10 s an example, not 60)

Writes reports/report.json, report.md and report.html (a --clause run: under reports/partial/, beside the
last whole run's report rather than over it); --compare writes the matrix to compare.html there.
Exit status: 0 when every clause checked passed, 1 when one failed, 2 for a usage error (an unknown clause,
an implementation that cannot be imported), 3 when nothing was checked (every example n/a).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from .impl import REPO, chosen, environment
from .profiles import PROFILES
from .report import compare, comparison_markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="promp-spec", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", help="module implementing Pro.MP (default: $PROMP_SPEC_IMPL, else promp)")
    parser.add_argument("--clause", action="append", default=[], help="run only this clause's examples")
    parser.add_argument("--spec", default=str(REPO / "spec"), help="the spec directory")
    parser.add_argument(
        "--report-dir", help="where report.json, report.md and report.html go (default: reports, or reports/partial for a --clause run)"
    )
    parser.add_argument("-n", "--workers", default="auto", help="parallel example runners (pytest-xdist -n)")
    parser.add_argument("--compare", nargs="+", metavar="REPORT", help="show saved report.json files side by side")
    parser.add_argument(
        "--variants", nargs="?", const="tests.variants", metavar="PACKAGE", help="run each broken variant of PACKAGE on its clause"
    )
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="run each example N times in a row (all must pass)")
    parser.add_argument("--faults", metavar="PROFILE", help="run every example under a fault profile ('list' shows them)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="each example's deadline, instead of what the spec gives it")
    opts = parser.parse_args(argv)
    if opts.report_dir is None:  # a run of a few clauses must not overwrite the last whole run's report
        opts.report_dir = "reports/partial" if opts.clause else "reports"
    # the same places whatever directory a run starts in (the runs of --faults all start in the checkout)
    opts.report_dir, opts.spec = str(Path(opts.report_dir).resolve()), str(Path(opts.spec).resolve())
    from .markdown import SpecError, load_spec

    if not opts.compare and not list(Path(opts.spec).glob("[0-9][0-9]-*.md")):
        parser.error(f"no chapter (NN-name.md) in {opts.spec}: give the spec directory with --spec")
    try:
        load_spec(Path(opts.spec))
    except (SpecError, OSError) as exc:
        parser.error(f"the spec in {opts.spec} cannot be read: {exc}")
    opts.clause = _clause_ids(opts.clause, opts.spec, parser)
    if opts.faults == "list":
        for profile in PROFILES.values():
            needs = " (needs chapter 13: the launch hook and its wire protocol; without them, n/a)" if profile.proxy else ""
            print(f"{profile.name}: {profile.description}{needs}")
        return 0
    if opts.faults == "all" or (opts.faults and "," in opts.faults):
        names = list(PROFILES) if opts.faults == "all" else opts.faults.split(",")
        unknown = [n for n in names if n not in PROFILES]
        if unknown:
            parser.error(f"unknown fault profile(s) {', '.join(unknown)} (promp-spec --faults list)")
        return run_profiles(names, sys.argv[1:] if argv is None else argv, Path(opts.report_dir), opts.clause, opts.spec)
    if opts.faults is not None and opts.faults not in PROFILES:
        parser.error(f"unknown fault profile {opts.faults!r} (promp-spec --faults list)")
    if opts.variants:
        from .mutation import score

        return score(opts.variants, opts.spec, Path(opts.report_dir), Console())
    if opts.compare:
        reports = [json.loads(Path(p).read_text()) for p in opts.compare]
        compare(reports, Console(), Path(opts.report_dir) / "compare.html")
        return 0

    import pytest

    impl = chosen(opts.impl)
    problem = import_problem(impl)
    if problem:
        parser.error(f"cannot import the implementation {impl!r} as Pro.MP: {problem}")
    # the plugin named, not left to the spec directory's conftest: a spec directory of one's own needs none
    args = [opts.spec, "-p", "harness.plugin", "--impl", impl, "--spec-report", opts.report_dir, "-p", "no:cacheprovider"]
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
    if opts.timeout:
        args += ["--spec-timeout", str(opts.timeout)]
    os.environ.setdefault("PYTHONPATH", "")
    status = int(pytest.main(args))
    return nothing_checked(Path(opts.report_dir), Console(stderr=True)) or status


NOTHING_CHECKED = 3  # the exit status when no clause passed or failed: every example was n/a, or none ran


def nothing_checked(report_dir: Path, console: Console) -> int:
    """``NOTHING_CHECKED`` when the run's report has no verdict but n/a and not run: a CI job must not read it as a pass."""
    try:
        summary = json.loads((report_dir / "report.json").read_text())["summary"]
    except (OSError, ValueError, KeyError):
        return 0
    if summary.get("pass", 0) or summary.get("fail", 0):
        return 0
    console.print(f"[bold yellow]nothing was checked[/]: no clause passed or failed (exit status {NOTHING_CHECKED})")
    return NOTHING_CHECKED


def _clause_ids(given: list[str], spec: str, parser: argparse.ArgumentParser) -> list[str]:
    """The clause ids asked for, in upper case; an id the spec does not define is an error naming the closest ones."""
    if not given:
        return []
    from .markdown import load_spec

    known = [c.id for ch in load_spec(Path(spec)) for c in ch.clauses]
    wanted = [g.strip().upper() for g in given]
    unknown = [w for w in wanted if w not in known]
    if unknown:
        hints = {u: difflib.get_close_matches(u, known, n=3, cutoff=0.6) for u in unknown}
        said = "; ".join(f"{u} (did you mean {', '.join(h)}?)" if h else u for u, h in hints.items())
        parser.error(f"no such clause in {spec}: {said}")
    return wanted


def import_problem(impl: str) -> str:
    """Why ``from Pro.MP import *`` fails for ``impl`` (the last line of its error), or '' when it works."""
    probe = "from Pro.MP import *"
    done = subprocess.run([sys.executable, "-c", probe], env=environment(impl), capture_output=True, text=True, timeout=120)
    if done.returncode == 0:
        return ""
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


def run_profiles(names: list[str], argv: list[str], report_dir: Path, clauses: list[str], spec: str) -> int:
    """The spec without faults and under each profile, one after the other; one table, a column per run."""
    rest, skip = ["--spec", spec], False
    for arg in argv:  # the same options, less those given again below as checked and resolved
        if skip:
            skip = False
        elif arg in ("--faults", "--report-dir", "--clause", "--spec"):
            skip = True
        elif not arg.startswith(("--faults=", "--report-dir=", "--clause=", "--spec=")):
            rest.append(arg)
    for clause in clauses:
        rest += ["--clause", clause]
    worst, reports = 0, []
    for name in [None, *names]:
        directory = report_dir / (name or "no-faults")
        cmd = [sys.executable, "-m", "harness.cli", *rest, "--report-dir", str(directory)] + (["--faults", name] if name else [])
        worst = max(worst, subprocess.run(cmd, cwd=REPO).returncode)
        reports.append(json.loads((directory / "report.json").read_text()))
    console = Console()
    compare(reports, console, report_dir / "faults.html")
    (report_dir / "faults.md").write_text(comparison_markdown(reports))
    console.print(f"each run's report is under {report_dir}/<profile>/; the whole table is in {report_dir}/faults.md and faults.html")
    return worst


if __name__ == "__main__":
    sys.exit(main())
