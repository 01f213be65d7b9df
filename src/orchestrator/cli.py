"""The ``orchestrator`` command line: thin entry points over the application services.

Exit codes (contract): 0 success, 1 a check failed, 2 bad input or usage.
Global options (``--store``, ``--templates``, ``--json``) are accepted before or after the
command name.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from orchestrator.errors import InvalidInput, OrchestratorError, UsageError

log = logging.getLogger("orchestrator")


def _now() -> datetime:
    """The one wall-clock read of the command line; everything below takes time as input."""
    return datetime.now(UTC)


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO-8601 timestamp (e.g. 2026-03-01T09:00:00+00:00)") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset; add one, e.g. +00:00")
    return moment


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors exit 2, as argparse does
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", default=argparse.SUPPRESS,
                        help="store URL (default: $ORCHESTRATOR_STORE or "
                             "sqlite:///orchestrator.db)")
    common.add_argument("--templates", default=argparse.SUPPRESS,
                        help="templates folder (default: ./templates)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print data as JSON")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)

    parser = _Parser(prog="orchestrator", parents=[common],
                     description="Event-sourced multichannel communication orchestrator.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = commands.add_parser("demo", parents=[common],
                               help="synthetic population on the embedded store, and a summary")
    demo.add_argument("--contacts", type=int, default=10_000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--outbox", default="outbox", help="dry-run outbox folder")
    demo.set_defaults(handler=cmd_demo)

    ingest = commands.add_parser("ingest", parents=[common], help="record touchpoints (JSONL)")
    ingest.add_argument("file", help="a JSON Lines file, or - for standard input")
    ingest.add_argument("--skip-invalid", action="store_true",
                        help="record the valid lines; write the others to FILE.rejected.jsonl")
    ingest.add_argument("--progress", action="store_true",
                        help="show progress even when standard error is not a terminal")
    ingest.set_defaults(handler=cmd_ingest)

    audit = commands.add_parser("audit", parents=[common], help="read-only views of history")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True,
                                          parser_class=_Parser)
    contact = audit_commands.add_parser("contact", parents=[common],
                                        help="a contact's state as it was at a moment")
    contact.add_argument("contact")
    contact.add_argument("--as-of", type=_timestamp, default=None,
                         help="ISO-8601 timestamp with offset (default: now)")
    contact.set_defaults(handler=cmd_audit_contact)
    export = audit_commands.add_parser("export", parents=[common],
                                       help="the full history, one event a line")
    export.add_argument("--format", choices=["jsonl"], default="jsonl")
    export.add_argument("--from", dest="from_", type=_timestamp, default=None,
                        help="only events whose business time is at or after this")
    export.add_argument("--to", type=_timestamp, default=None,
                        help="only events whose business time is at or before this")
    export.add_argument("--contact", default=None,
                        help="only the events about this contact (its phones and handles too)")
    export.add_argument("--bundle", metavar="DIR", default=None,
                        help="write events.jsonl, checkpoint.json and verification.json "
                             "into DIR instead of printing")
    export.set_defaults(handler=cmd_audit_export)
    why = audit_commands.add_parser("why", parents=[common],
                                    help="the chain of facts behind one message")
    why.add_argument("message")
    why.set_defaults(handler=cmd_audit_why)
    verify = audit_commands.add_parser("verify", parents=[common],
                                       help="check the tamper-evidence chain (exit 1 if broken)")
    verify.add_argument("--checkpoint", action="append", default=[], metavar="FILE",
                        help="a checkpoint kept outside the store (repeatable)")
    verify.add_argument("--public-key", default=None,
                        help="base64 Ed25519 public key that must have signed the checkpoints "
                             "(default: $ORCHESTRATOR_CHECKPOINT_PUBLIC_KEY)")
    verify.set_defaults(handler=cmd_audit_verify)
    checkpoint = audit_commands.add_parser("checkpoint", parents=[common],
                                           help="export the latest signed checkpoint")
    checkpoint.add_argument("--out", required=True, metavar="FILE")
    checkpoint.set_defaults(handler=cmd_audit_checkpoint)
    keygen = audit_commands.add_parser("keygen", parents=[common],
                                       help="print a new Ed25519 key pair for checkpoints")
    keygen.set_defaults(handler=cmd_audit_keygen)
    summary = audit_commands.add_parser("summary", parents=[common],
                                        help="stages, consents and mentions across contacts")
    summary.add_argument("--as-of", type=_timestamp, default=None)
    summary.set_defaults(handler=cmd_audit_summary)

    journeys = commands.add_parser("journeys", parents=[common], help="journey lifecycle")
    journey_commands = journeys.add_subparsers(dest="journeys_command", required=True,
                                               parser_class=_Parser)
    validate = journey_commands.add_parser("validate", parents=[common],
                                           help="check journey files; publish nothing")
    validate.add_argument("files", nargs="+")
    validate.set_defaults(handler=cmd_journeys_validate)
    publish = journey_commands.add_parser("publish", parents=[common],
                                          help="record new immutable versions")
    publish.add_argument("files", nargs="+")
    publish.add_argument("--author", default=None,
                         help="who publishes (default: $ORCHESTRATOR_ACTOR or $USER)")
    publish.set_defaults(handler=cmd_journeys_publish)
    journey_commands.add_parser("list", parents=[common],
                                help="versions and how many contacts are in each"
                                ).set_defaults(handler=cmd_journeys_list)

    run = commands.add_parser("run", parents=[common],
                              help="advance journeys; --until runs a simulated clock")
    run.add_argument("--until", type=_timestamp, default=None,
                     help="run on a simulated clock up to this moment, then exit")
    run.add_argument("--channels", choices=["dry-run", "live"], default="dry-run")
    run.add_argument("--every", type=int, default=30, metavar="SECONDS",
                     help="without --until: how often the live service advances (default 30)")
    run.add_argument("--outbox", default="outbox", help="dry-run outbox folder")
    run.add_argument("--policy", default=None,
                     help="channel policy rules (default: ./policy.yaml if present, else the "
                          "SPEC's defaults)")
    run.set_defaults(handler=cmd_run)

    messages = commands.add_parser("messages", parents=[common],
                                   help="messages with their status (from the read model)")
    messages.add_argument("--contact", default=None)
    messages.set_defaults(handler=cmd_messages)

    review = commands.add_parser("review", parents=[common],
                                 help="messages held for a person to review")
    review_commands = review.add_subparsers(dest="review_command", required=True,
                                            parser_class=_Parser)
    review_commands.add_parser("list", parents=[common], help="the held messages"
                               ).set_defaults(handler=cmd_review_list)
    for verb, helptext in (("approve", "release a held message"),
                           ("dismiss", "decide a held message will not be sent")):
        action = review_commands.add_parser(verb, parents=[common], help=helptext)
        action.add_argument("message")
        action.add_argument("--by", default=None,
                            help="who decides (default: $ORCHESTRATOR_ACTOR or $USER)")
        action.add_argument("--note", default=None)
        action.set_defaults(handler=cmd_review_act, approve=verb == "approve")

    contacts = commands.add_parser("contacts", parents=[common],
                                   help="contacts with their stage now (from the read model)")
    contacts.add_argument("--stage", default=None, help="only contacts at this stage")
    contacts.add_argument("--as-of", type=_timestamp, default=None,
                          help="the moment stages are computed for (default: now)")
    contacts.set_defaults(handler=cmd_contacts)

    projections = commands.add_parser("projections", parents=[common],
                                      help="read models derived from the events")
    projection_commands = projections.add_subparsers(dest="projections_command", required=True,
                                                     parser_class=_Parser)
    projection_commands.add_parser("rebuild", parents=[common],
                                   help="drop the read models and rebuild them from the events"
                                   ).set_defaults(handler=cmd_projections_rebuild)

    forget = commands.add_parser("forget", parents=[common],
                                 help="erase a contact's personal data (crypto-shredding)")
    forget.add_argument("contact")
    forget.add_argument("--by", default=None,
                        help="who asked for the erasure (default: $ORCHESTRATOR_ACTOR or $USER)")
    forget.add_argument("--reference", default=None, help="the request's reference")
    forget.set_defaults(handler=cmd_forget)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if getattr(args, "verbose", False) else
                        logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except InvalidInput as invalid:
        for problem in invalid.problems:
            print(problem, file=sys.stderr)
        print(f"orchestrator: {invalid}", file=sys.stderr)
        return invalid.exit_code
    except OrchestratorError as error:
        print(f"orchestrator: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("orchestrator: interrupted; nothing of the unfinished step was kept",
              file=sys.stderr)
        return 130


def _store(args: argparse.Namespace, *, read_only: bool = False) -> Any:
    from orchestrator.store import Store
    try:
        return Store.open(getattr(args, "store", None), read_only=read_only)
    except OrchestratorError:
        raise
    except Exception as error:  # the driver's own words, minus any secret in the URL
        from orchestrator.store import redact, resolve_store_url
        url = redact(resolve_store_url(getattr(args, "store", None)))
        raise UsageError(f"cannot open store {url}: {type(error).__name__}: "
                         f"{_first_line(error)}") from None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0]


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


class _ProgressLine:
    """Periodic counts on standard error (a terminal, or when asked)."""

    def __init__(self, label: str, enabled: bool):
        self.label = label
        self.enabled = enabled
        self.started = time.perf_counter()
        self.last = 0.0

    def __call__(self, lines: int, recorded: int) -> None:
        now = time.perf_counter()
        if not self.enabled or now - self.last < 0.5:
            return
        self.last = now
        rate = lines / max(now - self.started, 1e-9)
        sys.stderr.write(f"\r{self.label}: {lines:,} lines read, {recorded:,} recorded "
                         f"({rate:,.0f} lines/s)")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.last:
            sys.stderr.write("\n")


def cmd_ingest(args: argparse.Namespace) -> int:
    from orchestrator.ingest.service import ingest_path
    progress = _ProgressLine("ingest", args.progress or sys.stderr.isatty())
    with _store(args) as store:
        try:
            report = ingest_path(store, args.file, recorded_at=_now(),
                                 skip_invalid=args.skip_invalid, progress=progress)
        finally:
            progress.done()
        if report.recorded:
            _checkpoint(store)
            _update_read_models(store)
    if getattr(args, "json", False):
        _print_json(report.as_json())
    else:
        print(report.summary())
        for problem in report.problems:
            print(problem, file=sys.stderr)
    return 0


def _templates(args: argparse.Namespace) -> str:
    return getattr(args, "templates", None) or "templates"


def _actor(given: str | None) -> str:
    return given or os.environ.get("ORCHESTRATOR_ACTOR") or os.environ.get("USER") or "unknown"


def cmd_journeys_validate(args: argparse.Namespace) -> int:
    from orchestrator.campaigns.problems import JourneyInvalid
    from orchestrator.campaigns.validation import validate_files
    journeys, problems = validate_files(args.files, _templates(args))
    if problems:
        raise JourneyInvalid(problems)
    for journey in journeys:
        kind = "broadcast" if journey.is_broadcast else "contact journey"
        print(f"{journey.source_path}: {journey.id} is valid ({kind}, "
              f"{len(journey.steps)} steps)")
    return 0


def cmd_journeys_publish(args: argparse.Namespace) -> int:
    from orchestrator.campaigns.versions import publish
    with _store(args) as store:
        outcomes = publish(store, args.files, _templates(args), author=_actor(args.author),
                           now=_now())
    for outcome in outcomes:
        if outcome.new:
            print(f"published {outcome.journey} version {outcome.version} "
                  f"(sha256 {outcome.digest[:12]})")
        else:
            print(f"{outcome.journey} unchanged: version {outcome.version} is this file")
    return 0


def cmd_journeys_list(args: argparse.Namespace) -> int:
    from orchestrator.campaigns.versions import published_versions
    from orchestrator.projections.enrolments import enrolment_counts
    with _store(args, read_only=True) as store:
        versions = published_versions(store)
        counts = enrolment_counts(store)
    rows = [{"journey": v.id, "version": v.version, "digest": v.digest, "author": v.author,
             "published_at": v.published_at,
             "kind": "broadcast" if v.journey.is_broadcast else "contact",
             "active": counts.get((v.id, v.version), (0, 0))[0],
             "ended": counts.get((v.id, v.version), (0, 0))[1]} for v in versions]
    if getattr(args, "json", False):
        _print_json(rows)
        return 0
    if not rows:
        print("no journey published yet")
    for row in rows:
        print(f"{row['journey']:<24} v{row['version']:<3} {row['kind']:<9} "
              f"{row['active']:>7,} in journey {row['ended']:>7,} finished  "
              f"{row['published_at'][:19]} by {row['author']}  {row['digest'][:12]}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    if args.channels == "live":
        raise UsageError("live channels are not available yet; use --channels dry-run")
    if args.until is None:
        return _run_live(args)
    _print_run(args, *_advance(args, args.until))
    return 0


def _advance(args: argparse.Namespace, until: datetime) -> tuple[Any, Any]:
    """Bring journeys up to ``until``: decide, send, checkpoint, refresh read models."""
    from orchestrator.campaigns.runner import run_until
    with _store(args) as store:
        report = run_until(store, until, recorded_at=_now(), thresholds=_thresholds(),
                           templates_dir=_templates(args), policy=_policy(args.policy))
        sent = _dispatch(store, args, report.unsent)
        _checkpoint(store)
        _update_read_models(store)
    return report, sent


def _print_run(args: argparse.Namespace, report: Any, sent: Any) -> None:
    if report.started_at is None:
        print(f"nothing to run: no unprocessed touchpoint up to {report.until.isoformat()}")
        return
    print(f"ran {report.journeys} journey(s) from {report.started_at.isoformat()} to "
          f"{report.until.isoformat()}: {report.touchpoints:,} touchpoints, "
          f"{report.broadcasts:,} broadcast firing(s), {report.enrolments:,} enrolment(s), "
          f"{len(report.messages):,} message(s) scheduled")
    if report.decisions:
        print("decisions: " + ", ".join(f"{status} {count:,}" for status, count
                                        in sorted(report.decisions.items())))
    if sent.sent or sent.failed or sent.retry_later:
        channels = ", ".join(f"{channel} {count:,}" for channel, count
                             in sorted(sent.by_channel.items()))
        print(f"dry-run outbox {args.outbox}: {sent.sent:,} written ({channels}), "
              f"{sent.failed:,} failed, {sent.retry_later:,} to retry")


def _run_live(args: argparse.Namespace) -> int:
    """The live service: APScheduler advances the same engine to the wall clock every
    ``--every`` seconds (due waits, cron broadcasts, deferred decisions). Each tick is
    the simulated run up to now, so a restarted service neither loses nor repeats a send."""
    import signal

    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger
    print(f"live: advancing journeys every {args.every} s on dry-run channels "
          f"(outbox {args.outbox}); Ctrl-C stops", flush=True)
    scheduler = BlockingScheduler(timezone="UTC")

    def tick() -> None:
        report, sent = _advance(args, _now())
        if report.touchpoints or report.broadcasts or sent.sent:
            _print_run(args, report, sent)
            sys.stdout.flush()

    scheduler.add_job(tick, IntervalTrigger(seconds=args.every), next_run_time=_now(),
                      max_instances=1, coalesce=True, id="advance")
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
    print("live: stopped", flush=True)
    return 0


def cmd_review_list(args: argparse.Namespace) -> int:
    from orchestrator.campaigns.review import held_messages
    with _store(args) as store:
        rows = held_messages(store)
    if getattr(args, "json", False):
        _print_json(rows)
        return 0
    for row in rows:
        print(f"{row['id']}  {row['journey']}/{row['step']}  {row['intent']}  {row['at']}  "
              f"{row['reason']}")
    print(f"{len(rows):,} message(s) held for review")
    return 0


def cmd_review_act(args: argparse.Namespace) -> int:
    from orchestrator.campaigns.review import act
    with _store(args) as store:
        status = act(store, args.message, approve=args.approve, actor=_actor(args.by),
                     note=args.note, now=_now())
        _checkpoint(store)
        _update_read_models(store)
    print(f"{args.message}: {'approved' if args.approve else 'dismissed'} by "
          f"{_actor(args.by)}; now {status}")
    return 0


def _policy(path: str | None) -> Any:
    from orchestrator.campaigns.policy_file import load_policy
    from orchestrator.domain.policy import PolicyConfig
    if path is None and os.path.exists("policy.yaml"):
        path = "policy.yaml"
    return load_policy(path) if path else PolicyConfig()


def _dispatch(store: Any, args: argparse.Namespace, messages: list[str]) -> Any:
    from orchestrator.channels.dry_run import dry_run_channels
    from orchestrator.dispatch import DispatchSettings, SimulatedClock, dispatch
    from orchestrator.rendering import TemplateRenderer
    clock = SimulatedClock()
    email_from = os.environ.get("ORCHESTRATOR_EMAIL_FROM")
    channels = (dry_run_channels(args.outbox, email_from=email_from, clock=clock) if email_from
                else dry_run_channels(args.outbox, clock=clock))
    return dispatch(store, messages, channels, TemplateRenderer(_templates(args)),
                    DispatchSettings.from_environment(), clock=clock, recorded_at=_now())


def _checkpoint(store: Any) -> None:
    """Every write command ends with a (signed, when a key is set) checkpoint."""
    from orchestrator.audit.checkpoints import record_checkpoint
    record_checkpoint(store, _now())


def cmd_messages(args: argparse.Namespace) -> int:
    from orchestrator.projections.contact_directory import message_rows
    from orchestrator.projections.runner import open_directory
    with _store(args) as store:
        _update_read_models(store)
        rows = message_rows(open_directory(store).view, args.contact)
    if getattr(args, "json", False):
        _print_json(rows)
        return 0
    print(f"{'id':<28} {'contact':<12} {'journey/step':<32} {'intent':<12} {'channel':<7} "
          f"{'status':<15} reason")
    for row in rows:
        print(f"{row['id']:<28} {row['contact'] or '-':<12} "
              f"{row['journey'] + '/' + row['step']:<32} {row['intent']:<12} "
              f"{row['channel'] or '-':<7} {row['status']:<15} {row['reason'] or ''}")
    print(f"{len(rows):,} message(s)")
    return 0


def _update_read_models(store: Any) -> int:
    from orchestrator.projections.runner import catch_up, open_directory
    return catch_up(store, open_directory(store))


def cmd_contacts(args: argparse.Namespace) -> int:
    from orchestrator.projections.contact_directory import directory_rows
    from orchestrator.projections.runner import open_directory
    now = args.as_of or _now()
    with _store(args) as store:
        _update_read_models(store)
        rows = directory_rows(open_directory(store).view, now, _thresholds(), args.stage)
    if getattr(args, "json", False):
        _print_json(rows)
        return 0
    print(f"{'contact':<16} {'stage':<14} {'kind':<11} {'buys':>4}  consents (marketing)  "
          f"suppressed")
    for row in rows:
        print(f"{row['contact']:<16} {row['stage']:<14} {row['kind']:<11} "
              f"{row['purchases_in_window']:>4}  {','.join(row['marketing_consents']) or '-':<20}"
              f"  {','.join(row['suppressed_channels']) or '-'}")
    print(f"{len(rows):,} contact(s) as of {now.isoformat()}")
    return 0


def cmd_projections_rebuild(args: argparse.Namespace) -> int:
    from orchestrator.projections.runner import rebuild
    started = time.perf_counter()
    with _store(args) as store:
        rebuild(store)
        position = store.max_position()
    print(f"read models rebuilt from {position:,} events in "
          f"{time.perf_counter() - started:.1f} s")
    return 0


def cmd_audit_contact(args: argparse.Namespace) -> int:
    from orchestrator.audit.history import contact_journeys, contact_state, contact_view
    as_of = args.as_of or _now()
    with _store(args, read_only=True) as store:
        state = contact_state(store, args.contact, as_of)
        if state is None:
            raise UsageError(f"no history for contact {args.contact!r}")
        journeys = contact_journeys(store, args.contact, as_of)
    view = contact_view(state, as_of, _thresholds(), journeys)
    if getattr(args, "json", False):
        _print_json(view)
        return 0
    print(f"contact {view['contact']} as of {view['as_of']}: stage {view['stage']} "
          f"(kind {view['kind']}, {view['purchases_in_window']} purchase(s) in window)")
    for consent in view["consents"]:
        print(f"  consent {consent['channel']}/{consent['purpose']}: {consent['status']} "
              f"at {consent['at']} (source {consent['source']}, {consent['touchpoint']})")
    for suppression in view["suppressions"]:
        print(f"  suppressed {suppression['channel']}: {suppression['reason']} "
              f"at {suppression['at']}")
    for identity in view["identities"]:
        print(f"  identity {identity['network']} {identity['handle']} "
              f"verified by {identity['verified_by']} at {identity['at']}")
    for journey in view["journeys"]:
        where = (f"left ({journey['ended']['reason']})" if journey["ended"]
                 else f"at step {journey['step']}")
        print(f"  journey {journey['journey']} v{journey['version']} entered "
              f"{journey['entered_at']}, {where}")
    return 0


def _thresholds() -> Any:
    from orchestrator.domain.stages import StageThresholds
    try:
        return StageThresholds.from_environment()
    except ValueError as error:
        raise UsageError(str(error)) from None


def cmd_audit_export(args: argparse.Namespace) -> int:
    from orchestrator.audit.export import ExportFilter, export_events, write_bundle
    selection = ExportFilter(start=args.from_, end=args.to, contact=args.contact)
    with _store(args, read_only=True) as store:
        if args.bundle:
            bundle = write_bundle(store, args.bundle, selection, now=_now())
            print(f"bundle written to {bundle.folder}: {bundle.events:,} events, chain "
                  f"{'intact' if bundle.intact else 'BROKEN'}")
            return 0 if bundle.intact else 1
        export_events(store, selection, sys.stdout)
    return 0


def cmd_audit_why(args: argparse.Namespace) -> int:
    from orchestrator.audit.why import why
    with _store(args, read_only=True) as store:
        chain = why(store, args.message, _thresholds())
    if getattr(args, "json", False):
        _print_json(chain)
        return 0
    print(render_why(chain))
    return 0


def render_why(chain: dict[str, Any]) -> str:
    journey = chain["journey"]
    trigger = chain["trigger"]
    lines = [f"message {chain['message']}: {chain['status']} on {chain['channel'] or 'no channel'}",
             f"  to      {chain['contact'] or 'the public (no contact)'}",
             f"  journey {journey['id']} v{journey['version']} "
             f"(published by {journey.get('published_by', '?')} at "
             f"{journey.get('published_at', '?')}), step {chain['step']}, intent "
             f"{chain['intent']}, audience {chain['audience']}, template {chain['template']}",
             f"  because {trigger.get('type')} {trigger.get('touchpoint_id', '')} at "
             f"{trigger.get('at', '?')}"]
    then = chain["contact_at_decision"]
    if then:
        consents = ", ".join(f"{c['channel']}/{c['purpose']} {c['status']}"
                             for c in then["consents"]) or "none"
        lines.append(f"  contact then: stage {then['stage']}, consents: {consents}")
    for decision in chain["decisions"]:
        lines.append(f"  decided {decision['status']} at {decision['at']}: {decision['rule']}"
                     f" - {decision['reason']}")
    for entry in chain["history"]:
        detail = entry.get("rule") or entry.get("channel") or entry.get("touchpoint") or ""
        lines.append(f"  {entry['at']}  {entry['status']:<16} {detail}")
    return "\n".join(lines)


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from orchestrator.audit.checkpoints import public_key_from, read_checkpoint_file
    from orchestrator.audit.verify import verify
    checkpoints = [read_checkpoint_file(path) for path in args.checkpoint]
    public_key = public_key_from(args.public_key)
    started = time.perf_counter()
    with _store(args, read_only=True) as store:
        result = verify(store, checkpoints, public_key)
    seconds = time.perf_counter() - started
    if getattr(args, "json", False):
        _print_json(result.as_json())
    elif result.intact:
        print(f"intact: {result.events:,} events up to position {result.last_position}, "
              f"{result.checkpoints_checked} checkpoint(s), {result.signatures_checked} "
              f"signature(s) verified ({seconds:.2f} s)")
        for note in result.notes:
            print(f"note: {note}")
    else:
        print(f"BROKEN at position {result.broken_at}: {result.problem}")
    return 0 if result.intact else 1


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    from orchestrator.audit.checkpoints import current_checkpoint, write_checkpoint_file
    with _store(args, read_only=True) as store:
        checkpoint = current_checkpoint(store, _now())
    if checkpoint is None:
        raise UsageError("the store is empty: nothing to checkpoint")
    write_checkpoint_file(args.out, checkpoint)
    signed = "signed" if checkpoint.signature else "UNSIGNED (set ORCHESTRATOR_SIGNING_KEY)"
    print(f"checkpoint at position {checkpoint.position} ({signed}) written to {args.out}")
    return 0


def cmd_audit_keygen(args: argparse.Namespace) -> int:
    from orchestrator.audit.checkpoints import PUBLIC_KEY_ENV, SIGNING_KEY_ENV, new_key_pair
    private, public = new_key_pair()
    print(f"# keep the first line secret (the writers' environment); give the second to "
          f"auditors\n{SIGNING_KEY_ENV}={private}\n{PUBLIC_KEY_ENV}={public}")
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from orchestrator.audit.erasure import forget
    actor = args.by or os.environ.get("ORCHESTRATOR_ACTOR") or os.environ.get("USER") or "unknown"
    now = _now()
    with _store(args) as store:
        erasure = forget(store, args.contact, now=now, requested_by=actor,
                         request_reference=args.reference)
        _checkpoint(store)
        _update_read_models(store)
    if getattr(args, "json", False):
        _print_json({"contact": erasure.contact, "keys_destroyed": erasure.keys_destroyed,
                     "subjects": [str(s) for s in erasure.subjects],
                     "position": erasure.position})
    else:
        print(f"forgot {erasure.contact}: {erasure.keys_destroyed} key(s) destroyed; "
              f"erasure recorded at position {erasure.position}")
    return 0


def cmd_audit_summary(args: argparse.Namespace) -> int:
    from orchestrator.audit.summary import population_summary
    with _store(args, read_only=True) as store:
        summary = population_summary(store, args.as_of or _now(), _thresholds())
    if getattr(args, "json", False):
        _print_json(summary)
    else:
        print(render_summary(summary))
    return 0


def render_summary(summary: dict[str, Any]) -> str:
    lines = [f"{summary['contacts']:,} contacts, {summary['events']:,} events, "
             f"as of {summary['as_of']}"]
    for title, key in (("stage", "stages"), ("consent granted", "consents_granted"),
                       ("suppression", "suppressions"), ("mentions by stance",
                                                         "mentions_by_stance"),
                       ("mentions by author kind", "mentions_by_author_kind")):
        table = summary[key]
        if not table:
            continue
        lines.append(f"\n{title}:")
        width = max(len(name) for name in table)
        total = sum(table.values())
        for name, count in table.items():
            share = count / total if total else 0
            lines.append(f"  {name:<{width}}  {count:>7,}  {share:6.1%}  "
                         f"{'#' * round(share * 40)}")
    lines.append(f"\nsocial handles not tied to any contact (stage unknown): "
                 f"{summary['unknown_handles']:,}")
    return "\n".join(lines)


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job on the embedded store: a synthetic population and its history, the
    example journeys, a simulated month on dry-run channels, and what happened."""
    from datetime import timedelta

    from orchestrator.audit.summary import population_summary
    from orchestrator.campaigns.runner import run_until
    from orchestrator.campaigns.versions import publish
    from orchestrator.demo.population import DEMO_NOW, generate
    from orchestrator.ingest.service import ingest_path
    from orchestrator.projections.contact_directory import message_rows
    from orchestrator.projections.runner import open_directory
    started = time.perf_counter()
    journeys, templates = _demo_material(args)
    month_start = DEMO_NOW - timedelta(days=30)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "population.jsonl")
        with open(path, "w", encoding="utf-8") as out:
            count = generate(out, contacts=args.contacts, seed=args.seed)
        print(f"generated {count:,} touchpoints for {args.contacts:,} synthetic contacts")
        progress = _ProgressLine("ingest", True)
        with _store(args) as store:
            try:
                report = ingest_path(store, path, recorded_at=_now(), progress=progress)
            finally:
                progress.done()
            print(f"ingested: {report.recorded:,} recorded, {report.duplicates:,} already "
                  f"recorded ({report.recorded / max(report.seconds, 1e-9):,.0f} touchpoints/s)")
            # The history before the month is caught up first, then the journeys go live:
            # what an operator does after importing a CRM's past.
            run_until(store, month_start, recorded_at=_now(), templates_dir=templates,
                      thresholds=_thresholds())
            for outcome in publish(store, journeys, templates, author="demo", now=_now()):
                print(f"journey {outcome.journey} v{outcome.version} "
                      f"{'published' if outcome.new else 'already published'}")
            run = run_until(store, DEMO_NOW, recorded_at=_now(), templates_dir=templates,
                            thresholds=_thresholds(), policy=_policy(None))
            args.templates = templates
            sent = _dispatch(store, args, run.unsent)
            _checkpoint(store)
            _update_read_models(store)
            summary = population_summary(store, DEMO_NOW, _thresholds())
            messages = message_rows(open_directory(store).view)
    if getattr(args, "json", False):
        _print_json({"population": summary, "messages": messages})
        return 0
    print()
    print(render_summary(summary))
    print(f"\nsimulated month {month_start.date()} to {DEMO_NOW.date()}: "
          f"{run.touchpoints:,} touchpoints, {run.broadcasts} broadcast firing(s), "
          f"{run.enrolments:,} enrolment(s), {len(run.messages):,} message(s)")
    print(render_messages(messages))
    print(f"\ndry-run outbox {args.outbox}: {sent.sent:,} written, {sent.failed:,} failed. "
          f"Try: orchestrator --store {getattr(args, 'store', 'sqlite:///orchestrator.db')} "
          f"audit why {_example_message(messages)}")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


