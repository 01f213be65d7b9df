"""What the command line prints: progress lines and the text renderings of the views."""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any

from orchestrator.domain.policy.rule_words import plain_words


class ProgressLine:
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


def reason_text(reason: str | None) -> str:
    """A message's reason (``rule: why``) with the rule's plain words beside its id."""
    rule, found, rest = (reason or "").partition(": ")
    words = plain_words(rule) if found else ""
    return f"{rule} ({words}): {rest}" if words else reason or ""


def render_summary(summary: dict[str, Any]) -> str:
    lines = [f"{summary['contacts']:,} contacts, {summary['events']:,} events, "
             f"as of {summary['as_of']}"]
    # Each share is of its right base: stages, consents and suppressions count contacts
    # (a contact may hold several consents), mentions count mentions.
    per_contact = ("stages", "consents_granted", "suppressions")
    for title, key in (("stage", "stages"), ("consent granted", "consents_granted"),
                       ("suppression", "suppressions"), ("mentions by stance",
                                                         "mentions_by_stance"),
                       ("mentions by author kind", "mentions_by_author_kind")):
        table = summary[key]
        if not table:
            continue
        lines.append(f"\n{title}:" + ("  (share of contacts)" if key in per_contact else
                                       "  (share of mentions)"))
        width = max(len(name) for name in table)
        total = summary["contacts"] if key in per_contact else sum(table.values())
        for name, count in table.items():
            share = count / total if total else 0
            lines.append(f"  {name:<{width}}  {count:>7,}  {share:6.1%}  "
                         f"{'#' * round(share * 40)}")
    lines.append(f"\nsocial handles not tied to any contact (stage unknown): "
                 f"{summary['unknown_handles']:,}")
    failures = summary.get("processing_failures") or []
    if failures:
        lines.append(f"\nprocessing failures: {len(failures):,} recorded fact(s) skipped by "
                     "every consumer:")
        lines.extend(f"  position {f['position']}: {f['type']}: {f['reason']}"
                     for f in failures[:20])
    return "\n".join(lines)


def render_messages(messages: list[dict[str, Any]]) -> str:
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
        lines.append(f"  {rule:<42} {count:>6,}  {plain_words(rule)}")
    return "\n".join(lines)


def journeys_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no journey published yet"
    return "\n".join(
        f"{row['journey']:<24} v{row['version']:<3} {row['kind']:<9} "
        f"{row.get('state', 'active'):<8} "
        f"{row['active']:>7,} in journey {row['ended']:>7,} finished  "
        f"{row['published_at'][:19]} by {row['author']}  {row['digest'][:12]}" for row in rows)


def journey_text(shown: dict[str, Any]) -> str:
    lines = [f"{shown['journey']} version {shown['version']} of {shown['latest_version']}, "
             f"{shown['state']}; published {shown['published_at'][:19]} by {shown['author']} "
             f"from {shown['source_path']} (sha256 {shown['digest'][:12]})", "", "templates:"]
    lines += [f"  {name}: {', '.join(files) or 'no files in the templates folder'}"
              for name, files in shown["templates"].items()] or ["  none"]
    lines += ["", f"{'step':<24} {'kind':<10} {'at now':>7} {'entered':>8}  messages"]
    for step in shown["steps"]:
        sent = ", ".join(f"{n:,} {status}" for status, n in step["messages"].items())
        lines.append(f"{step['id']:<24} {step['kind']:<10} {step['at_now']:>7,} "
                     f"{step['entered']:>8,}  {sent}")
    return "\n".join([*lines, "", "definition:", shown["source"].strip("\n")])


