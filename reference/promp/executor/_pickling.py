"""How a call crosses to a worker: pickled by reference, or by value with cloudpickle.

Pickle sends a function as its module and qualified name, which the worker imports: fast, and
what ``ProcessPoolExecutor`` does.  What refers to the script's ``__main__`` goes the same way: the
worker runs the script once as ``__mp_main__`` to find it (``_task``), as multiprocessing's spawn
does, so an initializer that sets a global of the script is seen by the calls, and the script's
classes come back as themselves.  Lambdas, closures and an interactive session's ``__main__``
cannot go by reference; with the optional ``cloudpickle`` installed they go by value.  A plain
function is pickled by value once, at its first call, and its workers rebuild it once: a map over
it costs what a map over a module's function does (cloudpickle takes about 50 us a call).

Pickling happens on the submitting thread, so a call that cannot be pickled fails its own future
with an ``UnpicklableCall`` that says why and what to do, never the pool.
"""

from __future__ import annotations

import os
import pickle
import sys
import types
import weakref
from functools import partial
from typing import Any

from ._task import by_value, name_of, run_chunk

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

    By reference when it can: fast, and what refers to a script's ``__main__`` is found by the worker running
    the script as ``__mp_main__`` (its globals and classes shared, as with spawn).  With cloudpickle, what cannot
    go by reference (lambdas, closures, an interactive session's ``__main__``) goes by value: the function alone
    when that is enough (a plain function's pickle is made once and kept, and its worker rebuilds it once), else
    the whole call.
    """
    try:
        data = pickle.dumps((fn, args, kwargs), 5)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - pickling raises many types, and a __reduce__ may even exit
        data, failure = None, exc
    if data is not None and (b"__main__" not in data or main_script() is not None):
        return data
    if cloudpickle is None:
        if data is not None:
            raise UnpicklableCall(
                f"the call of {name_of(fn)} refers to __main__, which has no script file for the workers to run (an "
                "interactive session?): define what it uses in a module, or install cloudpickle to send it by value"
            )
        raise _unpicklable(fn, failure)
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
        raise UnpicklableCall(f"cannot send the call of {name_of(fn)} to a worker: {type(exc).__name__}: {exc}") from exc


def main_script() -> str | None:
    """The manager's main script, which a worker runs as ``__mp_main__`` to find what refers to ``__main__``."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return os.path.abspath(path) if path and os.path.isfile(path) else None


def _unpicklable(fn: Any, failure: BaseException) -> UnpicklableCall:
    try:
        pickle.dumps(fn, 5)
    except (Exception, SystemExit):  # noqa: BLE001
        what = (
            f"the function {name_of(fn)} cannot be pickled ({type(failure).__name__}: {failure}): functions go by reference "
            "(module and name), so define it at a module's top level, or install cloudpickle (pip install cloudpickle) "
            "to send lambdas and closures by value"
        )
    else:
        what = f"an argument of the call of {name_of(fn)} cannot be pickled: {type(failure).__name__}: {failure}"
    error = UnpicklableCall(what)
    error.__cause__ = failure
    return error


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

