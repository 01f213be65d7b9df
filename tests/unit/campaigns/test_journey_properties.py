"""Property tests: every journey built by the rules loads, and nothing a user can type
makes the loader fail with anything but JourneyInvalid."""

from __future__ import annotations

from datetime import timedelta

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orchestrator.campaigns.language.durations import format_duration
from orchestrator.campaigns.language.journey import BranchStep, SendStep
from orchestrator.campaigns.language.problems import JourneyInvalid
from orchestrator.campaigns.language.validation import parse_journey
from orchestrator.campaigns.language.vocabulary import (
    PRIVATE_INTENTS,
    PUBLIC_INTENTS,
    STAGE_ENTERED,
    STAGES,
    TOUCHPOINT_TYPES,
)

FILE = "random.yaml"
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

CONTACT_CONDITIONS = [
    "contact.stage == 'light_buyer'",
    "contact.purchases_within('30d') >= 2",
    "contact.kind in ['customer', 'prospect'] and contact.attributes.vip",
    "contact.last_purchase_days is none or contact.last_purchase_days > 90",
    "not contact.locale|default('en')|lower == 'fr'",
    "true",
]
EVENT_CONDITIONS = ["event.type == 'purchase.recorded'", "event.amount|float > 20",
                    "'thanks' in event.text|lower", "journey.version > 1"]
PUBLIC_TEMPLATES = ["weekly_spotlight", "reply"]
PRIVATE_TEMPLATES = ["thanks", "bundle_offer", "regulars_note", "letter"]
SCHEDULES = ["0 9 * * MON", "30 8 * * 1-5", "0 */6 * * *", "15 10 1 * *", "0 18 * * SAT,SUN"]
ZONES = ["Europe/London", "UTC", "America/New_York", "Asia/Tokyo"]

step_ids = st.from_regex(r"[a-z][a-z0-9_-]{0,11}", fullmatch=True)
durations = st.integers(min_value=1, max_value=400 * 86400).map(
    lambda seconds: format_duration(timedelta(seconds=seconds)))


@st.composite
def triggers(draw) -> dict:
    if draw(st.booleans()):
        trigger = {"schedule": draw(st.sampled_from(SCHEDULES))}
        if draw(st.booleans()):
            trigger["timezone"] = draw(st.sampled_from(ZONES))
        if draw(st.booleans()):
            trigger["segment"] = draw(st.sampled_from(CONTACT_CONDITIONS))
        return trigger
    trigger = {"on": draw(st.sampled_from((*TOUCHPOINT_TYPES, STAGE_ENTERED)))}
    if trigger["on"] == STAGE_ENTERED:
        trigger["stage"] = draw(st.sampled_from(STAGES))
    if draw(st.booleans()):
        trigger["if"] = draw(st.sampled_from(CONTACT_CONDITIONS + EVENT_CONDITIONS))
    return trigger


@st.composite
def sends(draw, may_post_publicly: bool) -> dict:
    intents = PRIVATE_INTENTS + (PUBLIC_INTENTS if may_post_publicly else ())
    intent = draw(st.sampled_from(intents))
    public = intent in PUBLIC_INTENTS
    send = {"intent": intent,
            "template": draw(st.sampled_from(PUBLIC_TEMPLATES if public else PRIVATE_TEMPLATES))}
    audiences = ["personal", "segment", "public"] if public else ["personal", "segment"]
    if draw(st.booleans()):
        send["audience"] = draw(st.sampled_from(audiences))
    return send


@st.composite
def journeys(draw) -> dict:
    """A journey valid by construction: only the last step may end; a branch's else falls
    to the next step, its other cases jump forward or back to a wait (so every loop waits
    and every step is reached)."""
    trigger = draw(triggers())
    may_post_publicly = "schedule" in trigger or trigger["on"] == "social.mention"
    ids = draw(st.lists(step_ids, min_size=1, max_size=8, unique=True))
    kinds = [draw(st.sampled_from(["send", "wait", "wait_until", "branch"])) for _ in ids]
    if draw(st.booleans()):
        kinds[-1] = "end"
    if kinds[-1] == "branch":
        kinds[-1] = "send"
    steps = []
    for index, (step_id, kind) in enumerate(zip(ids, kinds, strict=True)):
        step: dict = {"id": step_id}
        if kind == "send":
            step["send"] = draw(sends(may_post_publicly))
        elif kind == "wait":
            step["wait"] = draw(durations)
        elif kind == "wait_until":
            step["wait_until"] = {"on": draw(st.sampled_from(TOUCHPOINT_TYPES)),
                                  "timeout": draw(durations)}
        elif kind == "end":
            step["end"] = True
        else:
            waits_before = [ids[j] for j in range(index + 1) if kinds[j] in ("wait", "wait_until")]
            targets = ids[index + 1:] + waits_before
            cases = [{"if": draw(st.sampled_from(CONTACT_CONDITIONS + EVENT_CONDITIONS)),
                      "goto": draw(st.sampled_from(targets))}
                     for _ in range(draw(st.integers(min_value=0, max_value=3)))]
            step["branch"] = [*cases, {"else": ids[index + 1]}]
        steps.append(step)
    journey = {"journey": draw(step_ids), "trigger": trigger, "steps": steps}
    if draw(st.booleans()):
        journey["description"] = draw(st.text(st.characters(exclude_categories=("Cs",)),
                                              max_size=40))
    if draw(st.booleans()):
        journey["reentry"] = draw(durations)
    if draw(st.booleans()):
        goal = {"on": draw(st.sampled_from(TOUCHPOINT_TYPES))}
        if draw(st.booleans()):
            goal["within"] = draw(durations)
        journey["goal"] = goal
    if draw(st.booleans()):
        journey["exit_on"] = draw(st.lists(st.sampled_from(TOUCHPOINT_TYPES), unique=True))
    return journey


