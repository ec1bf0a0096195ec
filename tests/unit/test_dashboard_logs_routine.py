"""Celery's lines about the tasks beat sends every few seconds (the sweeper, the monitors'
tick) are DEBUG, not INFO; the tasks' own lines when they did something, and every other
task's lines, are left as they are."""

import logging
from collections.abc import Iterator

import pytest

from dashboard.logs import QuietRoutineTasks


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def beat_logger() -> Iterator[tuple[logging.Logger, Kept]]:
    logger = logging.getLogger("tests.monitors.quiet_tick")
    kept = Kept()
    logger.addHandler(kept)
    logger.addFilter(QuietRoutineTasks())
    logger.propagate = False
    yield logger, kept
    logger.removeHandler(kept)
    logger.filters.clear()


def test_the_ticks_routine_lines_are_not_written_at_info(
    beat_logger: tuple[logging.Logger, Kept],
) -> None:
    logger, kept = beat_logger
    logger.setLevel(logging.INFO)
    logger.info("Scheduler: Sending due task %s (%s)", "monitors-tick", "monitors.tick")
    logger.info("Task %s[%s] succeeded in %ss: %s", "monitors.tick", "abc", 0.01, None)
    logger.info("Scheduler: Sending due task %s (%s)", "sweep-runs", "runs.sweep")
    logger.info("Task %s[%s] received", "runs.execute_attempt", "def")
    logger.error("Task %s[%s] raised unexpected: %s", "monitors.tick", "ghi", "OperationalError")
    assert [(r.levelname, r.getMessage()[:30]) for r in kept.records] == [
        ("INFO", "Task runs.execute_attempt[def]"),
        ("ERROR", "Task monitors.tick[ghi] raised"),
    ]


def test_they_are_written_at_debug_when_debug_is_on(
    beat_logger: tuple[logging.Logger, Kept],
) -> None:
    logger, kept = beat_logger
    logger.setLevel(logging.DEBUG)
    logger.info("Task %s[%s] received", "monitors.tick", "abc")
    ((record,),) = [kept.records]
    assert (record.levelno, record.levelname) == (logging.DEBUG, "DEBUG")


@pytest.mark.parametrize("name", ["celery.beat", "celery.worker.strategy", "celery.app.trace"])
def test_the_settings_put_the_filter_on_celerys_loggers(name: str) -> None:
    assert any(isinstance(f, QuietRoutineTasks) for f in logging.getLogger(name).filters)
