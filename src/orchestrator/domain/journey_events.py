"""Facts the journey engine records: versions, enrolments, step transitions, messages.

Each enrolment is a stream (``ContactEnrolled`` first); each message is a stream
(``MessageScheduled`` first, then what happened to it). Ids are derived from what the
fact is about, so re-running the same history records nothing twice: a second
``ContactEnrolled`` for the same enrolment would collide with the first.
"""

from __future__ import annotations

from orchestrator.domain.events import LedgerEvent


class JourneyPublished(LedgerEvent):
    """An immutable version of a journey, with the exact file it came from and the text
    of the templates it uses (``NAME/FILE`` -> text; None in versions published before
    templates were pinned, which render from the templates folder)."""

    journey: str
    version: int
    digest: str
    author: str
    published_at: str
    source_path: str
    source: str
    templates: dict | None = None


class JourneyLifecycleChanged(LedgerEvent):
    """Base of ``journeys pause|resume|archive``: who changed the journey's state, why,
    and when (wall time). In force from where the engine's clock stood when it was
    recorded (see docs/decisions.md "Journey lifecycle")."""

    journey: str
    actor: str
    note: str | None
    at: str


class JourneyPaused(JourneyLifecycleChanged):
    """The journey enrols no one and moves no one on until it is resumed."""


class JourneyResumed(JourneyLifecycleChanged):
    """The journey goes on: due steps held by the pause go on at once."""


class JourneyArchived(JourneyLifecycleChanged):
    """Final: the journey's enrolments end with reason ``archived``; no new ones."""


class ContactEnrolled(LedgerEvent):
    """A contact (or, for a broadcast's public steps, nobody: ``contact`` None) entered a
    journey, pinned to ``version``, because of ``trigger`` (a touchpoint id, or
    ``cron:TIME`` for a broadcast firing)."""

    enrolment: str
    journey: str
    version: int
    contact: str | None
    trigger: str
    trigger_type: str
    at: str


class StepEntered(LedgerEvent):
    """The enrolment moved to ``step``. For waits, ``due`` is when it resumes and
    ``waiting_for`` the touchpoint type that resumes it early; for branches, ``goto``."""

    enrolment: str
    step: str
    kind: str
    at: str
    due: str | None
    waiting_for: str | None
    goto: str | None


class WaitEnded(LedgerEvent):
    """A ``wait_until`` step ended: ``outcome`` is ``event`` (the touchpoint ``touchpoint``
    of type ``touchpoint_type`` arrived, its fields in ``event``) or ``timeout`` (those
    three None). What later expressions see as ``wait.outcome`` and ``wait.event``."""

    enrolment: str
    step: str
    outcome: str
    touchpoint: str | None
    touchpoint_type: str | None
    event: dict | None
    at: str


class EnrolmentEnded(LedgerEvent):
    """``reason``: end, completed (fell off the last step), goal, exit:TYPE, failed:..."""

    enrolment: str
    reason: str
    at: str


class MessageScheduled(LedgerEvent):
    """A send step produced a message; the channel policy decides where it may go."""

    message: str
    enrolment: str
    contact: str | None
    journey: str
    version: int
    step: str
    intent: str
    audience: str
    template: str
    trigger: str
    at: str


class MessageSent(LedgerEvent):
    """An adapter accepted the message (dry-run: written to the outbox)."""

    message: str
    channel: str
    provider_id: str
    at: str


class MessageRendered(LedgerEvent):
    """What was handed to the channel, recorded with the send: the template, the digest of
    its files, and (for the auditor) the rendered ``content`` (``subject``, ``text``,
    ``html``), sealed: ``orchestrator forget`` of the contact destroys the key of the
    message's stream too, and the content then reads as erased."""

    PERSONAL_FIELDS = ("content",)

    message: str
    template: str
    template_digest: str
    at: str
    content: dict | None = None


