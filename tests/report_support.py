"""A small store for the report tests (CLI only: ingest, publish, run --until), and a
reader of the data attributes the report puts on what it draws."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from tests.journeys_support import JourneyWorld
from tests.support import consent, contact, purchase

# A hostile description: markup and quotes that must come out as text.
HOSTILE = '<script>alert("owned")</script> & <img src=x onerror=alert(1)> \'quoted\''

FLOW = f"""
journey: flow
description: '{HOSTILE.replace("'", "''")}'
trigger: {{on: purchase.recorded}}
exit_on: [consent.withdrawn]
steps:
  - id: hello
    send: {{intent: relationship, template: thanks}}
  - id: pause
    wait: 1d
  - id: check
    branch:
      - if: "contact.purchases_within('30d') >= 2 and 'a' < 'b'"
        goto: done
      - else: offer
  - id: offer
    send: {{intent: relationship, template: offer}}
  - id: done
    end: true
"""

OTHER = """
journey: other
trigger: {on: purchase.recorded}
steps:
  - id: only
    send: {intent: relationship, template: thanks}
"""

DAY1 = "2026-03-02T10:00:00+00:00"
UNTIL = "2026-03-10T00:00:00+00:00"


def flow_world(cli, store_url: str, folder: Path, *, with_other: bool = False
               ) -> JourneyWorld:
    """Five customers buy on 2 March; C1 to C4 consented to marketing email, C5 did not
    (suppressed twice); C2 buys again during the wait (the branch ends it), C3 withdraws
    consent during the wait (exits). So: 5 enrolled, hello 5, pause 5, check 4, offer 3,
    done 4; messages: hello 4 sent + 1 suppressed, offer 2 sent + 1 suppressed."""
    world = JourneyWorld(cli, store_url, folder)
    world.publish(FLOW, "flow.yaml")
    if with_other:
        world.publish(OTHER, "other.yaml")
    people = [contact(f"c{n}", "2026-03-01T08:00:00+00:00", f"C{n}",
                      email=f"c{n}@example.com") for n in range(1, 6)]
    consents = [consent(f"k{n}", "2026-03-01T08:00:00+00:00", f"C{n}") for n in range(1, 5)]
    buys = [purchase(f"p{n}", DAY1, f"C{n}") for n in range(1, 6)]
    world.ingest(*people, *consents, *buys,
                 purchase("p2b", "2026-03-02T18:00:00+00:00", "C2"),
                 consent("k3w", "2026-03-02T20:00:00+00:00", "C3", granted=False))
    world.run(UNTIL)
    return world


class DataAttributes(HTMLParser):
    """Every start tag's name, classes and attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def tags(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = DataAttributes()
    parser.feed(html)
    return parser.tags


def with_class(html: str, css_class: str) -> list[dict[str, str]]:
    return [attrs for _, attrs in tags(html) if css_class in attrs.get("class", "").split()]
