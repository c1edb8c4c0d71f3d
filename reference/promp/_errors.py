"""Exceptions and error values of the public API."""

from __future__ import annotations


class ProMPError(RuntimeError):
    """Base class of every error this package raises (extension)."""


class ProWorkerExited(ProMPError):
    """A call targeted a worker that has exited or is stopping (extension)."""


class ProMPQueueFull(ProMPError):
    """A task was refused: the tasks given and not yet done already hold the manager's ``max_queued_bytes``
    (extension).  Nothing of the refused call was kept: give it again once tasks have finished."""


class ProMPRemoteError(ProMPError):
    """A task failed in the worker: the value ``takeResult`` returns for it (extension).

    It is returned, not raised, so one failed task never breaks a result loop;
    ``raise result`` re-raises it in the manager if that is what the caller wants.
    """

    def __init__(self, type: str, message: str, traceback: str = "", workerId: int | None = None):
        super().__init__(f"{type}: {message}")
        self.type = type
        self.message = message
        self.traceback = traceback
        self.workerId = workerId

    def __repr__(self) -> str:
        return f"ProMPRemoteError(type={self.type!r}, message={self.message!r}, workerId={self.workerId!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProMPRemoteError) and (self.type, self.message, self.workerId) == (
            other.type,
            other.message,
            other.workerId,
        )

    __hash__ = None  # type: ignore[assignment]