def run_text(outcome: Any, channel_set: str, outbox: str) -> str:
    report, sent = outcome.report, outcome.sent
    if report.started_at is None:
        return f"nothing to run: no unprocessed touchpoint up to {report.until.isoformat()}"
    lines = [f"ran {report.journeys} journey(s) from {report.started_at.isoformat()} to "
             f"{report.until.isoformat()}: {report.touchpoints:,} touchpoints, "
             f"{report.broadcasts:,} broadcast firing(s), {report.enrolments:,} enrolment(s), "
             f"{len(report.messages):,} message(s) scheduled"]
    if report.decisions:
        lines.append("decisions: " + ", ".join(f"{status} {count:,}" for status, count
                                               in sorted(report.decisions.items())))
    for rule, count in sorted(getattr(report, "not_sent_rules", {}).items(),
                              key=lambda item: (-item[1], item[0])):
        lines.append(f"  not sent: {rule:<42} {count:>6,}  {plain_words(rule)}")
    if sent.sent or sent.failed or sent.retry_later or sent.in_doubt:
        channels = ", ".join(f"{channel} {count:,}" for channel, count
                             in sorted(sent.by_channel.items()))
        where = f"{channel_set} outbox {outbox}" if channel_set != "live" else "live channels"
        verb = "written" if channel_set != "live" else "sent"
        rate = getattr(sent, "per_second", None)
        pace = f" in {sent.seconds:.1f} s ({rate:,.0f} msg/s)" if rate else ""
        lines.append(f"{where}: {sent.sent:,} {verb} ({channels}), "
                     f"{sent.failed:,} failed, {sent.retry_later:,} to retry{pace}")
        extra = [f"{count:,} {what}" for count, what in (
            (sent.in_doubt, "in doubt"), (sent.reconciled, "reconciled"),
            (sent.failed_over, "failed over"), (sent.dead_lettered, "dead-lettered"),
            (getattr(sent, "held_by_lifecycle", 0), "held: journey paused or archived"))
            if count]
        if extra:
            lines.append("dispatch: " + ", ".join(extra))
    elif getattr(sent, "held_by_lifecycle", 0):
        lines.append(f"dispatch: {sent.held_by_lifecycle:,} held: journey paused or archived")
    left = getattr(outcome, "left_to_workers", None)
    if left is not None:
        lines.append(f"dispatch: {left:,} chosen message(s) left to `orchestrator worker`")
    return "\n".join(lines)


def held_text(rows: list[dict[str, Any]]) -> str:
    lines = [f"{row['id']}  {row['journey']}/{row['step']}  {row['intent']}  {row['at']}  "
             f"{row['reason']}" for row in rows]
    return "\n".join([*lines, f"{len(rows):,} message(s) held for review"])


def messages_text(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'at':<25} {'id':<28} {'contact':<12} {'journey/step':<32} {'intent':<12} "
             f"{'channel':<7} {'status':<15} reason"]
    lines.extend(f"{row['at']:<25} {row['id']:<28} {row['contact'] or '-':<12} "
                 f"{row['journey'] + '/' + row['step']:<32} {row['intent']:<12} "
                 f"{row['channel'] or '-':<7} {row['status']:<15} {reason_text(row['reason'])}"
                 for row in rows)
    return "\n".join([*lines, f"{len(rows):,} message(s)"])


def contacts_text(rows: list[dict[str, Any]], now: Any) -> str:
    lines = [f"{'contact':<16} {'stage':<14} {'kind':<11} {'buys':>4}  consents (marketing)  "
             f"suppressed"]
    lines.extend(f"{row['contact']:<16} {row['stage']:<14} {row['kind']:<11} "
                 f"{row['purchases_in_window']:>4}  "
                 f"{','.join(row['marketing_consents']) or '-':<20}"
                 f"  {','.join(row['suppressed_channels']) or '-'}" for row in rows)
    return "\n".join([*lines, f"{len(rows):,} contact(s) as of {now.isoformat()}"])


def contact_text(view: dict[str, Any]) -> str:
    lines = [f"contact {view['contact']} as of {view['as_of']}: stage {view['stage']} "
             f"(kind {view['kind']}, {view['purchases_in_window']} purchase(s) in window)"]
    lines.extend(f"  consent {c['channel']}/{c['purpose']}: {c['status']} at {c['at']} "
                 f"(source {c['source']}, {c['touchpoint']})" for c in view["consents"])
    lines.extend(f"  suppressed {s['channel']}: {s['reason']} at {s['at']}"
                 for s in view["suppressions"])
    lines.extend(f"  identity {i['network']} {i['handle']} verified by {i['verified_by']} "
                 f"at {i['at']}" for i in view["identities"])
    for journey in view["journeys"]:
        where = (f"left ({journey['ended']['reason']})" if journey["ended"]
                 else f"at step {journey['step']}")
        lines.append(f"  journey {journey['journey']} v{journey['version']} entered "
                     f"{journey['entered_at']}, {where}")
    return "\n".join(lines)


def verify_text(result: Any, seconds: float) -> str:
    if not result.intact:
        return f"BROKEN at position {result.broken_at}: {result.problem}"
    lines = [f"intact: {result.events:,} events up to position {result.last_position}, "
             f"{result.checkpoints_checked} checkpoint(s), {result.signatures_checked} "
             f"signature(s) verified ({seconds:.2f} s)"]
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)


