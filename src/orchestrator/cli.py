"""The ``orchestrator`` command line: it parses, calls one application service, prints.

Exit codes (contract): 0 success, 1 a check failed, 2 bad input or usage.
Global options (``--store``, ``--templates``, ``--json``) are accepted before or after the
command name. Settings are read once, by the composition root (``orchestrator.bootstrap``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from orchestrator import bootstrap
from orchestrator.console import ProgressLine, render_messages, render_summary, render_why
from orchestrator.errors import InvalidInput, OrchestratorError

log = logging.getLogger("orchestrator")


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


def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None,
         clock: bootstrap.Clock | None = None,
         channels: Callable[[bootstrap.Settings, bootstrap.Clock], Mapping[str, Any]]
         | None = None) -> int:
    """Run one command. ``environ``, ``clock`` and ``channels`` default to the process's
    environment, the wall clock and the configured adapters; tests pass fakes."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if getattr(args, "verbose", False) else
                        logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handler: Callable[[Any, argparse.Namespace], int] = args.handler
    try:
        app = bootstrap.build(
            clock=clock, channels=channels, environ=os.environ if environ is None else environ,
            store=getattr(args, "store", None), templates=getattr(args, "templates", None),
            policy=getattr(args, "policy", None),
            channel_set=getattr(args, "channels", bootstrap.DRY_RUN),
            outbox=getattr(args, "outbox", None),
            public_key=getattr(args, "public_key", None))
        return handler(app, args)
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


