"""A frame-level fault proxy between a real manager and one real worker, for any implementation.

It comes in through the launch hook of chapter 13: a manager puts the words of
``PROMP_WORKER_PREFIX`` in front of each worker command, so with

    PROMP_WORKER_PREFIX="python -m harness.proxy --drop ping@echo=0.3 --seed 7 --"

each worker starts behind a proxy.  The proxy binds four sockets of its own, starts the worker
with its endpoints in place of the manager's (the secret and the alive pipe pass through
untouched: the proxy never reads them), and forwards every frame both ways, dropping, delaying,
duplicating or reordering the ones its rules choose.  Headers are signed, not encrypted, so a
frame's kind is readable without the secret; a ``batch`` frame matches its own kind and every
kind inside it, and a ``tasks`` or ``dones`` frame ``task`` or ``done`` too (it carries them).
It ends with the worker, with the worker's exit status (or signal).

A rule is ``FAULT SELECTOR=VALUE``.  The selector is ``KIND[@SOCKET][:DIRECTION]``: a kind of
chapter 13 (``task``, ``done``, ``ping``...) or ``*``; a socket (``task``, ``echo``: the worker's
heartbeat, ``beat``: the manager's, ``ctrl``); ``up`` (worker to manager) or ``down``.

    --drop SEL=P         drop a matching frame with probability P
    --dup SEL=P          send it twice with probability P
    --delay SEL=MS[~J]   hold it MS milliseconds (plus or minus up to J); a channel keeps its order
    --reorder SEL=P      with probability P, let the next frame of its channel overtake it

With ``--log DIR`` each proxy keeps its record in ``DIR/proxy-PID.json``: what it forwarded and what
each fault did, rewritten while frames flow, at most 20 ms behind (a manager may SIGKILL it at any moment, as
``close()`` does),
and with the worker's exit status at its end.  It never writes to standard output or error, which
belong to the worker.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import os
import random
import secrets
import select
import shlex
import signal
import struct
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import msgpack
import zmq

from .wire import ENDPOINTS, worker_dealer

SOCKETS = tuple(ENDPOINTS)
FAULTS = ("drop", "dup", "delay", "reorder")
HOLD_AT_MOST = 0.5  # seconds a reordered frame waits for the next one to overtake it
RECORD_EVERY = 0.02  # seconds at least between two rewrites of a proxy's record (--log), while frames flow


@dataclass(frozen=True)
class Selector:
    kind: str = "*"
    socket: str = "*"
    direction: str = "*"

    @classmethod
    def parse(cls, text: str) -> Selector:
        kind, _, direction = text.partition(":")
        kind, _, socket = kind.partition("@")
        if socket and socket not in SOCKETS:
            raise ValueError(f"unknown socket {socket!r} in {text!r} (one of {', '.join(SOCKETS)})")
        if direction and direction not in ("up", "down"):
            raise ValueError(f"unknown direction {direction!r} in {text!r} (up or down)")
        return cls(kind or "*", socket or "*", direction or "*")

    def matches(self, kinds: set[str], socket: str, direction: str) -> bool:
        return (
            (self.kind == "*" or self.kind in kinds)
            and self.socket in ("*", socket)
            and self.direction in ("*", direction)
        )


@dataclass
class Rule:
    fault: str
    selector: Selector
    value: float  # a probability, or a delay in seconds
    jitter: float = 0.0  # seconds, delays only
    hits: int = 0

    @classmethod
    def parse(cls, fault: str, text: str) -> Rule:
        selector, eq, value = text.rpartition("=")
        if not eq:
            raise ValueError(f"--{fault} wants SELECTOR=VALUE, got {text!r}")
        chosen = Selector.parse(selector)
        try:
            if fault == "delay":
                ms, _, jitter = value.partition("~")
                return cls(fault, chosen, float(ms) / 1000, float(jitter or 0) / 1000)
            probability = float(value)
        except ValueError:
            raise ValueError(f"--{fault} {text!r}: {value!r} is not a number") from None
        if not 0 <= probability <= 1:
            raise ValueError(f"--{fault} {text!r}: a probability is between 0 and 1")
        return cls(fault, chosen, probability)


def prefix(*rules: str, seed: int = 0) -> str:
    """The launch hook's value that starts workers behind this proxy with ``rules`` (shell words)."""
    return shlex.join([sys.executable, "-m", "harness.proxy", "--seed", str(seed), *rules, "--"])


def readable_now(fd: int) -> bool:
    """Whether ``fd`` is readable (its end reached, for the alive pipe): poll, which takes any descriptor number."""
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


CARRIED = {"tasks": "task", "dones": "done"}  # a message by column carries messages of this kind


