"""Running one example: a fresh process, a deadline, the output check, the leftover check."""

from __future__ import annotations

import contextlib
import difflib
import functools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from . import orphans, proxy
from .helpers import FIGURES_VARIABLE, NOT_APPLICABLE
from .impl import environment
from .markdown import FAULT_MARKS, Example, documented_names
from .profiles import Nemesis, Profile

LEFTOVER_GRACE = 3.0  # seconds an example's processes get to end after it did
# how an optional feature's absence shows: a name it lacks, or a keyword argument it does not take
MISSING_NAME = re.compile(
    r"^((NameError|AttributeError|ImportError|ModuleNotFoundError): .*|TypeError: .*unexpected keyword argument.*"
    r"|TypeError: .*does not support the context manager protocol)$",
    re.M,
)


@dataclass
class Outcome:
    verdict: str  # "pass", "fail" or "n/a"
    detail: str = ""
    seconds: float = 0.0
    figures: list[dict] = field(default_factory=list)  # measured beside their bounds (helpers.figure)


def run_example(example: Example, impl: str, optional: bool, profile: Profile | None = None) -> Outcome:
    """Run one example in a fresh process (under ``profile``'s faults, if given) and judge it."""
    if profile is not None and example.faults:
        return Outcome("n/a", f"not run under {profile.name}: {FAULT_MARKS[example.faults]}")
    if profile is not None and profile.proxy and proxy_problem(impl):
        return Outcome("n/a", f"not run under {profile.name}: its frame faults need chapter 13's wire protocol ({proxy_problem(impl)})")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="promp-example-") as cwd:
        path = os.path.join(cwd, "example.py")
        with open(path, "w") as f:
            f.write(example.code)
        # Files, not pipes: a process the example leaves behind must not keep us reading.
        with open(os.path.join(cwd, "stdout"), "w+") as out_file, open(os.path.join(cwd, "stderr"), "w+") as err_file:
            env = environment(impl)
            env[FIGURES_VARIABLE] = os.path.join(cwd, "figures.jsonl")
            prefix = profile.prefix(seed=example.line) if profile else None
            if prefix:
                env[launch_hook(impl)] = prefix
            # unbuffered by the interpreter's flag, which its workers do not inherit (an environment variable would)
            with orphans.subreaper():
                # -X faulthandler: on a deadline, SIGABRT makes it write where every thread of the example was
                proc = subprocess.Popen(
                    [sys.executable, "-u", "-X", "faulthandler", path],
                    cwd=cwd,
                    env=env,
                    stdout=out_file,
                    stderr=err_file,
                    start_new_session=True,
                )
                _no_core_dumps(proc.pid)
                with orphans.Adopting(keep=proc.pid):
                    try:
                        with Nemesis(profile, proc.pid, seed=example.line) if profile else contextlib.nullcontext():
                            proc.wait(timeout=example.timeout)
                        timed_out = False
                    except subprocess.TimeoutExpired:
                        _dump_stacks(proc)
                        _kill_all(proc.pid)
                        proc.wait()
                        timed_out = True
                    leftovers = _leftovers(proc.pid)
            out, err = (in_chapter(_read(f), path, example) for f in (out_file, err_file))
            figures = _figures(env[FIGURES_VARIABLE])
    seconds = time.monotonic() - started
    if timed_out:
        err, stacks = _split_stacks(err)
        where = f"--- where the example was at the deadline (every thread, most recent call first) ---\n{stacks}" if stacks else ""
        return Outcome("fail", f"deadline of {example.timeout:g} s exceeded\n--- output so far ---\n{out}{err}{where}", seconds)
    said = [line for line in err.splitlines() if line.startswith("not applicable: ")]
    if proc.returncode == NOT_APPLICABLE and said:  # harness.helpers.not_applicable, not any exit(77)
        reason = said[-1]
        if optional:
            return Outcome("n/a", reason, seconds)
        return Outcome("fail", f"a required clause cannot be n/a ({reason})", seconds)
    if proc.returncode != 0:
        last = err.strip().splitlines()[-1] if err.strip() else ""
        if optional and _lacks_documented_name(last, example.path.parent):
            return Outcome("n/a", f"optional feature missing: {last}", seconds)
        return Outcome("fail", f"exit status {proc.returncode}\n--- stderr ---\n{err}--- stdout ---\n{out}", seconds)
    problem = compare(example.expected, out, example.mode)
    if problem:
        return Outcome("fail", problem + (f"\n--- stderr ---\n{err}" if err else ""), seconds)
    problem = compare(example.expected_stderr, err, example.mode_stderr)
    if problem:
        return Outcome("fail", "standard error: " + problem + f"\n--- stdout ---\n{out}", seconds)
    if leftovers:
        listed = "\n".join(f"  {leftover}" for leftover in leftovers)
        return Outcome("fail", f"{len(leftovers)} process(es) left behind after the example ended (killed):\n{listed}", seconds)
    return Outcome("pass", "", seconds, figures)


