"""What a worker does with each kind of task: run code, scripts and functions.

Every task runs in a fresh namespace, so one task's globals never leak into
the next.  Compiled code is cached by its source, which makes repeated calls
of the same function cheap; the source is also registered with ``linecache``
so that remote tracebacks show the offending lines.
"""

from __future__ import annotations

import builtins
import linecache
import os
import runpy
import sys
from collections.abc import Callable
from types import FunctionType
from typing import Any

from ..wire import Task

_compiled: dict[str, Any] = {}
_MAX_CACHED = 256


_compiled_count = 0


def _compile(source: str, label: str) -> Any:
    global _compiled_count
    code = _compiled.get(source)
    if code is None:
        _compiled_count += 1
        filename = f"<{label} #{_compiled_count}>"
        code = compile(source, filename, "exec")
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        if len(_compiled) >= _MAX_CACHED:  # forget the oldest, and its lines: distinct sources must not pile up
            linecache.cache.pop(_compiled.pop(next(iter(_compiled))).co_filename, None)
        _compiled[source] = code
    return code


def _fresh_namespace(name: str) -> dict[str, Any]:
    return {"__name__": name, "__builtins__": builtins}


def _run_script(path: str, run_name: str) -> dict[str, Any]:
    """Run a file the way ``python path`` would: its folder on sys.path, argv[0] set."""
    saved_argv, saved_path0 = sys.argv, sys.path[0] if sys.path else None
    sys.argv = [path]
    sys.path.insert(0, os.path.dirname(path))
    try:
        return runpy.run_path(path, run_name=run_name)
    finally:
        sys.argv = saved_argv
        if sys.path and sys.path[0] == os.path.dirname(path) and (len(sys.path) < 2 or sys.path[1] == saved_path0):
            del sys.path[0]


def _call(namespace: dict[str, Any], name: str, args: list[Any], origin: str) -> Any:
    function = namespace.get(name)
    if function is None:
        raise NameError(f"{origin} defines no function named {name!r}")
    if not callable(function):
        raise TypeError(f"{name!r} in {origin} is a {type(function).__name__}, not a function")
    return function(*args)


def eval_code(task: Task, args: list[Any]) -> Any:
    exec(_compile(task.src, "evalPythonCode"), _fresh_namespace("__main__"))


def execute_script(task: Task, args: list[Any]) -> Any:
    _run_script(task.path, "__main__")


def eval_function(task: Task, args: list[Any]) -> Any:
    namespace = {"__name__": "__mp_main__", "__builtins__": builtins}  # ``_fresh_namespace``, without its call
    exec(_compiled.get(task.src) or _compile(task.src, "evalPythonFunction"), namespace)
    function = namespace.get(task.fn)
    if function.__class__ is FunctionType:  # the usual case: ``_call`` says what is wrong with any other
        return function(*args)
    return _call(namespace, task.fn, args, "the code")


def execute_function(task: Task, args: list[Any]) -> Any:
    return _call(_run_script(task.path, "__mp_main__"), task.fn, args, task.path)


def test_message(task: Task, args: list[Any]) -> Any:
    print("Test message.")


def test_message_box(task: Task, args: list[Any]) -> Any:
    """A real Tk message box where there is a display; otherwise a line of text."""
    if os.environ.get("DISPLAY") or sys.platform in ("win32", "darwin"):
        try:
            import tkinter
            from tkinter import messagebox

            root = tkinter.Tk()
            root.withdraw()
            messagebox.showinfo("Pro.MP", "Test message box.", parent=root)
            root.destroy()
            return None
        except Exception:  # no usable display after all: fall back to text
            pass
    print("Test message box.")


# one for each operation of the wire's schema (``wire.OPERATIONS``), which has checked each task's operands
OPERATIONS: dict[str, Callable[[Task, list[Any]], Any]] = {
    "code": eval_code,
    "script": execute_script,
    "func_code": eval_function,
    "func_script": execute_function,
    "test": test_message,
    "testbox": test_message_box,
}
