"""The named ways a PLC exchange can fail. ``str()`` is a message for the operator."""

from __future__ import annotations

# Modbus exception codes (Modbus Application Protocol v1.1b3, section 7).
EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}


class PlcError(Exception):
    """Base of every PLC failure. No value is produced when one is raised."""


class PlcUnreachable(PlcError):
    """No connection: refused, lost, or waiting out the reconnect backoff."""


class PlcTimeout(PlcError):
    """The PLC did not answer within the request timeout."""


class PlcExceptionResponse(PlcError):
    """The PLC answered with a Modbus exception."""

    def __init__(self, function_code: int, address: int, exception_code: int) -> None:
        self.function_code = function_code
        self.address = address
        self.exception_code = exception_code
        name = EXCEPTION_NAMES.get(exception_code, "unknown exception")
        super().__init__(
            f"PLC refused function {function_code} at address {address}: "
            f"exception {exception_code} ({name})"
        )


class PlcGarbage(PlcError):
    """An answer that does not fit the request (wrong length, wrong kind, not a frame).

    The subclasses below name the field that gave it away; the link is closed after
    any of them, so nothing left of that answer can be read as the next one.
    """


class WrongProtocolId(PlcGarbage):
    """The bytes that came back do not carry Modbus TCP's protocol id 0: not a Modbus
    answer at all (random bytes, another protocol on the port)."""


class IncompleteAnswer(PlcGarbage):
    """Part of a frame arrived, then nothing more within the request timeout."""


class WrongTransactionId(PlcGarbage):
    """A frame that answers another request (a late answer, a confused gateway)."""


class WrongUnitId(PlcGarbage):
    """A frame from another unit than the one asked (a gateway routing wrongly)."""


class WrongFunctionCode(PlcGarbage):
    """A well-formed answer to another kind of request (e.g. input registers, FC4,
    for a read of holding registers, FC3): its values belong to other addresses."""


class WrongByteCount(PlcGarbage):
    """The answer's byte count disagrees with the count asked for or with its frame."""


class WriteRefused(PlcError):
    """A write rejected before anything was sent: not writable, wrong type, out of range."""


class WriteNotConfirmed(PlcError):
    """The value read back after a write differs from the value written."""
