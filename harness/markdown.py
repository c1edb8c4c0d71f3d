"""Reading the spec: clauses and the examples that check them, out of Markdown chapters.

A clause is a paragraph or list item that starts with its id in bold, like
``**OUT-3** A manager MUST ...``; ``*(optional)*`` right after the id marks it optional.
An example is a fenced block whose info string is ``python example`` followed by the ids
it checks (and ``timeout=SECONDS`` if the default is too short; ``faults=own`` or
``faults=avoid`` if a fault profile of the runner would disturb it, see ``FAULT_MARKS``); the fenced block right
after it, ``output`` (exact), ``output unordered`` (same lines, any order) or
``output regex`` (each line a regular expression matching the whole line, in order), is
what it must print; an ``output stderr [MODE]`` block, what it must write to its standard error
(without one, its standard error is not judged; an empty block: it writes nothing).
A small parser of our own rather than Sybil: each example must run in a fresh process with
its own deadline and leftover-process check, and carries options that Sybil's in-process
evaluators do not model.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

CLAUSE = re.compile(r"^\s*(?:[-*]\s+)?\*\*([A-Z]+-\d+)\*\*(\s*\*\(optional\)\*)?\s*(.*)$")
FENCE = re.compile(r"^```(.*)$")
MODES = ("exact", "unordered", "regex")


@dataclass
class Clause:
    id: str
    chapter: str
    text: str
    optional: bool
    line: int


@dataclass
class Example:
    chapter: str
    path: Path
    line: int
    clauses: list[str]
    code: str
    expected: str | None = None
    mode: str = "exact"
    timeout: float = 60.0
    expected_stderr: str | None = None  # an ``output stderr`` block: what the example writes to its stderr
    mode_stderr: str = "exact"
    faults: str | None = None  # "own": it freezes or kills processes itself; "avoid": it compares speeds faults change
    first_line: int = 0  # the chapter's line holding the example's first line of code (its ``line`` is the closing fence's)

    @property
    def name(self) -> str:
        return f"{self.path.stem}:{self.line}[{','.join(self.clauses)}]"


@dataclass
class Chapter:
    path: Path
    title: str
    clauses: list[Clause] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)


class SpecError(ValueError):
    """The spec itself is malformed (an example without clauses, an unknown output mode...)."""


def parse_chapter(path: Path) -> Chapter:
    lines = path.read_text(encoding="utf-8").splitlines()
    title = next((ln.lstrip("# ").strip() for ln in lines if ln.startswith("# ")), path.stem)
    chapter = Chapter(path, title)
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            info = fence.group(1).split()
            first = i + 2  # the block's first line, counted from 1
            body, i = _block(lines, i + 1, path)
            if info[:2] == ["python", "example"]:
                chapter.examples.append(_example(chapter, path, i, info[2:], body, first))
            elif info and info[0] == "output":
                stderr = info[1:2] == ["stderr"]
                words = info[2:] if stderr else info[1:]
                example = chapter.examples[-1] if chapter.examples else None
                if example is None or (example.expected_stderr if stderr else example.expected) is not None:
                    raise SpecError(f"{path}:{i}: an output block must follow an example (one per stream)")
                mode = words[0] if words else "exact"
                if mode not in MODES:
                    raise SpecError(f"{path}:{i}: unknown output mode {mode!r} (one of {', '.join(MODES)})")
                if stderr:
                    example.expected_stderr, example.mode_stderr = body, mode
                else:
                    example.expected, example.mode = body, mode
            continue
        match = CLAUSE.match(line)
        if match:
            text = [match.group(3)]
            j = i + 1
            while j < len(lines) and lines[j].strip() and not CLAUSE.match(lines[j]) and not FENCE.match(lines[j]):
                text.append(lines[j].strip())
                j += 1
            chapter.clauses.append(Clause(match.group(1), path.stem, " ".join(text), bool(match.group(2)), i + 1))
        i += 1
    return chapter


def _block(lines: list[str], start: int, path: Path) -> tuple[str, int]:
    for end in range(start, len(lines)):
        if lines[end].startswith("```"):
            return "".join(line + "\n" for line in lines[start:end]), end + 1  # an empty block: nothing
    raise SpecError(f"{path}:{start}: unclosed code block")


# Why an example marked ``faults=...`` is not run under a fault profile.
FAULT_MARKS = {
    "own": "the example injects faults of its own, which the profile would disturb",
    "avoid": "the example compares speeds, or how workers start, which the profile's faults change by design",
}


def _example(chapter: Chapter, path: Path, line: int, words: list[str], body: str, first_line: int) -> Example:
    ids = [w for w in words if "=" not in w]
    options = dict(w.split("=", 1) for w in words if "=" in w)
    if not ids:
        raise SpecError(f"{path}:{line}: an example must name the clauses it checks")
    if options.get("faults", "own") not in FAULT_MARKS:
        raise SpecError(f"{path}:{line}: faults= takes {' or '.join(map(repr, FAULT_MARKS))}")
    timeout = float(options.get("timeout", 60))
    return Example(chapter.path.stem, path, line, ids, body, timeout=timeout, faults=options.get("faults"), first_line=first_line)


def load_spec(directory: Path) -> list[Chapter]:
    chapters = [parse_chapter(p) for p in sorted(directory.glob("[0-9][0-9]-*.md"))]
    known = {c.id for ch in chapters for c in ch.clauses}
    seen: set[str] = set()
    for ch in chapters:
        for clause in ch.clauses:
            if clause.id in seen:
                raise SpecError(f"{ch.path}:{clause.line}: clause {clause.id} is defined twice")
            seen.add(clause.id)
        for ex in ch.examples:
            unknown = [c for c in ex.clauses if c not in known]
            if unknown:
                raise SpecError(f"{ex.path}:{ex.line}: example checks unknown clause(s) {', '.join(unknown)}")
    return chapters


_CODE_SPAN = re.compile(r"`([^`]+)`")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@functools.cache
def documented_names(directory: Path) -> frozenset[str]:
    """Every identifier the spec's prose shows in code (`...`), outside examples: the API it documents.

    An optional clause is *not applicable* only when what an implementation lacks is one of these;
    a name missing for any other reason (a typo in an example, a helper not imported) is a failure.
    """
    names: set[str] = set()
    for path in sorted(directory.glob("[0-9][0-9]-*.md")):
        prose = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
        for span in _CODE_SPAN.findall(prose):
            names.update(_IDENTIFIER.findall(span))
        if "context manager" in prose:  # ``with ProManager() as m``: the protocol's names, said in words
            names.update(("__enter__", "__exit__"))
    return frozenset(names)
