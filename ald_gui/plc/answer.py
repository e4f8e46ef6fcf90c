"""Is this answer the answer to that request? Checked on the bytes of the exchange.

pymodbus decodes whatever frame comes back by the function code the frame carries, so a
well-formed FC4 answer to an FC3 read of the same length passes as data; and frames it
does not want (another transaction or unit, a non-zero protocol id, undecodable bytes)
it skips silently and then reports a timeout. Both are settled here, from the raw
request and answer of one exchange (Modbus Application Protocol v1.1b3 and Modbus
Messaging on TCP/IP v1.0b):

- MBAP header: protocol id 0, a length that fits one frame, the request's transaction
  id and unit id;
- PDU: the request's function code (or its exception code, fc | 0x80); for a read, the
  byte count the requested quantity needs, matching the frame's length; for a write,
  the echo of the address and quantity or value written.

Pure: no I/O, no pymodbus. Every failure is a named PlcGarbage subclass whose text says
which field was wrong and what was expected.
"""

from __future__ import annotations

from ald_gui.plc.errors import (
    IncompleteAnswer,
    PlcGarbage,
    WrongByteCount,
    WrongFunctionCode,
    WrongProtocolId,
    WrongTransactionId,
    WrongUnitId,
)

_MBAP = 7  # transaction id (2), protocol id (2), length (2), unit id (1)
_MAX_LENGTH = 254  # unit id + the largest PDU (253 bytes)
_READS = {1: "coils", 2: "discrete inputs", 3: "holding registers", 4: "input registers"}
_WRITES = {5, 6, 15, 16}  # their answers echo address and value/quantity


def check_answer(request: bytes, answer: bytes, where: str, timeout_s: float) -> None:
    """Raise the named PlcGarbage subclass if ``answer`` (every byte received after
    sending ``request``, a Modbus TCP request frame) is not exactly one frame answering
    it. Returns quietly when ``answer`` is that answer, and when it is empty (no answer
    at all: the caller's timeout)."""
    if not answer:
        return
    tid, unit, fc = int.from_bytes(request[0:2], "big"), request[6], request[7]
    peer = f"PLC {where}"
    if len(answer) < _MBAP + 1:
        raise IncompleteAnswer(
            f"{peer} sent {len(answer)} bytes, less than a Modbus TCP header, then nothing "
            f"within {timeout_s:g} s (function {fc})"
        )
    if pid := int.from_bytes(answer[2:4], "big"):
        raise WrongProtocolId(
            f"{peer} answered function {fc} with bytes that are not Modbus TCP "
            f"(protocol id {pid}, not 0): {answer[:16].hex(' ')}"
        )
    length = int.from_bytes(answer[4:6], "big")
    if not 2 <= length <= _MAX_LENGTH:
        raise PlcGarbage(
            f"{peer} answered function {fc} with a frame length of {length} "
            f"(Modbus TCP allows 2-{_MAX_LENGTH})"
        )
    end = 6 + length
    if len(answer) < end:
        raise IncompleteAnswer(
            f"{peer} sent {len(answer)} of the {end} bytes its answer to function {fc} "
            f"announced, then nothing within {timeout_s:g} s"
        )
    if (got_tid := int.from_bytes(answer[0:2], "big")) != tid:
        raise WrongTransactionId(
            f"{peer} answered transaction {got_tid} to request {tid} (function {fc}): "
            "an answer to another request"
        )
    if (got_unit := answer[6]) != unit:
        raise WrongUnitId(
            f"{peer} answered as unit {got_unit} to a request for unit {unit} (function {fc})"
        )
    pdu = answer[_MBAP:end]
    if pdu[0] == fc | 0x80:
        if len(pdu) != 2:
            raise PlcGarbage(f"{peer} sent an exception answer of {len(pdu)} bytes, not 2")
    elif pdu[0] != fc:
        raise WrongFunctionCode(
            f"{peer} answered function {fc} with function {pdu[0]}: "
            "the answer to another kind of request"
        )
    elif fc in _READS:
        _check_read(peer, request, pdu)
    elif fc in _WRITES and pdu[1:] != request[_MBAP + 1 : _MBAP + 5]:
        raise PlcGarbage(
            f"{peer} confirmed function {fc} with {pdu[1:].hex(' ')}, "
            f"not the echo {request[_MBAP + 1 : _MBAP + 5].hex(' ')} of the request"
        )
    if len(answer) > end:
        raise PlcGarbage(
            f"{peer} sent {len(answer) - end} bytes more than one answer to function {fc}"
        )


def _check_read(peer: str, request: bytes, pdu: bytes) -> None:
    fc = pdu[0]
    quantity = int.from_bytes(request[_MBAP + 3 : _MBAP + 5], "big")
    wanted = quantity * 2 if fc in (3, 4) else (quantity + 7) // 8
    got = pdu[1] if len(pdu) > 1 else 0
    if got != wanted:
        raise WrongByteCount(
            f"{peer} answered a read of {quantity} {_READS[fc]} with a byte count of {got}, "
            f"not {wanted}"
        )
    if len(pdu) != 2 + got:
        raise WrongByteCount(
            f"{peer} answered a read of {quantity} {_READS[fc]} with a byte count of {got} "
            f"in a frame carrying {len(pdu) - 2} data bytes"
        )