def kinds_of(data: bytes | tuple[bytes, ...]) -> set[str]:
    """The kinds a message carries (its own, and for a batch those inside; ``task`` for a ``tasks``, ``done`` for a
    ``dones``); ``?`` if it does not parse.  ``data``: its frame, or its frames (a message may be two, chapter 13)."""
    frames = data if data.__class__ is tuple else (data,)
    first = frames[0]
    try:
        (size,) = struct.unpack(">I", first[32:36])
        head = msgpack.unpackb(first[36 : 36 + size])
        kinds = {head["k"]}
        if head["k"] == "batch":
            kinds |= {inner[0]["k"] for inner in msgpack.unpackb(first[36 + size :] + b"".join(frames[1:]))}
        return kinds | {CARRIED[k] for k in kinds if k in CARRIED}
    except Exception:  # noqa: BLE001 - whatever is malformed is forwarded as it is, under kind "?"
        return {"?"}


@dataclass
class Channel:
    """One socket in one direction: frames leave in order, unless a rule reorders them."""

    last_release: float = 0.0
    held: bytes | None = None
    held_until: float = 0.0


@dataclass
class Faults:
    rules: list[Rule]
    rng: random.Random
    forwarded: Counter = field(default_factory=Counter)

    def apply(
        self, data: bytes | tuple[bytes, ...], socket: str, direction: str, channel: Channel, now: float
    ) -> list[tuple[float, bytes | tuple[bytes, ...]]]:
        """When (absolute times) and what to send for one message (its frame, or its frames): none, one, or more."""
        kinds = kinds_of(data) if self.rules else {"?"}
        chosen = {rule.fault: rule for rule in reversed(self.rules) if rule.selector.matches(kinds, socket, direction)}
        self.forwarded[f"{socket}:{direction}"] += 1
        if self._hit(chosen.get("drop")):
            return []
        copies = 2 if self._hit(chosen.get("dup")) else 1
        delay = chosen.get("delay")
        at = now
        if delay is not None:
            delay.hits += 1
            at += max(0.0, delay.value + self.rng.uniform(-delay.jitter, delay.jitter))
        at = max(at, channel.last_release)  # a channel keeps its order
        out = [(at, data)] * copies
        if channel.held is not None:  # the frame held back goes out after this one
            out.append((at, channel.held))
            channel.held = None
        elif self._hit(chosen.get("reorder")):
            channel.held, channel.held_until = data, at + HOLD_AT_MOST
            out = [(at, data)] * (copies - 1)
        channel.last_release = at
        return out

    def _hit(self, rule: Rule | None) -> bool:
        if rule is None or self.rng.random() >= rule.value:
            return False
        rule.hits += 1
        return True

    def summary(self) -> dict:
        return {
            "forwarded": dict(self.forwarded),
            "faults": [{"fault": r.fault, "selector": vars(r.selector), "hits": r.hits} for r in self.rules],
        }


class Record:
    """A proxy's record in ``DIR/proxy-PID.json``, replaced whole each time (a reader never sees half of one)."""

    def __init__(self, directory: Path, faults: Faults, worker: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"proxy-{os.getpid()}.json"
        self.faults, self.worker, self.last, self.written = faults, worker, 0.0, -1

    def _frames(self) -> int:
        return sum(self.faults.forwarded.values())

    def next_write(self) -> float | None:
        """When the record must next be rewritten: None while it says all there is."""
        return None if self._frames() == self.written else self.last + RECORD_EVERY

    def __call__(self, exit_code: int | None = None) -> None:
        now = time.monotonic()
        due = self.next_write()
        if exit_code is None and (due is None or now < due):
            return
        self.last, self.written = now, self._frames()
        record = {"pid": os.getpid(), "worker": self.worker, "exit": exit_code, **self.faults.summary()}
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(record))
        partial.replace(self.path)


