"""``promp-fault``: inject faults into a live manager's process tree, knowing nothing of the implementation.

    promp-fault ls PID                      the tree under PID: level, pid, state, CPU, memory, paused for
    promp-fault pause PID --workers         SIGSTOP every worker of the manager PID
    promp-fault kill PID --level 2          SIGKILL every process two levels below PID
    promp-fault resume PID --tree           SIGCONT PID and everything under it
    promp-fault heal                        SIGCONT whatever promp-fault paused (even after a crashed run)

Frames between a manager and its workers (dropped, duplicated, delayed, reordered) are the fault
proxy's: start the manager with PROMP_WORKER_PREFIX="promp-proxy --drop ping@beat=1 --" (promp-proxy --help).

Without --workers, --level or --tree an operation acts on PID alone.  Levels are depths in the
process tree: 0 is PID, 1 its workers (its children), 2 theirs, and so on.  Exit status 2 with a
message when PID does not exist, is not ours, or the chosen level is empty.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from . import faults


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="promp-fault", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("ls", help="show the process tree under PID")
    ls.add_argument("pid", type=int)
    for name, text in (("kill", "SIGKILL"), ("pause", "SIGSTOP (recorded for heal)"), ("resume", "SIGCONT")):
        op = sub.add_parser(name, help=f"{text} PID, its workers, a level or the whole tree")
        op.add_argument("pid", type=int)
        scope = op.add_mutually_exclusive_group()
        scope.add_argument("--workers", action="store_true", help="every worker of the manager PID (level 1)")
        scope.add_argument("--level", type=int, help="every process at this depth under PID")
        scope.add_argument("--tree", action="store_true", help="PID and everything under it")
    sub.add_parser("heal", help="resume everything promp-fault paused")
    opts = parser.parse_args(argv)
    console = Console(highlight=False)
    try:
        if opts.command == "ls":
            _show(console, faults.tree(opts.pid))
        elif opts.command == "heal":
            resumed = faults.heal()
            console.print(f"resumed {len(resumed)} process(es): {' '.join(map(str, resumed)) or '-'}")
        else:
            scope = "workers" if opts.workers else "tree" if opts.tree else "level" if opts.level is not None else "self"
            pids = getattr(faults, opts.command)(opts.pid, scope, opts.level)
            console.print(f"{opts.command}: {' '.join(map(str, pids))}")
    except faults.FaultError as exc:
        console.print(f"promp-fault: {exc}", style="red")
        return 2
    return 0


def _show(console: Console, nodes: list[faults.Node]) -> None:
    """A plain aligned table: it reads the same in a terminal, a pipe and a log."""
    print(f"{'level':<6}{'pid':<12}{'state':<10}{'cpu %':>6}{'memory':>12}  {'paused for':<11}command")
    for node in nodes:
        paused = "-" if node.stopped_for is None else f"{node.stopped_for:.1f} s"
        pid = "  " * node.level + str(node.pid)
        memory = f"{node.rss / 2**20:.1f} MiB"
        print(f"{node.level:<6}{pid:<12}{node.state:<10}{node.cpu:>6.0f}{memory:>12}  {paused:<11}{node.command[:80]}")


if __name__ == "__main__":
    sys.exit(main())