def demo_text(outcome: Any, outbox: str, store_url: str, seconds: float) -> str:
    report, run, sent = outcome.ingest, outcome.run, outcome.sent
    lines = [f"ingested: {report.recorded:,} recorded, {report.duplicates:,} already "
             f"recorded ({report.recorded / max(report.seconds, 1e-9):,.0f} touchpoints/s)"]
    lines.extend(f"journey {p.journey} v{p.version} "
                 f"{'published' if p.new else 'already published'}" for p in outcome.published)
    lines += ["", render_summary(outcome.population),
              f"\nsimulated month {outcome.month_start.date()} to {outcome.month_end.date()}: "
              f"{run.touchpoints:,} touchpoints, {run.broadcasts} broadcast firing(s), "
              f"{run.enrolments:,} enrolment(s), {len(run.messages):,} message(s)",
              render_messages(outcome.messages),
              f"\ndry-run outbox {outbox}: {sent.sent:,} written, {sent.failed:,} failed. "
              f"Try: orchestrator --store {store_url} audit why "
              f"{_example_message(outcome.messages)}",
              f"done in {seconds:.1f} s"]
    return "\n".join(lines)


def _example_message(messages: list[dict[str, Any]]) -> str:
    sent = [m for m in messages if m["status"] == "sent" and m["contact"]]
    return (sent or messages or [{"id": "MESSAGE_ID"}])[0]["id"]


def preview_text(preview: Any, templates_dir: str) -> str:
    """``preview``: each channel's parts under a heading naming the file they came from."""
    source = (f"journey {preview.journey} version {preview.version}" if preview.journey
              else f"templates folder {templates_dir}")
    lines = [f"preview of {preview.template} for {preview.contact} as of "
             f"{preview.as_of.isoformat()} ({source}); message id {preview.message_id}",
             "nothing was sent or recorded", *(f"note: {note}" for note in preview.notes)]
    for channel in preview.channels.values():
        for file, text in channel.parts().items():
            lines += ["", f"--- {channel.channel}: {file}{_segments(channel, file)} ---",
                      text.rstrip("\n")]
        lines += [f"warning: {channel.channel}: {warning}" for warning in channel.warnings]
    return "\n".join(lines)


def preview_files_text(preview: Any, folder: str, files: list[Any]) -> str:
    lines = [f"preview of {preview.template} for {preview.contact} written to {folder}: "
             f"{', '.join(path.name for path in files)}; nothing was sent or recorded",
             *(f"note: {note}" for note in preview.notes)]
    for channel in preview.channels.values():
        if channel.channel == "sms":
            lines.append(f"sms:{_segments(channel, 'sms.txt')}")
        lines += [f"warning: {channel.channel}: {warning}" for warning in channel.warnings]
    return "\n".join(lines)


def _segments(channel: Any, file: str) -> str:
    if channel.channel != "sms" or file != "sms.txt":
        return ""
    segments = channel.segments
    return (f" ({segments.count} segment{'s' if segments.count != 1 else ''}, "
            f"{segments.encoding}, {len(channel.text or ''):,} characters)")


def test_sent_text(sent: Any) -> str:
    return (f"sent once on {sent.channel} to the test address {sent.sent_to} (provider id "
            f"{sent.provider_id}); recorded as test message {sent.preview.message_id} at "
            f"position {sent.position:,}, which no message list or report counts")


class PlayedLine:
    """``simulate``'s progress on standard error: touchpoints played so far, per run."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.shown = False

    def __call__(self, label: str, touchpoints: int) -> None:
        if self.enabled:
            sys.stderr.write(f"\rsimulate ({label}): {touchpoints:,} touchpoints played")
            sys.stderr.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def simulation_text(result: dict[str, Any]) -> str:
    """Side by side: the candidate, the version in force, and the difference, per row
    (enrolled, messages, each channel, status and reason, goals); a reason's rule id is
    followed by its plain words."""
    candidate, in_force = result["candidate"], result["in_force"]
    rows: list[tuple[str, int, int | None, str]] = []

    def add(label: str, key: str, sub: str | None = None, words: str = "") -> None:
        def value(summary: dict[str, Any] | None) -> int | None:
            if summary is None:
                return None
            return summary[key].get(sub, 0) if sub is not None else summary[key]
        rows.append((label, value(candidate) or 0, value(in_force), words))

    add("enrolled", "enrolled")
    add("messages", "messages")
    for key, title in (("by_channel", "channel"), ("by_status", "status"),
                       ("by_reason", "reason")):
        for name in sorted(set(candidate[key]) | set((in_force or {}).get(key, {}))):
            add(f"  {title} {name}", key, name,
                plain_words(name) if key == "by_reason" else "")
    add("goals reached", "goals")
    heads = (f"candidate v{candidate['version']}",
             f"in force v{in_force['version']}" if in_force else "in force: none",
             "difference")
    width = max(len(label) for label, *_ in rows)
    lines = [f"{candidate['journey']} from {result['from']} to {result['to']} "
             f"(simulated: nothing sent, nothing recorded)",
             f"{'':<{width}}  {heads[0]:>14}  {heads[1]:>14}  {heads[2]:>10}"]
    for label, mine, theirs, words in rows:
        other = "-" if theirs is None else f"{theirs:,}"
        delta = "" if theirs is None else f"{mine - theirs:+,}" if mine != theirs else "0"
        lines.append(f"{label:<{width}}  {mine:>14,}  {other:>14}  {delta:>10}"
                     + (f"  {words}" if words else ""))
    return "\n".join(lines)


class CopyProgress:
    """``store copy``'s progress on standard error: events copied so far."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.shown = False

    def __call__(self, copied: int, total: int) -> None:
        if self.enabled:
            sys.stderr.write(f"\rstore copy: {copied:,} of about {total:,} events")
            sys.stderr.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def copy_json(report: Any) -> dict[str, Any]:
    return {"to": report.target, "events": report.events,
            "last_position": report.last_position, "keys": report.keys,
            "touchpoints": report.touchpoints, "checkpoints": report.checkpoints,
            "verified": report.verification.as_json(), "seconds": round(report.seconds, 3),
            "read_model_seconds": round(report.read_model_seconds, 3)}