def _no_core_dumps(pid: int) -> None:
    """The SIGABRT that asks for the stacks at a deadline must not also write a core (systemd-coredump on a small machine)."""
    try:
        psutil.Process(pid).rlimit(psutil.RLIMIT_CORE, (0, 0))
    except (OSError, psutil.Error):
        pass


STACK_DUMP_GRACE = 2.0  # seconds the example gets to write its stacks before it is killed


def _dump_stacks(proc: subprocess.Popen) -> None:
    """Ask the example's interpreter (run with -X faulthandler) to write every thread's stack, and give it time."""
    try:
        proc.send_signal(signal.SIGABRT)
        proc.wait(timeout=STACK_DUMP_GRACE)
    except (OSError, subprocess.TimeoutExpired):
        pass


_FAULTHANDLER = re.compile(r"^Fatal Python error: Aborted\n", re.M)


def _split_stacks(err: str) -> tuple[str, str]:
    """(what the example wrote, the stacks faulthandler wrote at the deadline)."""
    found = _FAULTHANDLER.search(err)
    if found is None:
        return err, ""
    return err[: found.start()], err[found.end() :].lstrip("\n")


def in_chapter(text: str, script: str, example: Example) -> str:
    """``text`` with the example script's lines (tracebacks, stacks) given as the chapter's lines."""
    def chapter_line(found: re.Match) -> str:
        return f'File "{example.path.name}", line {example.first_line + int(found.group(1)) - 1}'

    return re.sub(rf'File "{re.escape(script)}", line (\d+)', chapter_line, text)


def numbered(example: Example) -> str:
    """The example's code with the chapter's line numbers, as a failure shows it."""
    lines = example.code.splitlines()
    width = len(str(example.first_line + len(lines)))
    return "".join(f"{example.first_line + n:>{width}} | {line}\n" for n, line in enumerate(lines))


def _figures(path: str) -> list[dict]:
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def _lacks_documented_name(last_line: str, spec_dir) -> bool:
    """Whether what ended the example (its last line, not any line a worker printed) is a missing name of
    the API the spec documents: an optional feature the implementation lacks, not a broken example."""
    if not MISSING_NAME.fullmatch(last_line):
        return False
    if last_line.endswith("context manager protocol") or last_line == "AttributeError: __enter__":  # 3.11+, 3.10
        return "__enter__" in documented_names(spec_dir)
    quoted = re.findall(r"'([A-Za-z_][A-Za-z0-9_.]*)'", last_line)
    if not quoted:
        return False
    name = quoted[-1] if "keyword" in last_line or "attribute" in last_line else quoted[0]
    return name.split(".")[-1] in documented_names(spec_dir)


@functools.cache
def launch_hook(impl: str) -> str | None:
    """The variable ``impl``'s managers read their workers' argv prefix from (chapter 13), if it has one."""
    probe = "from Pro.MP import workerPrefixVariable\nprint(workerPrefixVariable)"
    found = subprocess.run([sys.executable, "-c", probe], env=environment(impl), capture_output=True, text=True, timeout=60)
    return found.stdout.strip() or None if found.returncode == 0 else None


# A result asked of one worker started behind the fault proxy: what a proxy profile needs to work at all.
_PROXY_PROBE = """
import time
from Pro.MP import *
m = ProManager()
m.startWorker()
m.evalPythonFunction(ProWorker_Any, "def one():\\n    return 1\\n", "one", None, True)
deadline = time.monotonic() + 20
while m.isBusy() and time.monotonic() < deadline:
    m.processMessages()
    time.sleep(0.01)
print(m.hasResults())
"""


PROBE_DEADLINE = 20  # seconds the proxy probe may take; past it, it says nothing (the examples then run)


def _kill_session(sid: int) -> None:
    """Kill what is left of the probe's session, and nothing else of this process's (an example may call the probe)."""
    for proc in _session_members(sid):
        try:
            proc.kill()
        except psutil.Error:
            continue


