"""The wire between a manager and its workers: typed messages, signed frames, and the pyzmq calls that carry them.

Pure but for ``_zmq`` (socket helpers); both sides import it, and the simulator carries its frames
through it.  Spec chapter 13 is the protocol's definition; this package is the reference's reading.
"""

from ._frames import Rejects, Signer, decode, encode, encode_header, encode_many
from ._messages import (
    OPERATIONS,
    PROTOCOL_VERSION,
    Abort,
    BadTask,
    Bye,
    Done,
    Dones,
    Hello,
    Message,
    Msg,
    Ping,
    ProtocolError,
    Stop,
    Task,
    Tasks,
    WaitUpdate,
)

__all__ = [
    "OPERATIONS",
    "PROTOCOL_VERSION",
    "Abort",
    "BadTask",
    "Bye",
    "Done",
    "Dones",
    "Hello",
    "Message",
    "Msg",
    "Ping",
    "ProtocolError",
    "Rejects",
    "Signer",
    "Stop",
    "Task",
    "Tasks",
    "WaitUpdate",
    "decode",
    "encode",
    "encode_header",
    "encode_many",
]
