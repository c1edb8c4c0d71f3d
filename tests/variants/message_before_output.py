"""Broken: a custom message can be seen before the output its worker printed first.

The output read with the message is written one processing round later, as if messages were
handled on a background thread and output only at the next processMessages().
"""

from promp.manager import _driver
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_receive = _driver.ManagerDriver.receive
_take = _driver.ManagerDriver.take_user


def _note_messages(self, wid, messages, now):
    if any(m.kind == "msg" for m in messages):
        self.__dict__["_message_came"] = True
    return _receive(self, wid, messages, now)


def _one_round_late(self, with_output=True):
    if with_output and self.__dict__.pop("_message_came", False):
        return _take(self, with_output=False)  # kept for the next round
    return _take(self, with_output)


_driver.ManagerDriver.receive = _note_messages
_driver.ManagerDriver.take_user = _one_round_late
