"""The worker's heartbeat bootstep (apps.health.worker): beats until stopped, then forgets
the worker; a database error misses one beat, not the thread."""

import logging
import os
import threading
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import OperationalError

from apps.health import services
from apps.health.worker import HeartbeatStep


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, settings: Any) -> dict[str, list[dict[str, Any]]]:
    settings.WORKER_HEARTBEAT_INTERVAL = 0.01
    seen: dict[str, list[dict[str, Any]]] = {"beat": [], "forget": []}
    monkeypatch.setattr(services, "record_heartbeat", lambda **kw: seen["beat"].append(kw))
    monkeypatch.setattr(services, "forget_worker", lambda **kw: seen["forget"].append(kw))
    return seen


def wait_for(condition: Any) -> None:
    done = threading.Event()
    for _ in range(500):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("not within 5 s")


def test_it_beats_under_the_workers_name_until_stopped(calls: dict[str, list[Any]]) -> None:
    parent = SimpleNamespace(hostname="celery@box")
    step = HeartbeatStep(parent)
    step.start(parent)
    wait_for(lambda: len(calls["beat"]) >= 3)
    step.stop(parent)
    assert step.thread is not None and not step.thread.is_alive()
    beats = calls["beat"]
    assert {beat["name"] for beat in beats} == {"celery@box"}
    assert {beat["pid"] for beat in beats} == {os.getpid()}
    assert len({beat["started_at"] for beat in beats}) == 1
    assert isinstance(beats[0]["started_at"], datetime)
    assert calls["forget"] == [{"name": "celery@box"}]


def test_a_parent_without_a_hostname_beats_as_worker(calls: dict[str, list[Any]]) -> None:
    parent = SimpleNamespace()
    step = HeartbeatStep(parent)
    step.start(parent)
    wait_for(lambda: calls["beat"])
    step.stop(parent)
    assert calls["beat"][0]["name"] == "worker"


def test_a_database_error_misses_a_beat_and_the_next_one_comes(
    monkeypatch: pytest.MonkeyPatch, calls: dict[str, list[Any]], caplog: pytest.LogCaptureFixture
) -> None:
    tries: list[int] = []

    def flaky(**kw: Any) -> None:
        tries.append(1)
        if len(tries) == 1:
            raise OperationalError("secret detail of the database")
        calls["beat"].append(kw)

    monkeypatch.setattr(services, "record_heartbeat", flaky)
    parent = SimpleNamespace(hostname="w1")
    step = HeartbeatStep(parent)
    with caplog.at_level(logging.WARNING, logger="apps.health.worker"):
        step.start(parent)
        wait_for(lambda: calls["beat"])
        step.stop(parent)
    assert "worker heartbeat missed (OperationalError)" in caplog.text
    assert "secret detail" not in caplog.text
    assert calls["forget"] == [{"name": "w1"}]


def test_stopping_a_step_that_never_started_is_harmless(calls: dict[str, list[Any]]) -> None:
    step = HeartbeatStep(SimpleNamespace())
    step.stop(SimpleNamespace())
    assert calls["beat"] == [] and calls["forget"] == []
