"""The shared temp directory: a manager never opens, follows or deletes what another user put there, and tells a
live manager's socket directory from a dead one's by the lock the live one holds, not by pids and clocks (issue 19)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
import time

import pytest

from promp import ProManager

from .conftest import wait_until

OTHER_UID = 65534  # nobody


def _dir(name: str) -> str:
    path = os.path.join(tempfile.gettempdir(), name)
    os.mkdir(path, 0o700)
    return path


def _remove(path: str) -> None:
    subprocess.run(["rm", "-rf", path], check=False)


@pytest.fixture
def planted():
    made: list[str] = []
    yield made
    for path in made:
        _remove(path)


def _new_manager_within(seconds: float) -> None:
    started = time.monotonic()
    code = "from promp import ProManager; ProManager().close()"
    done = subprocess.run([sys.executable, "-c", code], timeout=seconds + 30, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < seconds


def _trapped(planted: list[str], name: str, trap: str) -> str:
    """A socket directory whose ``owner`` and ``lock`` are a FIFO, a link to /dev/zero, or a stale stamp."""
    path = _dir(name)
    planted.append(path)
    for entry in ("owner", "lock"):
        target = os.path.join(path, entry)
        if trap == "fifo":
            os.mkfifo(target)
        elif trap == "zero":
            os.symlink("/dev/zero", target)
        else:
            with open(target, "w") as f:
                f.write("1 0.0")  # a stamp no live process has
    return path


@pytest.mark.skipif(os.getuid() != 0, reason="making a directory that another user owns needs root")
@pytest.mark.parametrize("trap", ["fifo", "zero", "dir"])
def test_another_users_directory_is_neither_read_nor_removed(planted, trap: str):
    path = _trapped(planted, f"promp-other{trap}", trap)
    os.chown(path, OTHER_UID, OTHER_UID)
    _new_manager_within(10)  # a FIFO hung every new manager; /dev/zero was read until memory ran out
    assert os.path.isdir(path)  # and root deleted other users' directories


@pytest.mark.parametrize("trap", ["fifo", "zero"])
def test_our_own_directory_with_a_trap_in_it_does_not_hang_a_new_manager(planted, trap: str):
    _trapped(planted, f"promp-trap{trap}", trap)
    _new_manager_within(10)


def test_a_live_managers_directory_survives_whatever_its_stamp_says_and_a_dead_ones_goes(planted):
    live = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nfrom promp import ProManager\nm = ProManager()\nprint(m._port.endpoints['task'], flush=True)\ntime.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        endpoint = live.stdout.readline().strip()
        path = os.path.dirname(endpoint[len("ipc://") :])
        owner = os.path.join(path, "owner")
        if os.path.exists(owner):  # a clock stepped by a second, or a pid from another namespace: the stamp no longer matches
            with open(owner, "w") as f:
                f.write(f"{live.pid} 1.0")
        ProManager().close()
        assert os.path.isdir(path)
        live.kill()
        live.wait()
        ProManager().close()  # its owner is gone now (killed: it could not remove its directory itself)
        wait_until(lambda: not os.path.exists(path), 5)
    finally:
        live.kill()
        live.wait()
        live.stdout.close()


def test_a_manager_holds_a_lock_in_its_directory_for_its_life(manager: ProManager):
    path = os.path.dirname(manager._port.endpoints["task"][len("ipc://") :])
    fd = os.open(os.path.join(path, "lock"), os.O_RDONLY | os.O_NOFOLLOW)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)


@pytest.mark.parametrize("cut_after", range(5))
def test_a_dead_managers_directory_removal_cut_short_still_leaves_its_lock(tmp_path, monkeypatch, cut_after: int):
    """Workers remove their dead manager's directory; one killed in the middle must not leave it without its lock,
    which is how later managers tell a dead manager's directory (a lockless one would stay for good)."""
    from promp.worker import _port

    directory = tmp_path / "promp-dead"
    directory.mkdir()
    for name in ("beat", "ctrl", "echo", "lock", "task"):
        (directory / name).write_text("")
    unlink = os.unlink
    done = []

    def cut_short(path, *args, **kwargs):
        if len(done) == cut_after:
            raise SystemExit("killed here")
        done.append(path)
        unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", cut_short)
    with pytest.raises(SystemExit):
        _port.remove_manager_directory(str(directory))
    assert (directory / "lock").exists()