def dump(journey: dict, flow: bool | None, sort_keys: bool) -> bytes:
    return yaml.safe_dump(journey, default_flow_style=flow, sort_keys=sort_keys,
                          allow_unicode=True).encode()


@PROPERTY_SETTINGS
@given(journeys(), st.sampled_from([False, None, True]), st.booleans())
def test_journeys_built_by_the_rules_always_load(templates_dir, journey, flow, sort_keys):
    loaded = parse_journey(dump(journey, flow, sort_keys), FILE, templates_dir)
    assert loaded.id == journey["journey"]
    assert [step.id for step in loaded.steps] == [step["id"] for step in journey["steps"]]
    reached, pending = set(), [loaded.first_step.id]
    while pending:
        step_id = pending.pop()
        if step_id not in reached:
            reached.add(step_id)
            pending.extend(loaded.successors(step_id))
    assert reached == {step.id for step in loaded.steps}
    for step in loaded.steps:
        if isinstance(step, BranchStep):
            assert step.cases[-1].condition is None
        if isinstance(step, SendStep):
            assert step.template in PUBLIC_TEMPLATES + PRIVATE_TEMPLATES


def assert_loads_or_is_invalid(data: bytes, templates_dir) -> None:
    try:
        parse_journey(data, FILE, templates_dir)
    except JourneyInvalid as exc:
        assert exc.problems, "JourneyInvalid must say what is wrong"
        for problem in exc.problems:
            assert str(problem).startswith(f"{FILE}:{problem.line}:{problem.col}: ")
            assert problem.line >= 1 and problem.col >= 1 and problem.message


@PROPERTY_SETTINGS
@given(st.text(max_size=300))
@example(text="!refused")  # once the reader's own stand-in tag, with no problem reported
def test_any_text_is_a_journey_or_journey_invalid(templates_dir, text):
    assert_loads_or_is_invalid(text.encode("utf-8", "surrogatepass"), templates_dir)


@PROPERTY_SETTINGS
@given(st.binary(max_size=200))
def test_any_bytes_are_a_journey_or_journey_invalid(templates_dir, data):
    assert_loads_or_is_invalid(data, templates_dir)


YAML_PIECES = st.sampled_from([
    "journey", "trigger", "steps", "on", "if", "schedule", "segment", "id", "send", "wait",
    "wait_until", "branch", "goto", "else", "end", "intent", "template", "audience", "goal",
    "exit_on", "reentry", ":", ": ", "- ", "\n", "  ", "{", "}", "[", "]", ",", "&a ", "*a",
    "!!str ", "!tag ", "'", '"', "#", "|", ">", "---", "30d", "true", "~", "0 9 * * MON",
    "contact.stage", "purchase.recorded", "thanks", "relationship", "activation", "__class__",
])


@PROPERTY_SETTINGS
@given(st.lists(YAML_PIECES, max_size=60).map("".join))
def test_yaml_like_garbage_is_a_journey_or_journey_invalid(templates_dir, text):
    assert_loads_or_is_invalid(text.encode(), templates_dir)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.sampled_from(["30d", "0 9 * * MON", "thanks", "relationship", "contact.stage", "x",
                     "purchase.recorded", "stage.entered", "light_buyer", "{{ x }}",
                     "contact.purchases_within('30d') >= 2", "Europe/London", "public"]),
)
keys = st.sampled_from(["journey", "description", "trigger", "reentry", "goal", "exit_on",
                        "steps", "on", "stage", "if", "schedule", "timezone", "segment",
                        "within", "id", "send", "wait", "wait_until", "branch", "end", "intent",
                        "template", "audience", "goto", "else", "timeout", "extra"])
shapes = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)), max_leaves=25)


@PROPERTY_SETTINGS
@given(st.dictionaries(keys, shapes, max_size=8))
def test_journey_shaped_nonsense_is_a_journey_or_journey_invalid(templates_dir, nonsense):
    assert_loads_or_is_invalid(yaml.safe_dump(nonsense).encode(), templates_dir)


@PROPERTY_SETTINGS
@given(journeys(), st.data())
def test_breaking_one_value_of_a_valid_journey_gives_journey_invalid(templates_dir, journey,
                                                                      data):
    step = data.draw(st.sampled_from(journey["steps"]))
    key = data.draw(st.sampled_from(sorted(step)))
    step[key] = data.draw(st.sampled_from([None, 12, "", "no such thing", [], {"x": 1}]))
    assert_loads_or_is_invalid(dump(journey, None, False), templates_dir)