def _json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def _print_json(data: Any) -> None:
    import json
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def cmd_ingest(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.ingesting import ingest
    progress = ProgressLine("ingest", args.progress or sys.stderr.isatty())
    try:
        report = ingest(app, args.file, skip_invalid=args.skip_invalid, progress=progress)
    finally:
        progress.done()
    if _json(args):
        _print_json(report.as_json())
        return 0
    print(report.summary())
    for problem in report.problems:
        print(problem, file=sys.stderr)
    return 0


def cmd_journeys_validate(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.journeys import validate_journeys
    for journey in validate_journeys(app, args.files):
        kind = "broadcast" if journey.is_broadcast else "contact journey"
        print(f"{journey.source_path}: {journey.id} is valid ({kind}, "
              f"{len(journey.steps)} steps)")
    return 0


def cmd_journeys_publish(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.journeys import publish_journeys
    for outcome in publish_journeys(app, args.files, author=args.author):
        if outcome.new:
            print(f"published {outcome.journey} version {outcome.version} "
                  f"(sha256 {outcome.digest[:12]})")
        else:
            print(f"{outcome.journey} unchanged: version {outcome.version} is this file")
    return 0


def cmd_journeys_list(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.journeys import journey_versions
    rows = journey_versions(app)
    if _json(args):
        _print_json(rows)
        return 0
    if not rows:
        print("no journey published yet")
    for row in rows:
        print(f"{row['journey']:<24} v{row['version']:<3} {row['kind']:<9} "
              f"{row['active']:>7,} in journey {row['ended']:>7,} finished  "
              f"{row['published_at'][:19]} by {row['author']}  {row['digest'][:12]}")
    return 0


def cmd_run(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.running import advance, serve_live
    if args.channels == bootstrap.LIVE:
        live = ", ".join(sorted(app.settings.channels_in_force)) or "none"
        print(f"live channels: {live}", flush=True)
    app.channel_adapters(lambda: app.now())  # refuse a channel set that cannot send, now
    if args.until is not None:
        _print_run(args, advance(app, args.until))
        return 0
    print(f"live: advancing journeys every {args.every} s on {args.channels} channels "
          f"(outbox {app.settings.outbox}); Ctrl-C stops", flush=True)

    def on_tick(outcome: Any) -> None:
        if outcome.report.touchpoints or outcome.report.broadcasts or outcome.sent.sent:
            _print_run(args, outcome)
            sys.stdout.flush()

    serve_live(app, args.every, on_tick)
    print("live: stopped", flush=True)
    return 0


def _print_run(args: argparse.Namespace, outcome: Any) -> None:
    report, sent = outcome.report, outcome.sent
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
        print(f"{args.channels} outbox {args.outbox}: {sent.sent:,} written ({channels}), "
              f"{sent.failed:,} failed, {sent.retry_later:,} to retry")


def cmd_review_list(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reviewing import held_for_review
    rows = held_for_review(app)
    if _json(args):
        _print_json(rows)
        return 0
    for row in rows:
        print(f"{row['id']}  {row['journey']}/{row['step']}  {row['intent']}  {row['at']}  "
              f"{row['reason']}")
    print(f"{len(rows):,} message(s) held for review")
    return 0


def cmd_review_act(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reviewing import decide_review
    actor = args.by or app.settings.actor
    status = decide_review(app, args.message, approve=args.approve, actor=actor,
                           note=args.note)
    print(f"{args.message}: {'approved' if args.approve else 'dismissed'} by {actor}; "
          f"now {status}")
    return 0


def cmd_messages(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reading import messages
    rows = messages(app, args.contact)
    if _json(args):
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


def cmd_contacts(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reading import contacts
    now, rows = contacts(app, as_of=args.as_of, stage=args.stage)
    if _json(args):
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


def cmd_projections_rebuild(app: Any, args: argparse.Namespace) -> int:
    import time

    from orchestrator.application.reading import rebuild_read_models
    started = time.perf_counter()
    position = rebuild_read_models(app)
    print(f"read models rebuilt from {position:,} events in "
          f"{time.perf_counter() - started:.1f} s")
    return 0


def cmd_audit_contact(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reading import contact_as_of
    view = contact_as_of(app, args.contact, args.as_of)
    if _json(args):
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


def cmd_audit_export(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reading import export, export_bundle
    from orchestrator.audit.export import ExportFilter
    selection = ExportFilter(start=args.from_, end=args.to, contact=args.contact)
    if args.bundle:
        bundle = export_bundle(app, args.bundle, selection)
        print(f"bundle written to {bundle.folder}: {bundle.events:,} events, chain "
              f"{'intact' if bundle.intact else 'BROKEN'}")
        return 0 if bundle.intact else 1
    export(app, selection, sys.stdout)
    return 0


def cmd_audit_why(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reading import why_message
    chain = why_message(app, args.message)
    if _json(args):
        _print_json(chain)
    else:
        print(render_why(chain))
    return 0


def cmd_audit_verify(app: Any, args: argparse.Namespace) -> int:
    import time

    from orchestrator.application.reading import verify_chain
    started = time.perf_counter()
    result = verify_chain(app, args.checkpoint)
    seconds = time.perf_counter() - started
    if _json(args):
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


def cmd_audit_checkpoint(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reading import head_checkpoint
    from orchestrator.persistence.checkpoints import write_checkpoint_file
    checkpoint = head_checkpoint(app)
    write_checkpoint_file(args.out, checkpoint)
    signed = ("signed" if checkpoint.signature
              else f"UNSIGNED (set {bootstrap.SIGNING_KEY_ENV})")
    print(f"checkpoint at position {checkpoint.position} ({signed}) written to {args.out}")
    return 0


def cmd_audit_keygen(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.persistence.checkpoints import new_key_pair
    private, public = new_key_pair()
    print(f"# keep the first line secret (the writers' environment); give the second to "
          f"auditors\n{bootstrap.SIGNING_KEY_ENV}={private}\n"
          f"{bootstrap.PUBLIC_KEY_ENV}={public}")
    return 0


def cmd_forget(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.forgetting import forget_contact
    erasure = forget_contact(app, args.contact, requested_by=args.by,
                             reference=args.reference)
    if _json(args):
        _print_json({"contact": erasure.contact, "keys_destroyed": erasure.keys_destroyed,
                     "subjects": [str(s) for s in erasure.subjects],
                     "position": erasure.position})
    else:
        print(f"forgot {erasure.contact}: {erasure.keys_destroyed} key(s) destroyed; "
              f"erasure recorded at position {erasure.position}")
    return 0


def cmd_audit_summary(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reading import summary
    result = summary(app, args.as_of)
    if _json(args):
        _print_json(result)
    else:
        print(render_summary(result))
    return 0


def cmd_demo(app: Any, args: argparse.Namespace) -> int:
    import time

    from orchestrator.application.demo import run_demo
    started = time.perf_counter()
    progress = ProgressLine("ingest", True)
    try:
        outcome = run_demo(
            app, contacts=args.contacts, seed=args.seed,
            templates=getattr(args, "templates", None), progress=progress,
            on_generated=lambda n: print(f"generated {n:,} touchpoints for "
                                         f"{args.contacts:,} synthetic contacts", flush=True))
    finally:
        progress.done()
    if _json(args):
        _print_json({"population": outcome.population, "messages": outcome.messages})
        return 0
    report, run, sent = outcome.ingest, outcome.run, outcome.sent
    print(f"ingested: {report.recorded:,} recorded, {report.duplicates:,} already "
          f"recorded ({report.recorded / max(report.seconds, 1e-9):,.0f} touchpoints/s)")
    for published in outcome.published:
        print(f"journey {published.journey} v{published.version} "
              f"{'published' if published.new else 'already published'}")
    print()
    print(render_summary(outcome.population))
    print(f"\nsimulated month {outcome.month_start.date()} to {outcome.month_end.date()}: "
          f"{run.touchpoints:,} touchpoints, {run.broadcasts} broadcast firing(s), "
          f"{run.enrolments:,} enrolment(s), {len(run.messages):,} message(s)")
    print(render_messages(outcome.messages))
    print(f"\ndry-run outbox {app.settings.outbox}: {sent.sent:,} written, {sent.failed:,} "
          f"failed. Try: orchestrator --store {app.settings.redacted_store_url} audit why "
          f"{_example_message(outcome.messages)}")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


def _example_message(messages: list[dict[str, Any]]) -> str:
    sent = [m for m in messages if m["status"] == "sent" and m["contact"]]
    return (sent or messages or [{"id": "MESSAGE_ID"}])[0]["id"]


if __name__ == "__main__":
    raise SystemExit(main())
