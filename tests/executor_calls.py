"""Functions the Executor's tests send to workers: module-level, so they go by reference (light to import)."""

from __future__ import annotations

import os
import signal
import sys
import time


def square(x: int) -> int:
    return x * x


def pid() -> int:
    return os.getpid()


def slow_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def die(code: int) -> None:
    os._exit(code)


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def fail(message: str) -> None:
    raise ValueError(message)


def sleep_forever() -> None:
    while True:
        time.sleep(0.01)


def spin_forever() -> None:
    while True:
        pass


def touch_then_sleep(path: str, seconds: float) -> None:
    open(path, "w").close()
    time.sleep(seconds)


def return_unpicklable() -> object:
    return lambda: None


def kwargs_echo(*args: object, **kwargs: object) -> tuple:
    return args, kwargs


def print_line(text: str) -> None:
    print(text)
    sys.stdout.flush()


initialized: list = []


def remember(value: object) -> None:
    initialized.append(value)


def remembered() -> list:
    return initialized


def refuse_init() -> None:
    raise RuntimeError("no, this worker will not start")


class TwoArgumentError(Exception):
    def __init__(self, a: object, b: object) -> None:
        super().__init__(f"{a} and {b}")


def raise_two_argument_error() -> None:
    raise TwoArgumentError(1, 2)


def sleep_if(x: int, sleepy: int, seconds: float, path: str = "") -> int:
    """``x``, at once unless it is ``sleepy``: then ``path`` is made and the call sleeps ``seconds``."""
    if x == sleepy:
        if path:
            open(path, "w").close()
        time.sleep(seconds)
    return x


def pid_of(_: object) -> int:
    return os.getpid()