class Proxy:
    def __init__(self, faults: Faults, env: dict[str, str]) -> None:
        self.faults = faults
        self.identity = env["PROMP_WORKER_ID"].encode()
        # Linux's abstract socket namespace: nothing on disk, so a proxy killed with its worker (as managers
        # kill their workers) leaves nothing behind; the frames it carries are signed end to end anyway.
        self.name = f"@promp-proxy-{os.getpid()}-{secrets.token_hex(4)}"
        self.ctx = zmq.Context()
        self.near: dict[str, zmq.Socket] = {}  # ROUTERs the worker connects to
        self.far: dict[str, zmq.Socket] = {}  # DEALERs connected to the manager, as the worker
        self.endpoints: dict[str, str] = {}
        for name in SOCKETS:
            near = self.ctx.socket(zmq.ROUTER)
            near.setsockopt(zmq.LINGER, 0)
            near.setsockopt(zmq.ROUTER_MANDATORY, 1)
            near.bind(f"ipc://{self.name}/{name}")
            self.near[name] = near
            self.endpoints[ENDPOINTS[name]] = near.getsockopt_string(zmq.LAST_ENDPOINT)
            # what the worker said last still reaches the manager (linger)
            self.far[name] = worker_dealer(self.ctx, self.identity, env[ENDPOINTS[name]], linger=2000)
        self.channels = {(name, d): Channel() for name in SOCKETS for d in ("up", "down")}
        self.due: list[tuple[float, int, str, str, bytes]] = []  # (at, order, socket, direction, frame)
        self.order = itertools.count()

    def run(self, worker: subprocess.Popen, record: Record | None = None) -> None:
        """Forward until the worker ends, keeping ``record`` (if any) at most RECORD_EVERY seconds behind."""
        pidfd = os.pidfd_open(worker.pid)
        poller = zmq.Poller()
        for sock in (*self.near.values(), *self.far.values()):
            poller.register(sock, zmq.POLLIN)
        poller.register(pidfd, zmq.POLLIN)
        ended = False
        while not ended:
            wakes = [self.due[0][0]] if self.due else []
            wakes += [c.held_until for c in self.channels.values() if c.held is not None]
            if record is not None:
                record()
                if (due := record.next_write()) is not None:
                    wakes.append(due)
            timeout = max(0.0, (min(wakes) - time.monotonic()) * 1000) if wakes else None
            events = dict(poller.poll(timeout))
            now = time.monotonic()
            for name, sock in self.near.items():
                while sock in events and sock.poll(0):
                    _, *frames = sock.recv_multipart()
                    self._take(name, "up", frames[0] if len(frames) == 1 else tuple(frames), now)
            for name, sock in self.far.items():
                while sock in events and sock.poll(0):
                    frames = sock.recv_multipart()
                    self._take(name, "down", frames[0] if len(frames) == 1 else tuple(frames), now)
            ended = pidfd in events
            self._release(now, flush=ended)
        os.close(pidfd)

    def _take(self, name: str, direction: str, data: bytes | tuple[bytes, ...], now: float) -> None:
        for at, frame in self.faults.apply(data, name, direction, self.channels[name, direction], now):
            heapq.heappush(self.due, (at, next(self.order), name, direction, frame))

    def _release(self, now: float, flush: bool = False) -> None:
        for (name, direction), channel in self.channels.items():
            if channel.held is not None and (flush or channel.held_until <= now):
                heapq.heappush(self.due, (channel.held_until, next(self.order), name, direction, channel.held))
                channel.held = None
        retry, blocked = [], set()
        while self.due and (flush or self.due[0][0] <= now):
            item = heapq.heappop(self.due)
            _, order, name, direction, frame = item
            try:
                if (name, direction) in blocked:  # an earlier frame of its channel is waiting: keep the order
                    raise zmq.Again()
                frames = list(frame) if frame.__class__ is tuple else [frame]  # a message of two frames stays whole
                if direction == "up":
                    self.far[name].send_multipart(frames, zmq.NOBLOCK)
                else:
                    self.near[name].send_multipart([self.identity, *frames], zmq.NOBLOCK)
            except zmq.ZMQError:  # a full queue, or the worker not connected yet (or gone): try again shortly
                if not flush:
                    blocked.add((name, direction))
                    retry.append((now + 0.005, order, name, direction, frame))
        for item in retry:
            heapq.heappush(self.due, item)

    def close(self, manager_alive: bool) -> None:
        """Close, giving the worker's last frames time to reach the manager only if it is still there."""
        for sock in self.near.values():
            sock.close()
        for sock in self.far.values():
            sock.close(linger=None if manager_alive else 0)
        self.ctx.term()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m harness.proxy", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for fault in FAULTS:
        parser.add_argument(f"--{fault}", action="append", default=[], metavar="SEL=VALUE")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", metavar="DIR", help="keep a record of what was forwarded and faulted in DIR/proxy-PID.json")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the worker's command")
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("no worker command: the manager appends it after the prefix, which should end with --")
    try:
        args.rules = [Rule.parse(fault, text) for fault in FAULTS for text in getattr(args, fault)]
    except ValueError as exc:
        parser.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    env = dict(os.environ)
    missing = [v for v in ("PROMP_WORKER_ID", *ENDPOINTS.values()) if v not in env]
    if missing:
        sys.exit(f"harness.proxy: not started by a manager (no {', '.join(missing)})")
    faults = Faults(args.rules, random.Random(args.seed))
    proxy = Proxy(faults, env)
    env.update(proxy.endpoints)
    alive = int(env["PROMP_ALIVE_FD"]) if "PROMP_ALIVE_FD" in env else None
    inherited = [int(env[v]) for v in ("PROMP_ALIVE_FD", "PROMP_SECRET_FD") if v in env]
    worker = subprocess.Popen(args.command, env=env, pass_fds=inherited)
    for fd in inherited:
        if fd != alive:
            os.close(fd)  # the secret is the worker's alone
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda s, _f: worker.send_signal(s))
    record = Record(Path(args.log), faults, worker.pid) if args.log else None
    try:
        proxy.run(worker, record)
    finally:
        code = worker.wait()
        proxy.close(manager_alive=alive is None or not readable_now(alive))
        if record is not None:
            record(code)
    if code < 0:  # killed by a signal: so is the proxy, so that the manager sees the same end
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    main()
