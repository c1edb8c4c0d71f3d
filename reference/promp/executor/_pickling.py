"""How a call crosses to a worker: pickled by reference, or by value with cloudpickle.

Pickle sends a function as its module and qualified name, which the worker imports: fast, and
what ``ProcessPoolExecutor`` does.  Lambdas, closures and functions of an interactive
``__main__`` cannot go that way; with the optional ``cloudpickle`` installed they go by value
(and so does anything of the script's ``__main__``, which the worker then need not run).  A plain
function of ``__main__`` is pickled by value once, at its first call, and its workers rebuild it
once: a map over it costs what a map over a module's function does (cloudpickle takes about 50
us a call), and its globals are those of that first call, as a forked pool's are those of the fork.
Without it, a script's ``__main__`` functions are found by running the script in the worker as
``__mp_main__`` (``_task``), as multiprocessing's spawn does.

Pickling happens on the submitting thread, so a call that cannot be pickled fails its own future
with an ``UnpicklableCall`` that says why and what to do, never the pool.
"""

from __future__ import annotations

import pickle
import sys
import types
import weakref
from functools import partial
from typing import Any

from ._task import by_value, run_chunk

try:  # optional: pip install 'promp[cloudpickle]'
    import cloudpickle
except ImportError:  # pragma: no cover - depends on the environment
    cloudpickle = None

# What a worker sends back that refers to the script it ran as __mp_main__ (a class of the
# script) is found in the manager's own __main__, as multiprocessing arranges it.
if "__main__" in sys.modules:
    sys.modules.setdefault("__mp_main__", sys.modules["__main__"])


class UnpicklableCall(pickle.PicklingError, TypeError):
    """A call (its function, an argument) cannot be pickled to go to a worker: what ``result()`` raises for it.

    A ``PicklingError`` and a ``TypeError``: what pickle raises for such objects, and what code catches."""


def dump_call(fn: Any, args: tuple, kwargs: dict) -> bytes:
    """The pickle of ``(fn, args, kwargs)``; ``UnpicklableCall`` naming ``fn`` when it cannot be made.

    By reference when it can (fast); with cloudpickle, what refers to ``__main__`` or cannot go by reference goes
    by value: the function alone when that is enough (a plain function's pickle is made once and kept, as its
    worker keeps what it rebuilt from it), else the whole call.
    """
    try:
        data = pickle.dumps((fn, args, kwargs), 5)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - pickling raises many types, and a __reduce__ may even exit
        data, failure = None, exc
    if data is not None and (cloudpickle is None or b"__main__" not in data):
        return data  # by reference; without cloudpickle, __main__ is found by the worker running the script
    if cloudpickle is None:
        raise UnpicklableCall(
            f"cannot send the call of {_name(fn)} to a worker: {type(failure).__name__}: {failure}. Functions and values "
            "go by reference (module and name): define them at a module's top level, or install cloudpickle "
            "(pip install cloudpickle) to send lambdas and closures by value"
        ) from failure
    try:
        function = _function_by_value(fn)
        data = pickle.dumps((function, args, kwargs), 5)
        inside = function.blob.count(b"__main__") if isinstance(function, _ByValue) else 0
        if data.count(b"__main__") == inside:  # nothing but the function by value refers to __main__
            return data
    except (Exception, SystemExit):  # noqa: BLE001 - an argument that needs cloudpickle too
        pass
    try:
        return cloudpickle.dumps((fn, args, kwargs), 5)
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        raise UnpicklableCall(f"cannot send the call of {_name(fn)} to a worker: {type(exc).__name__}: {exc}") from exc


class _ByValue:
    """A function pickled by cloudpickle, rebuilt in the worker once per distinct pickle (``_task.by_value``)."""

    __slots__ = ("blob",)

    def __init__(self, blob: bytes) -> None:
        self.blob = blob

    def __reduce__(self) -> tuple:
        return (by_value, (self.blob,))


_blobs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # plain function -> its pickle by value


def _function_by_value(fn: Any) -> Any:
    """``fn`` as a ``_ByValue`` when it is a function (its pickle kept when it has no closure: the same function
    then makes the same pickle, and its workers rebuild it once); anything else as it is."""
    if not isinstance(fn, types.FunctionType):
        return fn
    if fn.__closure__ is not None:
        return _ByValue(cloudpickle.dumps(fn, 5))
    blob = _blobs.get(fn)
    if blob is None:
        blob = _blobs[fn] = cloudpickle.dumps(fn, 5)
    return _ByValue(blob)


def function_key(fn: Any) -> str:
    """Which function a call runs, as run times are learnt: its module and qualified name (a partial's function's;
    ``map``'s chunks of ``f`` are a kind of their own)."""
    if isinstance(fn, partial):
        if fn.func is run_chunk and fn.args:
            return function_key(fn.args[0]) + " (chunks)"
        fn = fn.func
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)
