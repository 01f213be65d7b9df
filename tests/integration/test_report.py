"""``orchestrator report --html`` and ``journeys graph --svg`` through the command line:
the numbers on the page are the store's (the ``messages --json`` counts and the engine's
facts), filters narrow them, hostile text stays text, and nothing is fetched."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from tests.journeys_support import JourneyWorld
from tests.report_support import FLOW, HOSTILE, flow_world, tags, with_class

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def world(cli, store_url, tmp_path):
    return flow_world(cli, store_url, tmp_path, with_other=True)


def _report(world, *args: str) -> str:
    out = world.folder / "report.html"
    result = world.run_cli("report", "--html", str(out), *args)
    assert result.code == 0, result.err
    assert str(out.resolve()) in result.out
    return out.read_text(encoding="utf-8")


def _section(html: str, journey: str) -> str:
    start = html.index('<section class="journey" id="journey-')
    sections = html[start:].split('<section class="journey"')
    [found] = [s for s in sections if f'data-journey="{journey}"' in s.split(">", 1)[0]]
    return found


def _edges(html: str) -> dict[tuple[str, str], int]:
    return {(e["data-from"], e["data-to"]): int(e["data-count"])
            for e in with_class(html, "edge")}


def _funnel(html: str) -> dict[str, dict[str, str]]:
    """Each funnel row's attributes, with ``statuses``: the message pills in the row."""
    rows: dict[str, dict[str, str]] = {}
    table = html.split('<table class="funnel"')[1].split("</table>")[0]
    for tag, attrs in tags(table):
        if tag == "tr" and "data-entered" in attrs:
            row = rows[attrs["data-step"]] = {**attrs, "statuses": {}}
        elif "data-status" in attrs:
            row["statuses"][attrs["data-status"]] = int(attrs["data-count"])
    return rows


def test_the_graph_and_funnel_count_what_the_store_holds(world):
    html = _report(world)
    messages = world.messages()
    flow = _section(html, "flow")

    assert _edges(flow) == {
        ("trigger", "step:hello"): 5, ("step:hello", "step:pause"): 5,
        ("step:pause", "step:check"): 4, ("step:check", "step:done"): 1,
        ("step:check", "step:offer"): 3, ("step:offer", "step:done"): 3,
        ("step:pause", "ending:exit:consent.withdrawn"): 1}
    funnel = _funnel(flow)
    assert {step: int(row["data-entered"]) for step, row in funnel.items()} == {
        "": 5, "hello": 5, "pause": 5, "check": 4, "offer": 3, "done": 4}
    per_step = Counter(m["step"] for m in messages if m["journey"] == "flow")
    for step in ("hello", "offer"):
        assert int(funnel[step]["data-messages"]) == per_step[step]
        # One message per visit of a contact journey's send step: the edge in agrees.
        assert sum(n for (_, to), n in _edges(flow).items() if to == f"step:{step}") == (
            per_step[step])
    assert funnel["hello"]["statuses"] == {"sent": 4, "suppressed": 1}
    assert funnel["offer"]["statuses"] == {"sent": 2, "suppressed": 1}
    summary = {a["data-status"]: int(a["data-count"]) for t, a in tags(html)
               if t == "tr" and "data-status" in a and "data-rule" not in a}
    assert summary == dict(Counter(m["status"] for m in messages))
    total = next(a for _, a in tags(html) if "data-total-messages" in a)
    assert int(total["data-total-messages"]) == len(messages)
    assert [(a["data-rule"], int(a["data-count"])) for _, a in tags(html)
            if "data-rule" in a] == [("relationship.requires_marketing_consent", sum(
                m["status"] == "suppressed" for m in messages))]
    assert "no consent to marketing on a private channel" in html
    bars = Counter()
    for bar in with_class(html, "bar"):
        if "data-series" in bar:
            bars[bar["data-series"]] += int(bar["data-count"])
    assert bars == Counter(m["status"] for m in messages) + Counter(
        m["channel"] or "none" for m in messages)
    assert "published version 1" in html and "flow" in html


def test_the_journey_filter_keeps_one_journey(world):
    html = _report(world, "--journey", "other")

    assert [a["data-journey"] for t, a in tags(html)
            if t == "section" and "data-journey" in a] == ["other"]
    only_other = [m for m in world.messages() if m["journey"] == "other"]
    total = next(a for _, a in tags(html) if "data-total-messages" in a)
    assert int(total["data-total-messages"]) == len(only_other) == 5
    assert 'data-journey="flow"' not in html


def test_from_and_to_count_only_the_facts_inside_the_window(world):
    since, until = "2026-03-03T00:00:00+00:00", "2026-03-04T00:00:00+00:00"
    html = _report(world, "--journey", "flow", "--from", since, "--to", until)

    listed = json.loads(world.run_cli("messages", "--json", "--journey", "flow", "--since",
                                      since, "--until", until).out)
    total = next(a for _, a in tags(html) if "data-total-messages" in a)
    assert int(total["data-total-messages"]) == len(listed) == 3
    # The enrolments began before the window; within it they left the wait and went on.
    assert _edges(html) == {
        ("trigger", "step:hello"): 0, ("step:hello", "step:pause"): 0,
        ("step:pause", "step:check"): 4, ("step:check", "step:done"): 1,
        ("step:check", "step:offer"): 3, ("step:offer", "step:done"): 3}
    assert int(_funnel(html)[""]["data-entered"]) == 0