class TestMessageSent(LedgerEvent):
    """``preview --send-to``: one rendering of ``template`` for ``contact`` (the templates
    of ``journey`` version ``version``, or the folder when None) sent once through a live
    channel to a test address, ``sent_to``, by ``sent_by``. Not a message of any journey:
    no message list, report, frequency cap or status counts it; it is on a stream of its
    own, and ``audit export`` shows it. The content is not kept (the contact's data would
    then sit outside their erasure), only the digest of the template files used."""

    PERSONAL_FIELDS = ("sent_to",)

    message: str
    template: str
    template_digest: str
    contact: str
    journey: str | None
    version: int | None
    channel: str
    provider_id: str
    sent_to: str
    sent_by: str
    at: str


class EngineAdvanced(LedgerEvent):
    """The simulated clock reached ``clock`` having processed every touchpoint up to
    position ``high_water``: where the next ``run --until`` continues from."""

    clock: str
    high_water: int


class MessageDecided(LedgerEvent):
    """Base of the channel policy's decisions about a message: the rule that fired, a
    reason an auditor can read, and the facts it used (consent event, cap counts, local
    time...), so the decision can be re-derived later."""

    message: str
    status: str
    channel: str | None
    rule: str
    reason: str
    facts: dict
    not_before: str | None
    at: str


class ChannelChosen(MessageDecided):
    """The policy chose ``channel``; the message waits for the dispatcher to send it."""


class MessageDeferred(MessageDecided):
    """Not now (quiet hours, a frequency cap): decided again at ``not_before``."""


class MessageSuppressed(MessageDecided):
    """Never sent: no consent, a suppression, a segment offer in public, erasure..."""


class ReviewRequested(MessageDecided):
    """Held for a person to review (a reply to a hostile, press or competitor mention)."""


DECISION_CLASSES = {"scheduled": ChannelChosen, "deferred": MessageDeferred,
                    "suppressed": MessageSuppressed, "held_for_review": ReviewRequested}


class ReviewApproved(LedgerEvent):
    """A person released a held message; who, when, and why."""

    message: str
    actor: str
    note: str | None
    at: str


class ReviewDismissed(LedgerEvent):
    """A person decided a held message will not be sent."""

    message: str
    actor: str
    note: str | None
    at: str


class MessageFailed(LedgerEvent):
    """The channel refused the message for good (or it could not be built); not retried."""

    message: str
    channel: str
    reason: str
    at: str


class MessageClaimed(LedgerEvent):
    """A dispatcher took the message to hand it to its channel: only the process that
    recorded this claim sends it. Until ``lease_until`` no other may; a claim that
    outlives its lease without an outcome (the process died mid-send) is ``in_doubt``
    and may be claimed again, the provider's idempotency key (the message id) keeping the
    second hand-over from becoming a second message."""

    message: str
    claimed_by: str
    lease_until: str
    at: str


class MessageClaimReleased(LedgerEvent):
    """The claimer gave the message back without an outcome (a transient failure: the
    provider said "later"); the next dispatch may claim it at once."""

    message: str
    claimed_by: str
    reason: str
    at: str


class MessageRetryScheduled(MessageClaimReleased):
    """The provider said "later" (429, 5xx, a timeout, an open circuit): the claim is
    given back and no dispatcher tries again before ``not_before``. ``attempt`` counts
    the hand-overs so far; past the dispatcher's limit the message is dead-lettered."""

    not_before: str
    attempt: int


class ChannelRejected(LedgerEvent):
    """The provider refused the message for good on ``channel`` (or it could not be
    built for it); the policy is asked again without that channel (failover), and the
    decision that follows says where the message goes now, if anywhere."""

    message: str
    channel: str
    reason: str
    at: str


class MessageDeadLettered(MessageFailed):
    """Every attempt failed for a reason that might have cleared up; after ``attempts``
    the dispatcher stops trying and leaves the message for a person (status ``failed``,
    reason prefixed ``dead letter``)."""

    attempts: int


class MessageReconciled(MessageSent):
    """A message left in doubt (the dispatcher died, or the provider's answer was lost,
    after the hand-over) turned out to have been accepted: ``evidence`` says how we know
    (provider feedback about it, or the provider's own record found by a lookup)."""

    evidence: str


class EventProcessingFailed(LedgerEvent):
    """A consumer of the log (``engine``: the runs) could not use a recorded fact and
    went on without it; ``position`` names the fact, ``reason`` says why."""

    consumer: str
    position: int
    event_type: str
    reason: str
