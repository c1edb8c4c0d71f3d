"""Broken: the manager reads a dead worker's exit status without reaping it, so zombies pile up."""

import os
import subprocess

from promp.manager import _spawn, _zygote
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


def _status_without_reaping(self, timeout=None):
    if self.returncode is None:
        info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
        self.returncode = -info.si_status if info.si_code in (os.CLD_KILLED, os.CLD_DUMPED) else info.si_status
    return self.returncode


class _Unreaped(subprocess.Popen):
    wait = _status_without_reaping


_spawn.subprocess = type("subprocess", (), {**vars(subprocess), "Popen": _Unreaped})  # cold workers
_zygote.AdoptedProcess.wait = _status_without_reaping  # warm ones
