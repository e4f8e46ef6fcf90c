"""Attacks on the run control of a real running console, from a web page in the
operator's browser and from a local program without the token: every request that is
not a deliberate client's is refused with its own status, changes nothing (no run in
the record), and the console goes on serving. Raw bytes on a socket, so that the
request line, ``Host`` and framing are the attacker's to choose."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.attack_target import Target, split_answer
from tests.waiting import wait_until


@pytest.fixture
def target(pg_tmp_path: Path) -> Iterator[Target]:
    with Target(pg_tmp_path / "ald-gui") as running:
        yield running


def _request(
    request_line: str, headers: dict[str, str], body: bytes = b"", *, length: bool = True
) -> bytes:
    lines = [request_line, *(f"{k}: {v}" for k, v in headers.items())]
    if body and length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _attacks(t: Target) -> list[tuple[str, bytes, int]]:
    """(what, the bytes sent, the status that must answer)."""
    here = f"127.0.0.1:{t.port}"
    token = t.token
    bearer = f"Bearer {token}"
    guess = "Bearer " + "A" * len(token)
    changed = "Bearer " + token[:-1] + ("A" if token[-1] != "A" else "B")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    start = "POST /runs/start?operator=mallory HTTP/1.1"
    return [
        # What a page in the browser can send without the token.
        ("a form posted by a web page", _request(
            "POST /runs/start HTTP/1.1",
            {"Host": here, "Origin": "http://evil.example", **form}, b"operator=mallory"), 403),
        ("a form from a page whose browser hides its Origin", _request(
            "POST /runs/start HTTP/1.1", {"Host": here, **form}, b"operator=mallory"), 401),
        ("a no-cors text/plain fetch", _request(
            start, {"Host": here, "Content-Type": "text/plain"}, b'{"operator": "m"}'), 401),
        ("a DNS-rebinding page reading /status", _request(
            "GET /status HTTP/1.1", {"Host": f"evil.example:{t.port}"}), 403),
        ("a sandboxed page (Origin: null)", _request(
            start, {"Host": here, "Origin": "null"}), 403),
        ("a CORS preflight", _request(
            "OPTIONS /runs/start HTTP/1.1", {"Host": here, "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization"}), 501),
        ("a link or an image", _request(
            "GET /runs/start?operator=mallory HTTP/1.1", {"Host": here}), 401),
        # A local program that cannot read the token.
        ("no token", _request(start, {"Host": here}), 401),
        ("a guessed token", _request(start, {"Host": here, "Authorization": guess}), 401),
        ("the token with its last character changed", _request(
            start, {"Host": here, "Authorization": changed}), 401),
        ("the token's first half", _request(
            start, {"Host": here, "Authorization": bearer[: len(bearer) // 2]}), 401),
        ("the token as Basic", _request(
            start, {"Host": here, "Authorization": f"Basic {token}"}), 401),
        ("the token in the query string", _request(
            f"POST /runs/start?operator=mallory&token={token} HTTP/1.1", {"Host": here}), 401),
        # The token alone does not make a request deliberate.
        ("a rebound name with the token", _request(
            start, {"Host": f"evil.example:{t.port}", "Authorization": bearer}), 403),
        ("Host of another port", _request(
            start, {"Host": f"127.0.0.1:{t.port + 1}", "Authorization": bearer}), 403),
        ("Host without the port", _request(
            start, {"Host": "127.0.0.1", "Authorization": bearer}), 403),
        ("a web page's Origin with the token", _request(
            start, {"Host": here, "Origin": "http://evil.example", "Authorization": bearer}),
            403),
        ("an Origin of the loopback address on another port", _request(
            start, {"Host": here, "Origin": f"http://127.0.0.1:{t.port + 1}",
                    "Authorization": bearer}), 403),
        ("an absolute URI with a foreign Host", _request(
            f"POST http://{here}/runs/start?operator=mallory HTTP/1.1",
            {"Host": "evil.example", "Authorization": bearer}), 403),
        ("HTTP/1.0 without a Host", _request(
            "POST /runs/start?operator=mallory HTTP/1.0", {"Authorization": bearer}), 403),
        ("a form with the token", _request(
            "POST /runs/start HTTP/1.1", {"Host": here, "Authorization": bearer, **form},
            b"operator=mallory"), 415),
        ("a chunked body", _request(
            start, {"Host": here, "Authorization": bearer, "Transfer-Encoding": "chunked",
                    "Content-Type": "application/json"},
            b'14\r\n{"operator": "mall"}\r\n0\r\n\r\n', length=False), 411),
        ("a Content-Length that is not a number", _request(
            start, {"Host": here, "Authorization": bearer, "Content-Type": "application/json",
                    "Content-Length": "\u00b2"}, b"{}", length=False), 411),
        ("GET with a method-override header", _request(
            "GET /runs/start?operator=mallory HTTP/1.1",
            {"Host": here, "Authorization": bearer, "X-HTTP-Method-Override": "POST"}), 405),
    ]  # fmt: skip


def test_requests_of_web_pages_and_of_programs_without_the_token_are_refused(
    target: Target,
) -> None:
    wrong = []
    for what, data, status in _attacks(target):
        answered, headers, body = split_answer(target.send(data))
        if answered != status:
            wrong.append((what, answered, body[:200]))
        # A web page may read an answer only if it is allowed to: never.
        assert not any(h.startswith("access-control-") for h in headers), (what, headers)
    assert wrong == []

    # Nothing was started: the console is idle, and once a deliberate client's run is
    # in the database (the stream is ordered: a run started by an attack would be
    # before it), it is the only one.
    assert target.ask("GET", "/status")["run"] is None
    target.ask("POST", "/runs/start", {"operator": "alice"})
    target.ask("POST", "/runs/stop?reason=done")
    query = "process_executions WHERE status <> 'running'"
    wait_until(lambda: target.count(query) == 1, 20, "alice's run in the database")
    assert target.count("process_executions") == 1
    assert target.count("process_executions WHERE operator = 'mallory'") == 0


def test_oversized_and_unfinished_requests_neither_hang_it_nor_block_others(
    target: Target,
) -> None:
    here = f"127.0.0.1:{target.port}"
    bearer = f"Bearer {target.token}"
    # A client that never finishes its request (slowloris), held open throughout.
    with socket.create_connection(("127.0.0.1", target.port), timeout=10) as slow:
        slow.sendall(f"POST /runs/start?operator=slow HTTP/1.1\r\nHost: {here}\r\nX-A: ".encode())
        began = time.monotonic()
        answers = {
            "a header line of 200 kB": target.send(_request(
                "GET /status HTTP/1.1", {"Host": here, "X-Pad": "a" * 200_000})),
            "500 headers": target.send(_request(
                "GET /status HTTP/1.1", {"Host": here, **{f"X-{i}": "a" for i in range(500)}})),
            # Says 100 MB, sends 64 kB: refused at once, never read.
            "a body of 100 MB": target.send(_request(
                "POST /runs/start HTTP/1.1", {"Host": here, "Authorization": bearer,
                "Content-Type": "application/json", "Content-Length": "100000000"},
                b"{" * 65536, length=False)),
        }  # fmt: skip
        statuses = {what: split_answer(raw)[0] for what, raw in answers.items()}
        assert statuses == {"a header line of 200 kB": 431, "500 headers": 431,
                            "a body of 100 MB": 413}  # fmt: skip
        # While the slow one still hangs, a deliberate client starts and stops a run.
        started = target.ask("POST", "/runs/start", {"operator": "alice"})
        assert started["run"]["note"] == "operator: alice"  # the port's account runs it
        assert target.ask("POST", "/runs/stop")["ended"]["status"] == "completed"
        assert time.monotonic() - began < 15
    wait_until(
        lambda: target.count("process_executions WHERE status <> 'running'") == 1,
        20,
        "alice's run in the database",
    )
    assert target.count("process_executions") == 1