def test_hostile_text_is_escaped_and_nothing_is_fetched(world):
    html = _report(world)

    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in html
    assert not re.search(r"<script|<link|<iframe|<img|@import|url\((?!#)", html, re.I)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert "contact.purchases_within(&#39;30d&#39;) &gt;= 2 and &#39;a&#39; &lt; &#39;b&#39;" in (
        html)
    assert "c1@example.com" not in html  # no personal data on the page


def test_report_refuses_an_unknown_journey_a_missing_folder_and_a_reversed_window(
        world, tmp_path):
    out = tmp_path / "r.html"
    unknown = world.run_cli("report", "--html", str(out), "--journey", "nope")
    missing = world.run_cli("report", "--html", str(tmp_path / "no" / "r.html"))
    reversed_ = world.run_cli("report", "--html", str(out), "--from",
                              "2026-03-05T00:00:00+00:00", "--to",
                              "2026-03-01T00:00:00+00:00")

    assert (unknown.code, missing.code, reversed_.code) == (2, 2, 2)
    assert "no journey 'nope' is published" in unknown.err
    assert "no folder" in missing.err and "is after --to" in reversed_.err
    assert not out.exists()


def test_journeys_graph_draws_one_node_per_step_as_valid_svg(cli, tmp_path):
    world = JourneyWorld(cli, f"sqlite:///{tmp_path / 's.db'}",
                                                   tmp_path)
    path = tmp_path / "flow.yaml"
    path.write_text(FLOW)
    out = tmp_path / "flow.svg"

    result = world.run_cli("journeys", "graph", str(path), "--svg", str(out))

    assert result.code == 0, result.err
    root = ET.parse(out).getroot()
    assert root.tag == f"{SVG}svg"
    nodes = [g for g in root.iter(f"{SVG}g") if "node" in g.get("class", "").split()]
    assert sorted(g.get("data-step") for g in nodes if g.get("data-step")) == sorted(
        ["hello", "pause", "check", "offer", "done"])
    assert {g.get("data-node") for g in nodes} >= {"trigger", "ending:exit:consent.withdrawn"}
    edges = {(g.get("data-from"), g.get("data-to")) for g in root.iter(f"{SVG}g")
             if "edge" in g.get("class", "").split()}
    assert edges == {("trigger", "step:hello"), ("step:hello", "step:pause"),
                     ("step:pause", "step:check"), ("step:check", "step:done"),
                     ("step:check", "step:offer"), ("step:offer", "step:done")}
    assert not any(g.get("data-count") for g in root.iter(f"{SVG}g"))  # no counts
    assert "<script" not in out.read_text() and HOSTILE not in out.read_text()


def test_journeys_graph_of_an_invalid_file_fails_as_validate_does(cli, tmp_path):
    world = JourneyWorld(cli, f"sqlite:///{tmp_path / 's.db'}",
                                                   tmp_path)
    path = tmp_path / "bad.yaml"
    path.write_text("journey: bad\ntrigger: {on: purchase.recorded}\nsteps:\n"
                    "  - id: a\n    goto_nowhere: true\n")
    out = tmp_path / "bad.svg"

    drawn = world.run_cli("journeys", "graph", str(path), "--svg", str(out))
    validated = world.run_cli("journeys", "validate", str(path))

    assert drawn.code == validated.code == 2
    assert drawn.err == validated.err and f"{path}:" in drawn.err
    assert not out.exists()


LOOP = """
journey: nudge-until-clicked
trigger: {on: purchase.recorded}
steps:
  - id: hello
    send: {intent: relationship, template: thanks}
  - id: wait-click
    wait_until: {on: message.clicked, timeout: 2d}
  - id: clicked
    branch:
      - if: "wait.outcome == 'event'"
        goto: done
      - else: nudge
  - id: nudge
    send: {intent: relationship, template: offer}
  - id: again
    branch:
      - if: "contact.purchases_within('30d') < 3"
        goto: wait-click
      - else: done
  - id: done
    end: true
"""


def test_a_loop_through_a_wait_is_drawn_back_up_and_counted_each_time_round(cli, sqlite_url,
                                                                            tmp_path):
    world = JourneyWorld(cli, sqlite_url, tmp_path)
    path = tmp_path / "loop.yaml"
    path.write_text(LOOP)
    drawn = world.run_cli("journeys", "graph", str(path), "--svg", str(tmp_path / "l.svg"))
    world.publish(LOOP, "loop.yaml")
    world.ingest({"id": "p1", "type": "purchase.recorded", "at": "2026-03-02T10:00:00Z",
                  "contact": "C1", "amount": 5, "currency": "EUR"})
    world.run("2026-03-09T11:00:00+00:00")  # three timeouts: 4, 6 and 8 March

    assert drawn.code == 0, drawn.err
    root = ET.parse(tmp_path / "l.svg").getroot()
    backs = [(g.get("data-from"), g.get("data-to")) for g in root.iter(f"{SVG}g")
             if g.get("class") == "edge back"]
    assert backs == [("step:again", "step:wait-click")]
    html = _report(world)
    edges = _edges(html)
    assert edges[("step:again", "step:wait-click")] == 3  # and waits again now
    assert edges[("step:wait-click", "step:clicked")] == 3
    assert edges[("step:clicked", "step:nudge")] == 3
    nudges = sum(m["step"] == "nudge" for m in world.messages())
    assert nudges == 3 == int(_funnel(html)["nudge"]["data-messages"])
    assert int(_funnel(html)["wait-click"]["data-entered"]) == 1  # one enrolment
    node = next(a for a in with_class(html, "node") if a.get("data-step") == "wait-click")
    assert node["data-entered"] == "1"
    assert "timeout 3" in html and "1 here now" in html
