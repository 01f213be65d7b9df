"""The ``orchestrator`` command line: it parses, calls one application service, prints.

Exit codes (contract): 0 success, 1 a check failed, 2 bad input or usage.
Global options (``--store``, ``--templates``, ``--json``) are accepted before or after the
command name. Settings are read once, by the composition root (``orchestrator.bootstrap``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from orchestrator import bootstrap, console
from orchestrator.console import ProgressLine
from orchestrator.domain.message_lifecycle import STATUSES
from orchestrator.domain.time_range import out_of_range
from orchestrator.domain.vocabulary import CHANNELS
from orchestrator.errors import InvalidInput, OrchestratorError


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO-8601 timestamp (e.g. 2026-03-01T09:00:00+00:00)") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset; add one, e.g. +00:00")
    reason = out_of_range(moment)
    if reason:
        raise argparse.ArgumentTypeError(f"{text!r} {reason}")
    return moment


def _poll_seconds(text: str) -> float:
    """How long a worker waits when nothing is due (a fraction of a second will do)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds (more than 0, at most 3600)")
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= 256:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to 256")
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1 to 65535)")
    return int(text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors exit 2, as argparse does
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


class _SendTo(argparse.Action):
    """``preview --send-to``: a test message goes out through a live channel, so the
    application is built with the live channels configured in the environment."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        namespace.send_to = values
        namespace.channels = bootstrap.LIVE


def _interval_seconds(text: str) -> int:
    """A whole number of seconds from 1 to a day (the live service's interval)."""
    if not text.isdigit() or not 1 <= int(text) <= 86400:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds from "
                                         "1 to 86400")
    return int(text)


def _timestamp_option(help_text: str) -> dict[str, Any]:
    return {"type": _timestamp, "default": None, "help": help_text}


def _command(commands: Any, common: argparse.ArgumentParser, name: str, help_text: str,
             handler: Any = None, *arguments: tuple[tuple[str, ...], dict[str, Any]],
             **defaults: Any) -> argparse.ArgumentParser:
    command = commands.add_parser(name, parents=[common], help=help_text)
    for flags, options in arguments:
        command.add_argument(*flags, **options)
    if handler is not None:
        command.set_defaults(handler=handler, **defaults)
    return command


def _group(parent: argparse.ArgumentParser, dest: str) -> Any:
    return parent.add_subparsers(dest=dest, required=True, parser_class=_Parser)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    for flags, options in (
            (("--store",), {"help": "store URL (default: $ORCHESTRATOR_STORE or "
                                    "sqlite:///orchestrator.db)"}),
            (("--templates",), {"help": "templates folder (default: ./templates)"}),
            (("--json",), {"action": "store_true", "help": "print data as JSON"}),
            (("-v", "--verbose"), {"action": "store_true"})):
        common.add_argument(*flags, default=argparse.SUPPRESS, **options)
    parser = _Parser(prog="orchestrator", parents=[common],
                     description="Event-sourced multichannel communication orchestrator.")
    commands = _group(parser, "command")
    as_of = (("--as-of",), _timestamp_option("ISO-8601 timestamp with offset (default: now)"))
    outbox = (("--outbox",), {"default": "outbox", "help": "dry-run outbox folder"})

    def by(who: str) -> tuple[tuple[str, ...], dict[str, Any]]:
        return (("--by",), {"default": None,
                            "help": f"{who} (default: $ORCHESTRATOR_ACTOR or $USER)"})

    _command(commands, common, "demo", "synthetic population on the embedded store, and a "
             "summary", cmd_demo, (("--contacts",), {"type": int, "default": 10_000}),
             (("--seed",), {"type": int, "default": 7}), outbox)
    _command(commands, common, "ingest", "record touchpoints (JSONL)", cmd_ingest,
             (("file",), {"help": "a JSON Lines file, or - for standard input"}),
             (("--skip-invalid",), {"action": "store_true", "help": "record the valid lines; "
                                    "write the others to FILE.rejected.jsonl"}),
             (("--progress",), {"action": "store_true", "help": "show progress even when "
                                "standard error is not a terminal"}))

    audit = _group(_command(commands, common, "audit", "read-only views of history"),
                   "audit_command")
    _command(audit, common, "contact", "a contact's state as it was at a moment",
             cmd_audit_contact, (("contact",), {}), as_of)
    _command(audit, common, "export", "the full history, one event a line", cmd_audit_export,
             (("--format",), {"choices": ["jsonl"], "default": "jsonl"}),
             (("--from",), {"dest": "from_", **_timestamp_option(
                 "only events whose business time is at or after this")}),
             (("--to",), _timestamp_option("only events whose business time is at or before "
                                           "this")),
             (("--contact",), {"default": None, "help": "only the events about this contact "
                               "(its phones and handles too)"}),
             (("--bundle",), {"metavar": "DIR", "default": None, "help": "write events.jsonl, "
                              "checkpoint.json and verification.json into DIR instead"}))
    _command(audit, common, "why", "the chain of facts behind one message", cmd_audit_why,
             (("message",), {}))
    _command(audit, common, "verify", "check the tamper-evidence chain (exit 1 if broken)",
             cmd_audit_verify,
             (("--checkpoint",), {"action": "append", "default": [], "metavar": "FILE",
                                  "help": "a checkpoint kept outside the store (repeatable)"}),
             (("--public-key",), {"default": None, "help": "base64 Ed25519 public key that "
                                  "must have signed the checkpoints (default: "
                                  "$ORCHESTRATOR_CHECKPOINT_PUBLIC_KEY)"}))
    _command(audit, common, "checkpoint", "export the latest signed checkpoint",
             cmd_audit_checkpoint, (("--out",), {"required": True, "metavar": "FILE"}))
    _command(audit, common, "keygen", "print a new Ed25519 key pair for checkpoints",
             cmd_audit_keygen)
    _command(audit, common, "summary", "stages, consents and mentions across contacts",
             cmd_audit_summary, as_of)

    journeys = _group(_command(commands, common, "journeys", "journey lifecycle"),
                      "journeys_command")
    files = (("files",), {"nargs": "+"})
    _command(journeys, common, "validate", "check journey files; publish nothing",
             cmd_journeys_validate, files)
    _command(journeys, common, "publish", "record new immutable versions",
             cmd_journeys_publish, files, (("--author",), by("who publishes")[1]))
    _command(journeys, common, "list", "versions and how many contacts are in each",
             cmd_journeys_list)
    _command(journeys, common, "graph", "draw a journey file as a graph (SVG); publish "
             "nothing", cmd_journeys_graph, (("file",), {"help": "a journey file"}),
             (("--svg",), {"required": True, "metavar": "OUT.svg",
                           "help": "where to write the drawing"}))
    _command(journeys, common, "show", "a version as recorded, its state, templates and "
             "counts per step", cmd_journeys_show, (("journey",), {}),
             (("--version",), {"type": int, "default": None, "help": "default: the latest"}))
    for verb, help_text in (("pause", "enrol no one and send nothing until resumed"),
                            ("resume", "go on with a paused journey"),
                            ("archive", "end the journey's enrolments for good")):
        _command(journeys, common, verb, help_text, cmd_journeys_lifecycle,
                 (("journey",), {}), (("--actor",), by("who does it")[1]),
                 (("--note",), {"default": None, "help": "why (kept in the event)"}),
                 action=verb)

    _command(commands, common, "run", "advance journeys; --until runs a simulated clock",
             cmd_run,
             (("--until",), _timestamp_option("run on a simulated clock up to this moment, "
                                              "then exit")),
             (("--channels",), {"choices": list(bootstrap.CHANNEL_SETS),
                                "default": bootstrap.DRY_RUN}),
             (("--every",), {"type": _interval_seconds, "default": 30, "metavar": "SECONDS", "help":
                             "without --until: how often the live service advances"}),
             outbox,
             (("--policy",), {"default": None, "help": "channel policy rules (default: "
                              "./policy.yaml if present, else the SPEC's defaults)"}),
             (("--dispatch",), {"choices": ["auto", "self", "workers"], "default": "auto",
                                "help": "who sends what the run chose: auto (the run, "
                                "unless an `orchestrator worker` is alive), self, or "
                                "workers (docs/workers.md)"}))
    _command(commands, common, "worker", "a worker process of the live service: sends "
             "what was chosen; several may share one store (docs/workers.md)", cmd_worker,
             (("--channels",), {"choices": list(bootstrap.CHANNEL_SETS),
                                "default": bootstrap.DRY_RUN}),
             outbox,
             (("--every",), {"type": _poll_seconds, "default": 1.0, "metavar": "SECONDS",
                             "help": "how long to wait when nothing is due (default: 1)"}),
             (("--concurrency",), {"type": _positive, "default": 8, "metavar": "N",
                                   "help": "hand-overs at once in this worker (default: 8)"}),
             (("--drain",), {"action": "store_true", "help": "exit once nothing is due "
                             "or in flight (a backlog worker; also for tests and benches)"}))
    _command(commands, common, "status", "the live service: leader, workers, lag, "
             "messages due, in doubt, dead letters (read-only)", cmd_status)
    _command(commands, common, "simulate", "what-if: a journey file over a window of "
             "recorded history, beside the version in force; sends and writes nothing",
             cmd_simulate, (("file",), {"help": "the candidate journey (YAML)"}),
             (("--from",), {"dest": "from_", "required": True, "type": _timestamp,
                            "metavar": "TS",
                            "help": "the window's first moment (ISO-8601 with offset)"}),
             (("--to",), {"required": True, "type": _timestamp, "metavar": "TS",
                          "help": "the window's last moment (ISO-8601 with offset)"}),
             (("--policy",), {"default": None, "help": "channel policy rules (default: "
                              "./policy.yaml if present, else the SPEC's defaults)"}))
    _command(commands, common, "messages", "messages with their status (from the read "
             "model)", cmd_messages, (("--contact",), {"default": None}),
             (("--journey",), {"default": None, "help": "only this journey's messages"}),
             (("--status",), {"choices": list(STATUSES), "default": None}),
             (("--channel",), {"choices": sorted(CHANNELS), "default": None}),
             (("--since",), _timestamp_option("only messages at or after this moment")),
             (("--until",), _timestamp_option("only messages at or before this moment")))

    _command(commands, common, "report", "a self-contained HTML page: journey graphs with "
             "counts, funnels, messages over time, reasons, versions (docs/report.md)",
             cmd_report, (("--html",), {"required": True, "metavar": "OUT.html"}),
             (("--journey",), {"default": None, "help": "only this journey"}),
             (("--from",), {"dest": "from_", **_timestamp_option(
                 "only facts whose business time is at or after this")}),
             (("--to",), _timestamp_option("only facts whose business time is at or before "
                                           "this")))

    review = _group(_command(commands, common, "review", "messages held for a person to "
                             "review"), "review_command")
    _command(review, common, "list", "the held messages", cmd_review_list)
    for verb, help_text in (("approve", "release a held message: the policy decides again"),
                            ("dismiss", "decide a held message will not be sent")):
        _command(review, common, verb, help_text, cmd_review_act, (("message",), {}),
                 by("who decides"), (("--note",), {"default": None}),
                 approve=verb == "approve")

    _command(commands, common, "contacts", "contacts with their stage now (from the read "
             "model)", cmd_contacts,
             (("--stage",), {"default": None, "help": "only contacts at this stage"}), as_of)
    projections = _group(_command(commands, common, "projections", "read models derived "
                                  "from the events"), "projections_command")
    _command(projections, common, "rebuild", "drop the read models and rebuild them from "
             "the events", cmd_projections_rebuild)
    store = _group(_command(commands, common, "store", "the store as a whole"),
                   "store_command")
    _command(store, common, "copy", "copy the whole store (events, chain, keys, "
             "checkpoints) to an empty store, e.g. SQLite to PostgreSQL, verified before it "
             "commits (docs/store-copy.md)", cmd_store_copy,
             (("--to",), {"required": True, "metavar": "URL", "help": "the target store "
                          "URL (it must hold no events)"}))
    _command(commands, common, "serve", "the HTTP endpoint for provider webhooks and "
             "unsubscribe links (docs/serve.md)", cmd_serve,
             (("--host",), {"default": "127.0.0.1", "help": "address to listen on "
                            "(default: 127.0.0.1; put a TLS proxy in front)"}),
             (("--port",), {"type": _port, "default": 8080, "help": "default: 8080"}))
    _command(commands, common, "preview", "what a contact would get from a template, on "
             "each channel it has; sends and records nothing", cmd_preview,
             (("template",), {"help": "a template folder name under --templates"}),
             (("--contact",), {"required": True, "help": "the contact's key"}),
             (("--channel",), {"choices": sorted(CHANNELS), "default": None,
                               "help": "only this channel"}),
             (("--journey",), {"default": None, "help": "render with the templates pinned "
                               "in this journey's latest version (default: the folder)"}),
             (("--out",), {"default": None, "metavar": "DIR", "help": "write one file a "
                           "part (email.subject.txt, email.txt, sms.txt...) into DIR"}),
             (("--send-to",), {"default": None, "metavar": "ADDRESS", "action": _SendTo,
                               "help": "also send it once to this test address (email, or "
                               "+E.164 for sms) through the live channel; recorded as a "
                               "test message that nothing counts"}))
    _command(commands, common, "forget", "erase a contact's personal data "
             "(crypto-shredding)", cmd_forget, (("contact",), {}),
             by("who asked for the erasure"),
             (("--reference",), {"default": None, "help": "the request's reference"}),
             (("--outbox",), {"default": None, "metavar": "DIR", "help": "also remove the "
                              "contact's messages from this dry-run outbox"}))
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


def _show(args: argparse.Namespace, data: Any, text: Callable[[], str]) -> int:
    """Print ``data`` as JSON with --json, else its text rendering; exit 0."""
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    else:
        print(text())
    return 0


def cmd_ingest(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.ingesting import ingest
    progress = ProgressLine("ingest", args.progress or sys.stderr.isatty())
    try:
        report = ingest(app, args.file, skip_invalid=args.skip_invalid, progress=progress)
    finally:
        progress.done()
    if not getattr(args, "json", False):
        for problem in report.problems:
            print(problem, file=sys.stderr)
    return _show(args, report.as_json(), report.summary)


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
        print(f"published {outcome.journey} version {outcome.version} (sha256 "
              f"{outcome.digest[:12]})" if outcome.new else
              f"{outcome.journey} unchanged: version {outcome.version} is this file")
    return 0


def cmd_journeys_list(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.journeys import journey_versions
    rows = journey_versions(app)
    return _show(args, rows, lambda: console.journeys_text(rows))


def cmd_journeys_show(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.journeys import show_journey
    shown = show_journey(app, args.journey, args.version)
    return _show(args, shown, lambda: console.journey_text(shown))


def cmd_journeys_graph(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reporting import write_journey_svg
    path = write_journey_svg(app, args.file, args.svg)
    print(f"{args.file}: drawn to {path}")
    return 0


def cmd_report(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reporting import write_report
    from orchestrator.audit.report_data import Window
    written = write_report(app, args.html, journey=args.journey,
                           window=Window(args.from_, args.to))
    _behind(written.behind)
    print(f"report written to {written.path} ({written.versions} journey version(s), "
          f"{written.messages:,} message(s))")
    return 0


def cmd_journeys_lifecycle(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.journeys import change_journey
    actor, state = change_journey(app, args.journey, args.action, actor=args.actor,
                                  note=args.note)
    print(f"{args.journey}: {state} by {actor} (in force from the next run's first moment)")
    return 0


def cmd_run(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.running import advance, close_all, serve_live
    if args.channels == bootstrap.LIVE:
        from orchestrator.bootstrap.live import describe_live
        live = ", ".join(sorted(app.settings.channels_in_force)) or "none"
        print(f"live channels: {live}", flush=True)
        for line in describe_live(app.settings):
            print(f"  {line}", flush=True)
    # A channel set that cannot send is refused now, before any work.
    close_all(app.channel_adapters(app.now).values())

    def report(outcome: Any) -> None:
        print(console.run_text(outcome, args.channels, app.settings.outbox), flush=True)

    if args.until is not None:
        outcome = advance(app, args.until, dispatch=args.dispatch)
        report(outcome)
        return 1 if outcome.sent.failed else 0  # a message failed: say so in the status
    print(f"live: advancing journeys every {args.every} s on {args.channels} channels "
          f"(outbox {app.settings.outbox}); Ctrl-C stops", flush=True)
    from orchestrator.service.members import Membership
    serve_live(app, args.every, lambda outcome: report(outcome) if (
        outcome.report.touchpoints or outcome.report.broadcasts or outcome.sent.sent)
        else None, membership=Membership, say=lambda line: print(line, flush=True),
        dispatch=args.dispatch)
    print("live: stopped", flush=True)
    return 0


def cmd_simulate(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.simulating import simulate
    progress = console.PlayedLine(sys.stderr.isatty())
    try:
        result = simulate(app, args.file, args.from_, args.to, progress=progress)
    finally:
        progress.done()
    return _show(args, result.as_json(), lambda: console.simulation_text(result.as_json()))


def cmd_worker(app: Any, args: argparse.Namespace) -> int:
    import signal
    import threading

    from orchestrator.application.running import close_all
    from orchestrator.application.working import work
    # A channel set that cannot send is refused now, before joining.
    close_all(app.channel_adapters(app.now).values())
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        counts = work(app, stop=stop, every=args.every, concurrency=args.concurrency,
                      drain=args.drain, on_join=lambda member: print(
                          console.worker_started(member, args.channels, app.settings),
                          flush=True))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(console.worker_text(counts, stopped=stop.is_set()), flush=True)
    return 0


def cmd_status(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.status import live_status
    found = live_status(app)
    return _show(args, found, lambda: console.status_text(found))


def cmd_serve(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.service.server import Serving
    serving = Serving(app, args.host, args.port)
    print(f"serving on http://{args.host}:{args.port} for {app.settings.public_url} "
          f"(store {app.settings.redacted_store_url}); SIGTERM or Ctrl-C stops", flush=True)
    serving.run()
    print("serve: stopped", flush=True)
    return 0


def _behind(events: int) -> None:
    if events:
        print(f"note: the read model is {events:,} event(s) behind the store; any write "
              f"command, or `orchestrator projections rebuild`, brings it up to date",
              file=sys.stderr)


def cmd_review_list(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reviewing import held_for_review
    rows, behind = held_for_review(app)
    _behind(behind)
    return _show(args, rows, lambda: console.held_text(rows))


def cmd_review_act(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reviewing import decide_review
    actor = args.by or app.settings.actor
    status = decide_review(app, args.message, approve=args.approve, actor=actor,
                           note=args.note)
    print(f"{args.message}: {'approved' if args.approve else 'dismissed'} by {actor}; "
          f"now {status}")
    return 0


def cmd_messages(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reading import MessageFilter, messages
    found = messages(app, args.contact, MessageFilter(
        journey=args.journey, status=args.status, channel=args.channel, since=args.since,
        until=args.until))
    _behind(found.behind)
    return _show(args, found.rows, lambda: console.messages_text(found.rows))


def cmd_contacts(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reading import contacts
    now, found = contacts(app, as_of=args.as_of, stage=args.stage)
    _behind(found.behind)
    return _show(args, found.rows, lambda: console.contacts_text(found.rows, now))


def cmd_projections_rebuild(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reading import rebuild_read_models
    started = time.perf_counter()
    position = rebuild_read_models(app)
    print(f"read models rebuilt from {position:,} events in "
          f"{time.perf_counter() - started:.2f} s")
    return 0


def cmd_store_copy(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.copying import copy_store
    progress = console.CopyProgress(sys.stderr.isatty() and not args.json)
    try:
        report = copy_store(app, args.to, progress)
    finally:
        progress.done()
    return _show(args, console.copy_json(report), lambda: console.copy_text(report))


def cmd_audit_contact(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reading import contact_as_of
    view = contact_as_of(app, args.contact, args.as_of)
    return _show(args, view, lambda: console.contact_text(view))


def cmd_audit_export(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reading import export, export_bundle
    from orchestrator.audit.export import ExportFilter
    selection = ExportFilter(start=args.from_, end=args.to, contact=args.contact)
    if not args.bundle:
        export(app, selection, sys.stdout)
        return 0
    bundle = export_bundle(app, args.bundle, selection)
    print(f"bundle written to {bundle.folder}: {bundle.events:,} events, chain "
          f"{'intact' if bundle.intact else 'BROKEN'}")
    return 0 if bundle.intact else 1


def cmd_audit_why(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reading import why_message
    chain = why_message(app, args.message)
    return _show(args, chain, lambda: console.render_why(chain))


def cmd_audit_verify(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reading import verify_chain
    started = time.perf_counter()
    result = verify_chain(app, args.checkpoint)
    seconds = time.perf_counter() - started
    _show(args, result.as_json(), lambda: console.verify_text(result, seconds))
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
                             reference=args.reference, outbox=args.outbox)
    return _show(args, {"contact": erasure.contact, "keys_destroyed": erasure.keys_destroyed,
                        "subjects": [str(s) for s in erasure.subjects],
                        "position": erasure.position,
                        "outbox_removed": erasure.outbox_removed},
                 lambda: f"forgot {erasure.contact}: {erasure.keys_destroyed} key(s) "
                         f"destroyed; erasure recorded at position {erasure.position}"
                         + (f"; {erasure.outbox_removed} outbox file(s) and line(s) removed"
                            if args.outbox else ""))


def cmd_preview(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.previewing import preview, send_test, write_preview
    sent = None
    if args.send_to is not None:
        sent = send_test(app, args.template, args.contact, args.send_to,
                         channel=args.channel, journey=args.journey)
        shown = sent.preview
    else:
        shown = preview(app, args.template, args.contact, channel=args.channel,
                        journey=args.journey)
    data = sent.as_json() if sent else shown.as_json()
    if args.out is not None:
        files = write_preview(shown, args.out)
        text = console.preview_files_text(shown, args.out, files)
    else:
        text = console.preview_text(shown, app.settings.templates_dir)
    if sent is not None:
        text = text.replace("nothing was sent or recorded", console.test_sent_text(sent))
    return _show(args, data, lambda: text)


def cmd_audit_summary(app: Any, args: argparse.Namespace) -> int:
    from orchestrator.application.reading import summary
    result = summary(app, args.as_of)
    return _show(args, result, lambda: console.render_summary(result))


def cmd_demo(app: Any, args: argparse.Namespace) -> int:
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
    return _show(args, {"population": outcome.population, "messages": outcome.messages},
                 lambda: console.demo_text(outcome, app.settings.outbox,
                                           app.settings.redacted_store_url,
                                           time.perf_counter() - started))


if __name__ == "__main__":
    raise SystemExit(main())