@functools.cache
def proxy_problem(impl: str) -> str:
    """Why the fault proxy cannot stand between ``impl``'s manager and its workers ('' when it can).

    The proxy speaks chapter 13: an implementation needs the launch hook *and* that protocol. One honouring the
    hook with a protocol of its own would fail every example under a proxy profile, so it is asked once: a
    worker started behind the proxy must answer a task through it.
    """
    hook = launch_hook(impl)
    if hook is None:
        return f"{impl} exports no workerPrefixVariable, the launch hook"
    with tempfile.TemporaryDirectory(prefix="promp-probe-") as log:
        env = {**environment(impl), hook: proxy.prefix("--log", log)}
        probe = subprocess.Popen(
            [sys.executable, "-c", _PROXY_PROBE], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            out, err = probe.communicate(timeout=PROBE_DEADLINE)
        except subprocess.TimeoutExpired:  # no evidence either way (a loaded machine?): the examples will tell
            return ""
        finally:
            _kill_session(probe.pid)
            probe.wait()
        forwarded = [json.loads(p.read_text()).get("forwarded") for p in Path(log).glob("proxy-*.json")]
    if out.strip() == "True" and any(forwarded):
        return ""
    said = [line for line in err.splitlines() if line.strip()]
    why = next((line for line in said if line.startswith("harness.proxy:")), said[-1] if said else "no result came back")
    return f"a worker {impl}'s launch hook started behind the fault proxy did not answer through it: {why}"


def _read(file) -> str:
    file.seek(0)
    return file.read()


def compare(expected: str | None, actual: str, mode: str) -> str:
    """'' if ``actual`` matches, else a description with a diff."""
    if expected is None:
        return ""
    if mode == "exact":
        ok = actual == expected
    elif mode == "unordered":
        ok = sorted(actual.splitlines()) == sorted(expected.splitlines())
    else:
        want, got = expected.splitlines(), actual.splitlines()
        ok = len(want) == len(got) and all(re.fullmatch(w, g) for w, g in zip(want, got, strict=True))
    if ok:
        return ""
    diff = difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "expected", "actual")
    return f"output does not match ({mode}):\n" + "".join(diff)


def _session_members(sid: int) -> list[psutil.Process]:
    """The live processes (not zombies) of session ``sid``, this one left out."""
    members = []
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and proc.pid != os.getpid() and os.getsid(proc.pid) == sid:
                members.append(proc)
        except (OSError, psutil.Error):
            continue
    return members


def _example_processes(sid: int) -> list[psutil.Process]:
    """What still runs of an example: its session, and the orphans this runner adopted (setsid escapes too)."""
    members = {p.pid: p for p in orphans.adopted(keep=sid)}
    members.update((p.pid, p) for p in _session_members(sid))
    return list(members.values())


def _kill_all(sid: int) -> None:
    """Kill what is left of an example: stopped first, looking again until nothing new shows up, so that a
    process that keeps forking (and changing pid) cannot outrun the kill."""
    for _round in range(20):
        stopped: dict[int, psutil.Process] = {}
        fresh = _example_processes(sid)
        groups: set[int] = set()
        while fresh and len(stopped) < 100_000:
            for proc in fresh:
                _signal(proc, signal.SIGSTOP, groups)
                stopped[proc.pid] = proc
            fresh = [p for p in _example_processes(sid) if p.pid not in stopped]
        if not stopped:
            return
        killed: set[int] = set()
        for proc in stopped.values():
            _signal(proc, signal.SIGKILL, killed)
        for group in groups - killed:  # stopped through a member that has died since
            _signal_group(group, signal.SIGKILL)


def _signal(proc: psutil.Process, signum: int, groups: set[int]) -> None:
    """Signal ``proc`` and, once, its process group: a process that forks and exits over and over to change
    pid cannot be caught by pid, but it keeps its group."""
    try:
        group = os.getpgid(proc.pid)
        if group not in groups and group != os.getpgrp():
            groups.add(group)
            _signal_group(group, signum)
        proc.send_signal(signum)
    except (OSError, psutil.Error):
        pass


def _signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except OSError:
        pass


def _leftovers(sid: int) -> list[str]:
    """Processes of the example still running after the grace period, each with its command line; they are killed."""
    deadline = time.monotonic() + LEFTOVER_GRACE
    members = _example_processes(sid)
    while members and time.monotonic() < deadline:
        time.sleep(0.05)
        members = _example_processes(sid)
    described = [_describe(p) for p in sorted(members, key=lambda p: p.pid)]
    _kill_all(sid)
    psutil.wait_procs(_example_processes(sid), timeout=5)  # dead, and reaped where they were adopted by us
    return described


def _describe(proc: psutil.Process) -> str:
    """'pid 1234 (python3 -c ...), parent 1200': enough to tell which of its processes an implementation left."""
    try:
        command = " ".join(proc.cmdline())[:200] or proc.name()
        return f"pid {proc.pid} ({command}), parent {proc.ppid()}"
    except psutil.Error:
        return f"pid {proc.pid} (gone while looked at)"
