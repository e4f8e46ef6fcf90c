"""The history query thread: answers by signal in the GUI thread, under the reader role;
a newer question on a topic cancels the running one on the server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ald_gui.engine.history_queries import HistoryAnswer, HistoryQueries
from ald_gui.store.roles import EMBEDDED_LOGINS, Group
from ald_gui.store.server import EmbeddedServer


@pytest.fixture
def queries(pg_server: EmbeddedServer, migrated_pg_dsn: str) -> Iterator[HistoryQueries]:
    dbname = conninfo_to_dict(migrated_pg_dsn)["dbname"]
    dsn = make_conninfo(pg_server.login_dsn(Group.READER), dbname=dbname)
    runner = HistoryQueries(lambda: dsn)
    yield runner
    runner.close()


def test_an_answer_arrives_in_the_gui_thread_read_as_the_reader(qtbot, queries):
    seen: list[tuple[HistoryAnswer, threading.Thread]] = []
    queries.answered.connect(lambda a: seen.append((a, threading.current_thread())))
    ticket = queries.ask("t", lambda c: c.execute("SELECT current_user, 41 + 1").fetchone())
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    answer, thread = seen[0]
    assert thread is threading.main_thread()
    assert answer == HistoryAnswer("t", ticket, result=(EMBEDDED_LOGINS[Group.READER], 42))


def test_the_reader_cannot_write(qtbot, queries):
    with qtbot.waitSignal(queries.answered, timeout=10_000) as signal:
        queries.ask("t", lambda c: c.execute("INSERT INTO plc_gaps VALUES ('m', now(), 'x')"))
    answer = signal.args[0]
    assert answer.result is None and "permission denied" in answer.error


def test_a_newer_question_cancels_the_running_one(qtbot, queries):
    started = threading.Event()

    def slow(conn):
        started.set()
        return conn.execute("SELECT pg_sleep(30)").fetchone()

    answers: list[HistoryAnswer] = []
    queries.answered.connect(answers.append)
    queries.ask("trends", slow)
    assert started.wait(10)
    begun = time.monotonic()
    newer = queries.ask("trends", lambda c: c.execute("SELECT 'newer'").fetchone())
    qtbot.waitUntil(lambda: bool(answers), timeout=10_000)
    assert time.monotonic() - begun < 10  # not the 30 s of the sleep
    assert answers == [HistoryAnswer("trends", newer, result=("newer",))]
    assert not queries.busy


def test_a_question_that_raises_is_an_answer_and_the_thread_goes_on(qtbot, queries):
    def refused(conn):
        raise KeyError("machine 'm' has no tag 'x' in the database")

    answers: list[HistoryAnswer] = []
    queries.answered.connect(answers.append)
    queries.ask("a", refused)
    qtbot.waitUntil(lambda: len(answers) == 1, timeout=10_000)
    assert answers[0].result is None and "has no tag 'x'" in answers[0].error
    queries.ask("a", lambda c: "next")
    qtbot.waitUntil(lambda: len(answers) == 2, timeout=10_000)
    assert answers[1].result == "next"


def test_questions_of_other_topics_are_all_answered(qtbot, queries):
    answers: list[HistoryAnswer] = []
    queries.answered.connect(answers.append)
    for topic in ("a", "b", "c"):
        queries.ask(topic, lambda c, topic=topic: topic)
    qtbot.waitUntil(lambda: len(answers) == 3, timeout=10_000)
    assert sorted(a.result for a in answers) == ["a", "b", "c"]


def test_a_database_not_reached_is_an_answer_naming_it(qtbot):
    runner = HistoryQueries(lambda: "host=/nonexistent port=1 dbname=x connect_timeout=1")
    try:
        with qtbot.waitSignal(runner.answered, timeout=10_000) as signal:
            runner.ask("t", lambda c: 1)
        assert signal.args[0].error.startswith("history could not be read:")
    finally:
        runner.close()
    with pytest.raises(RuntimeError, match="closed"):
        runner.ask("t", lambda c: 1)
