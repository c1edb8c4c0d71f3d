"""How a call crosses to a worker: pickled by reference, or by value with cloudpickle.

Pickle sends a function as its module and qualified name, which the worker imports: fast, and
what ``ProcessPoolExecutor`` does.  Lambdas, closures and functions of an interactive
``__main__`` cannot go that way; with the optional ``cloudpickle`` installed they go by value
(and so does anything of the script's ``__main__``, which the worker then need not run).
Without it, a script's ``__main__`` functions are found by running the script in the worker as
``__mp_main__`` (``_task``), as multiprocessing's spawn does.

Pickling happens on the submitting thread, so a call that cannot be pickled fails its own future
with an ``UnpicklableCall`` that says why and what to do, never the pool.
"""

from __future__ import annotations

import pickle
import sys
from functools import partial
from typing import Any

from ._task import run_chunk

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
    """The pickle of ``(fn, args, kwargs)``; ``UnpicklableCall`` naming ``fn`` when it cannot be made."""
    call = (fn, args, kwargs)
    try:
        data = pickle.dumps(call, 5)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - pickling raises many types, and a __reduce__ may even exit
        if cloudpickle is None:
            raise UnpicklableCall(
                f"cannot send the call of {_name(fn)} to a worker: {type(exc).__name__}: {exc}. Functions and values "
                "go by reference (module and name): define them at a module's top level, or install cloudpickle "
                "(pip install cloudpickle) to send lambdas and closures by value"
            ) from exc
        data = None
    if cloudpickle is not None and (data is None or b"__main__" in data):
        try:
            data = cloudpickle.dumps(call, 5)
        except (Exception, SystemExit) as exc:  # noqa: BLE001
            raise UnpicklableCall(f"cannot send the call of {_name(fn)} to a worker: {type(exc).__name__}: {exc}") from exc
    return data


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