def _demo_material(args: argparse.Namespace) -> tuple[list[str], str]:
    """The example journeys and templates: beside the working directory, else the repo's."""
    from pathlib import Path
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        journeys = sorted(str(p) for p in (root / "examples" / "journeys").glob("*.yaml"))
        templates = Path(getattr(args, "templates", None) or root / "templates")
        if journeys and templates.is_dir():
            return journeys, str(templates)
    raise UsageError("the demo needs examples/journeys/*.yaml and templates/ (run it from "
                     "the repository)")


def _example_message(messages: list[dict[str, Any]]) -> str:
    sent = [m for m in messages if m["status"] == "sent" and m["contact"]]
    return (sent or messages or [{"id": "MESSAGE_ID"}])[0]["id"]


def render_messages(messages: list[dict[str, Any]]) -> str:
    from collections import Counter
    lines = []
    by_step = Counter((m["journey"], m["step"], m["intent"], m["channel"] or "-", m["status"])
                      for m in messages)
    lines.append("\nmessages by journey and step:")
    lines.append(f"  {'journey':<18} {'step':<16} {'intent':<13} {'channel':<8} "
                 f"{'status':<16} count")
    for (journey, step, intent, channel, status), count in sorted(by_step.items()):
        lines.append(f"  {journey:<18} {step:<16} {intent:<13} {channel:<8} {status:<16} "
                     f"{count:>5,}")
    for title, key in (("by channel", lambda m: m["channel"] or "none"),
                       ("by intent", lambda m: m["intent"])):
        counts = Counter(key(m) for m in messages)
        lines.append(f"\n{title}: " + ", ".join(f"{name} {count:,}"
                                                for name, count in sorted(counts.items())))
    reasons = Counter(m["reason"].split(":")[0] for m in messages
                      if m["status"] in ("suppressed", "held_for_review", "deferred")
                      and m["reason"])
    lines.append("\nnot sent, by rule:")
    for rule, count in reasons.most_common():
        lines.append(f"  {rule:<42} {count:>6,}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