def copy_text(report: Any) -> str:
    check = report.verification
    return (f"copied {report.events:,} events (up to position {report.last_position:,}), "
            f"{report.keys:,} subject keys, {report.touchpoints:,} touchpoint ids and "
            f"{report.checkpoints:,} checkpoints to {report.target} in {report.seconds:.1f} s "
            f"({report.per_second:,.0f} events/s)\n"
            f"verified before commit: chain intact over {check.events:,} events, "
            f"{check.sealed_checked:,} sealed blobs opened, {check.checkpoints_checked:,} "
            f"checkpoint(s) matched ({check.signatures_checked:,} signature(s))\n"
            f"read models built in {report.read_model_seconds:.1f} s; a checkpoint of the "
            "copy's head recorded")


def worker_started(member: str, channel_set: str, settings: Any) -> str:
    where = (f"dry-run outbox {settings.outbox}" if channel_set != "live"
             else "live channels: " + (", ".join(sorted(settings.channels_in_force)) or "none"))
    return (f"worker {member}: sending on {where} (store {settings.redacted_store_url}); "
            f"SIGTERM or Ctrl-C stops after the hand-overs in flight")


def worker_text(counts: Any, *, stopped: bool) -> str:
    how = "stopped" if stopped else "drained: nothing due"
    return (f"worker {how}: {counts.sent:,} sent, {counts.failed:,} failed, "
            f"{counts.retry_later:,} to retry, {counts.in_doubt:,} in doubt, "
            f"{counts.released:,} released, in {counts.batches:,} batch(es)")


def status_text(status: dict[str, Any]) -> str:
    """``orchestrator status`` for a person (the same figures as ``--json``)."""
    leader = status["leader"]
    lines = [f"live service at {status['at']} (log head {status['head']:,})",
             "leader: " + (f"{leader['member']} on {leader['host']} pid {leader['pid']}, "
                           f"beat {leader['beat_at']}" if leader else "none")]
    workers = status["workers"]
    lines.append(f"workers: {status['workers_alive']} alive, "
                 f"{len(workers) - status['workers_alive']} gone or stopped")
    for worker in workers:
        detail = worker["detail"]
        counts = ", ".join(f"{key} {detail[key]:,}" for key in (
            "sent", "failed", "in_flight", "claimed") if key in detail)
        lines.append(f"  {worker['member']}  {worker['state']:<8} {worker['host']} "
                     f"pid {worker['pid']}  beat {worker['beat_at']}"
                     + (f"  ({counts})" if counts else ""))
    lag = status["lag"]

    def behind(consumer: dict[str, Any]) -> str:
        if consumer["behind"] is None:
            return "never ran"
        return f"{consumer['behind']:,} event(s) behind (at {consumer['position']:,})"

    lines.append(f"lag: read model {behind(lag['read_model'])}; engine "
                 f"{behind(lag['engine'])}")
    if status["due"] is None:
        lines.append("messages: no read model yet (any write command builds it)")
    else:
        lines.append(f"messages: {status['due']:,} due, {status['in_flight']:,} in flight, "
                     f"{status['in_doubt']:,} in doubt, {status['retry_later']:,} to retry "
                     f"later, {status['held']:,} held (journey paused or archived), "
                     f"{status['dead_letters']:,} dead letter(s)")
    return "\n".join(lines)
