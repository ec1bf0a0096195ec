"""Celery's own lines about the monitors' tick, every few seconds at INFO from the beat
("Sending due task") and the worker ("received", "succeeded"), are routine: logged at
DEBUG instead. The tick logs at INFO itself when it did something (services.tick)."""

import logging

TICK_TASK = "monitors.tick"


class QuietTick(logging.Filter):
    """On Celery's loggers: an INFO line about the tick is turned into a DEBUG one, kept
    only when that logger writes DEBUG; every other line is left as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or TICK_TASK not in record.getMessage():
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return True
