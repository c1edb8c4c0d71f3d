"""What a task of ``promp.Executor`` runs in its worker: the call, timed, its outcome pickled.

Calls reach a worker as ``run(tag, payloads)`` through ``evalPythonFunction`` of one line of
source (compiled once per worker, then an import of this module per task), each payload being
the pickle of ``(fn, args, kwargs)``.  What goes back is, for each call, ``[ok, pickle, seconds]``:
the value or the exception (with its traceback as text, which the manager chains as
``__cause__``, as ``ProcessPoolExecutor`` does), and how long the call took, from which the
manager learns which functions are quick enough to queue behind one another.

What refers to the manager's script's ``__main__`` travels by reference; the worker runs the
script once as ``__mp_main__`` to find it, as multiprocessing's spawn does, so the script's top level must be guarded by
``if __name__ == "__main__":`` (an Executor started while the script is being run that way
raises, rather than start workers without end).  Functions cloudpickle sent by value are rebuilt
once per distinct pickle (``by_value``).

Only the standard library is imported here, and what a worker has already: a worker that never
runs a pool task pays nothing.
"""

from __future__ import annotations

import io
import pickle
import sys
import time
import traceback
import types
from typing import Any

from ..worker._api import ProMPAborted

SOURCE = "from promp.executor._task import run\n"  # what each task evaluates (its function: ``run``)
SETUP_SOURCE = "from promp.executor._task import setup\n"

importing_main = False  # true while the manager's main script runs here as __mp_main__
_main_path: str | None = None
_main_loaded = False


def run(tag: int, payloads: list) -> list:
    """Run the calls of one task in order: ``[tag, [[ok, pickled value or error, seconds], ...]]``.

    Quick calls travel several to a task (the manager packs them): one message each way for all of
    them.  An abort (``ProMPAborted``) ends the task: the calls after it are reported not run
    (``ok`` None), and the manager gives them again.
    """
    outcomes = []
    for payload in payloads:
        outcome = _call(payload)
        outcomes.append(outcome)
        if outcome[0] is None:  # aborted: what is left does not run, and the manager gives it again
            outcome[0] = False
            outcomes += [[None, b"", 0.0]] * (len(payloads) - len(outcomes))
            break
    return [tag, outcomes]


def _call(payload: bytes) -> list:
    """``[ok, pickle, seconds]``; ``ok`` is None when the call was aborted."""
    start = time.perf_counter()
    fn = None
    try:
        fn, args, kwargs = loads(payload)
        value = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - everything the call raised is its outcome, SystemExit included
        return [None if isinstance(exc, ProMPAborted) else False, dump_error(exc), time.perf_counter() - start]
    seconds = time.perf_counter() - start
    try:
        return [True, pickle.dumps(value, 5), seconds]
    except BaseException as exc:  # noqa: BLE001
        error = TypeError(f"the result of {name_of(fn)} cannot be sent back: {type(exc).__name__}: {exc}")
        return [False, dump_error(error), seconds]


def run_chunk(fn: Any, chunk: list) -> list:
    """One chunk of ``Executor.map``: the values of ``fn`` over its argument tuples, in order."""
    return [fn(*args) for args in chunk]


def setup(tag: int, sys_path: list, main_path: str | None, initializer: bytes | None) -> list:
    """A worker's first task: the manager's import path and main script, then the initializer, if any."""
    global _main_path
    present = set(sys.path)
    sys.path[:0] = [p for p in sys_path if p not in present]
    _main_path = main_path
    if initializer is None:
        return [tag, [[True, pickle.dumps(None), 0.0]]]
    return run(tag, [initializer])


_rebuilt: dict[bytes, Any] = {}  # functions sent by value (cloudpickle), by their pickle
REBUILT_AT_MOST = 256


def by_value(blob: bytes) -> Any:
    """A function the manager sent by value, rebuilt once per distinct pickle (a map over it sends the same one)."""
    fn = _rebuilt.get(blob)
    if fn is None:
        fn = pickle.loads(blob)
        if len(_rebuilt) >= REBUILT_AT_MOST:
            del _rebuilt[next(iter(_rebuilt))]
        _rebuilt[blob] = fn
    return fn


def loads(data: bytes) -> Any:
    """Unpickle; names of the manager's ``__main__`` are looked up in its script, run here as ``__mp_main__``."""
    if b"__main__" not in data:  # the fast path: nothing of __main__ (or not by reference)
        return pickle.loads(data)
    return _MainUnpickler(io.BytesIO(data)).load()


class _MainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module != "__main__":
            return super().find_class(module, name)
        _load_main()
        try:
            return super().find_class("__mp_main__", name)
        except AttributeError:
            raise AttributeError(
                f"{name} is not defined when the manager's script runs as __mp_main__ in a worker: define it at the "
                'script\'s top level, not under if __name__ == "__main__":'
            ) from None


def _load_main() -> None:
    global importing_main, _main_loaded
    if _main_loaded:
        return
    if _main_path is None:
        raise RuntimeError(
            "the call refers to the manager's __main__, which has no script file (an interactive session?): "
            "define the function in a module, or install cloudpickle to send it by value"
        )
    import runpy

    importing_main = True
    try:
        namespace = runpy.run_path(_main_path, run_name="__mp_main__")
    finally:
        importing_main = False
    module = types.ModuleType("__mp_main__")
    module.__dict__.update(namespace)
    module.__file__ = _main_path
    sys.modules["__mp_main__"] = module  # in place of multiprocessing's alias of this process's own __main__
    _main_loaded = True


def dump_error(exc: BaseException) -> bytes:
    """``(pickled exc, its traceback as text, its type and message)``, pickled: the manager rebuilds what it can.

    An exception that cannot be pickled goes as its type's name and message; one that cannot be rebuilt in the
    manager (an ``__init__`` with other arguments) is replaced there, and the traceback survives either way."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        pickled = pickle.dumps(exc, 5)
    except BaseException:  # noqa: BLE001 - whatever pickling raised, the error must still go back
        pickled = None
    return pickle.dumps((pickled, text, f"{type(exc).__module__}.{type(exc).__qualname__}", str(exc)), 5)


def name_of(fn: Any) -> str:
    """How errors name a function (its qualified name, or what it is)."""
    return getattr(fn, "__qualname__", None) or repr(fn)
