"""What the command line prints: progress lines and the text renderings of the views."""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any


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
        lines.append(f"  {rule:<42} {count:>6,}")
    return "\n".join(lines)
