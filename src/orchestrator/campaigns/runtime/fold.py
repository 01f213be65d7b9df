"""The log folded into what a run starts from: the engine's enrolments and waits, the
contacts' facts, the policy's memory, and the touchpoints recorded but not processed yet.

A fold is a function of the log's prefix up to :attr:`EngineFold.position` (and of the
engine's clock, which only moves on), so it can be kept between runs and carried on from
there instead of replaying the history from position 0: the live service keeps it in
memory from tick to tick, and a snapshot of it is saved in the store
(``campaigns/runtime/snapshots.py``) for the next process. A run moves the fold on itself
(the touchpoints it processes, the facts it records): once its facts are committed, the
fold stands for the log up to :attr:`position` plus the run's own positions
(:attr:`own`), which the next read skips.

A touchpoint counts as processed once its position is at most the engine's high-water
position and its ``at`` at most the engine's clock; until then it waits in
:attr:`pending` and is looked at again by every later run (``reclassify``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from orchestrator.campaigns.runtime.decisions import PolicyMemory
from orchestrator.campaigns.runtime.engine import JourneyEngine
from orchestrator.campaigns.runtime.history import ContactHistory
from orchestrator.campaigns.runtime.lifecycle import STATE_OF
from orchestrator.campaigns.runtime.versions import PublishedVersion, versions_of
from orchestrator.domain import events as ev
from orchestrator.domain import journey_events as je
from orchestrator.domain.stages import StageThresholds
from orchestrator.domain.time_range import unusable_time

ENGINE_FACTS = (je.ContactEnrolled, je.StepEntered, je.WaitEnded, je.EnrolmentEnded,
                je.MessageScheduled)
LIFECYCLE_FACTS = (je.JourneyPaused, je.JourneyResumed, je.JourneyArchived)
REMEMBERED_FACTS = (je.MessageScheduled, je.MessageDecided, je.MessageSent,
                    je.MessageFailed, je.ReviewApproved)
# A settled message stays in memory this long after it was scheduled (the feedback about
# it mostly comes within days); after that, feedback about it looks it up in the store.
SETTLED_KEPT_FOR = timedelta(days=35)


class EngineFold:
    def __init__(self, thresholds: StageThresholds):
        self.history = ContactHistory(thresholds)
        self.engine = JourneyEngine((), self.history.view)
        self.memory = PolicyMemory()
        self.pending: dict[int, tuple[datetime, Any]] = {}  # position -> (at, touchpoint)
        self.unusable: dict[int, tuple[str, str]] = {}  # position -> (event type, reason)
        self.reported: set[int] = set()  # positions whose failure is already recorded
        self.position = 0  # every event up to here is folded...
        self.own: tuple[int, int] | None = None  # ...and those in this range (a run's own)
        self.published: dict[tuple[str, int], je.JourneyPublished] = {}
        self.lifecycle: dict[str, str] = {}  # journey -> paused/archived/active, if changed
        self._versions: list[PublishedVersion] | None = None  # parsed, not saved
        self.folded = 0  # events folded since this fold was made or loaded
        self.clock: datetime | None = None  # the engine's, as the last run left it
        # Marketing sends older than this before the clock were dropped (None: none was).
        self.sends_kept_for: timedelta | None = None
        # An erasure since: this fold holds the contact's personal data as it was read
        # before; it must not be kept or saved (the next run folds the log again).
        self.erasure_seen = False

    def reclassify(self, clock: datetime | None, high_water: int) -> None:
        """Touchpoints that were waiting and that the engine has since processed (another
        process's run moved the clock past them) join the contacts' facts."""
        if clock is None:
            return
        for position in sorted(self.pending):
            at, event = self.pending[position]
            if position <= high_water and at <= clock:
                del self.pending[position]
                self._observe(event)

    def take(self, position: int, event: Any, clock: datetime | None, high_water: int,
             window_from: datetime | None = None) -> None:
        """Fold the event recorded at ``position`` (read in log order after
        :attr:`position`). ``window_from``: a what-if's window (see ``compute_run``)."""
        self.folded += 1
        if isinstance(event, je.JourneyPublished):
            self.published[(event.journey, event.version)] = event
            self._versions = None
        elif isinstance(event, LIFECYCLE_FACTS):
            self.lifecycle[event.journey] = STATE_OF[type(event)]
        elif isinstance(event, ev.ContactErased):
            self.erasure_seen = True
        elif isinstance(event, je.EventProcessingFailed):
            self.reported.add(event.position)
        elif isinstance(event, ev.TouchpointRecorded) and (reason := unusable_time(event)):
            self.unusable[position] = (type(event).__name__, reason)
        elif isinstance(event, ev.TouchpointRecorded):
            at = datetime.fromisoformat(event.at)
            if (window_from is not None and at < window_from) or (
                    window_from is None and clock is not None
                    and position <= high_water and at <= clock):
                self._observe(event)
            else:
                self.pending[position] = (at, event)
        elif window_from is not None and not _before(event, window_from):
            pass  # a what-if sees the engine's record as it stood at its window's start
        elif isinstance(event, ENGINE_FACTS):
            self.engine.restore(event)
            self.memory.remember(event)
        elif isinstance(event, REMEMBERED_FACTS):
            self.memory.remember(event)

    def versions(self) -> list[PublishedVersion]:
        """Every journey version published in the folded log (parsed once)."""
        if self._versions is None:
            self._versions = versions_of(self.published.values())
        return self._versions

    def moved_to(self, position: int) -> None:
        self.position = max(self.position, position)
        if self.own is not None and self.position >= self.own[1]:
            self.own = None

    def recorded(self, positions: list[int]) -> None:
        """The run that moved this fold on committed its facts at ``positions``."""
        for position in self.unusable:
            self.reported.add(position)
        self.unusable.clear()
        if positions:
            self.own = (min(positions), max(positions))

    def forget_settled(self, clock: datetime, sends_kept_for: timedelta) -> int:
        """Drop what the fold no longer needs as of the engine's ``clock``, so that its
        size follows the contacts and the enrolments in progress, not the history's
        length: messages settled more than :data:`SETTLED_KEPT_FOR` ago whose enrolment
        has ended (feedback about them then looks them up in the store:
        ``PolicyMemory.look_up``), marketing sends older than ``sends_kept_for`` (the
        longest frequency cap's window: no cap counts them again), the mentions no
        enrolment or message in memory answers, and stale due entries. How many messages
        it dropped."""
        memory, engine = self.memory, self.engine
        before = clock - SETTLED_KEPT_FOR
        active = engine.enrolments
        gone = [message for message, scheduled in memory.scheduled.items()
                if scheduled.enrolment not in active and memory.settled(message)
                and datetime.fromisoformat(scheduled.at) < before]
        memory.forget_settled(gone, clock - sends_kept_for,
                              {e.trigger for e in active.values()})
        engine.forget_settled(gone)
        self.sends_kept_for = sends_kept_for
        return len(gone)

    def _observe(self, event: Any) -> None:
        self.history.observe(event)
        self.memory.remember(event)
        if isinstance(event, ev.MessageFeedbackRecorded):
            self.history.observe_feedback(event, self.memory)


def _before(event: Any, moment: datetime) -> bool:
    at = getattr(event, "at", None)
    return at is not None and datetime.fromisoformat(at) < moment
