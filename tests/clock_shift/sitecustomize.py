"""Loaded by every Python process of a shifted test run (``make test-shifted`` puts this
folder on PYTHONPATH, so the suite's subprocesses are shifted too): moves the wall clock
forward by ``TEST_CLOCK_SHIFT_DAYS`` days with time-machine, ticking, so the run proves
that nothing in the product or its tests depends on today's date. Monotonic clocks (timeouts,
durations) are left alone."""

import os

_days = os.environ.get("TEST_CLOCK_SHIFT_DAYS")
if _days:
    import datetime as _datetime

    import time_machine as _time_machine

    _destination = (_datetime.datetime.now(_datetime.UTC)
                    + _datetime.timedelta(days=int(_days)))
    _time_machine.travel(_destination, tick=True).start()
