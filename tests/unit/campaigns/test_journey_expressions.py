"""The expression language: what it allows, what it refuses at validation, how it runs."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.campaigns.language.expressions import (
    MAX_NESTING,
    MAX_SOURCE_LENGTH,
    ExpressionFailed,
    ExpressionInvalid,
    compile_expression,
)
from orchestrator.campaigns.language.problems import Position


@dataclass
class FakeContact:
    """What the engine passes as ``contact``: a plain object."""

    stage: str = "light_buyer"
    kind: str = "customer"
    attributes: dict = field(default_factory=lambda: {"vip": True, "tier": "gold"})
    purchases: dict = field(default_factory=lambda: {"30d": 2, "1w": 0})
    asked: list = field(default_factory=list)

    def purchases_within(self, duration: str) -> int:
        self.asked.append(duration)
        return self.purchases[duration]


@dataclass
class FakeEvent:
    type: str = "purchase.recorded"
    at: datetime = datetime(2026, 1, 5, tzinfo=UTC)
    amount: float = 25.0
    text: str = "Love the new bundle"


def evaluate(source: str, **context):
    context = {"contact": FakeContact(), "event": FakeEvent(), **context}
    return compile_expression(source).evaluate(context)


def refusals(source: str) -> list[tuple[str, int | None]]:
    with pytest.raises(ExpressionInvalid) as caught:
        compile_expression(source)
    return [(problem.message, problem.offset) for problem in caught.value.problems]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("contact.stage == 'light_buyer'", True),
        ("contact.stage in ['regular_buyer', 'partner']", False),
        ("contact.purchases_within('30d') >= 2", True),
        ("contact.purchases_within('1w') > 0 or contact.kind == 'customer'", True),
        ("contact.attributes.vip and contact.attributes['tier'] == 'gold'", True),
        ("event.type == 'purchase.recorded' and event.amount > 20", True),
        ("'bundle' in event.text|lower", True),
        ("event.text|length > 100", False),
        ("journey.id == 'second-purchase'", True),
        ("contact.locale is defined", False),
        ("not contact.attributes.missing", True),
    ],
)
def test_allowed_expressions_evaluate(source, expected):
    journey = {"id": "second-purchase", "version": 1}
    assert evaluate(source, journey=journey) is expected


def test_the_duration_is_passed_to_the_contact_as_written():
    contact = FakeContact()
    compile_expression("contact.purchases_within('30d') >= 2").evaluate({"contact": contact})
    assert contact.asked == ["30d"]


def test_names_lists_what_an_expression_reads():
    compiled = compile_expression("contact.stage == 'x' and event.type == 'y'")
    assert compiled.names == {"contact", "event"}


def test_the_position_is_kept_for_runtime_messages():
    compiled = compile_expression("contact.stage", Position(4, 7))
    assert compiled.position == Position(4, 7)
    assert compiled.source == "contact.stage"


def test_unknown_names_are_refused_where_they_are():
    assert refusals("contact.stage == 'x' and foo.stage") == [
        ("unknown name 'foo'; expressions can use contact, event, journey and wait", 25)
    ]


@pytest.mark.parametrize("source", ["contact.__class__", "contact.attributes.__class__",
                                    "contact['__class__']", "event.text['__len__']"])
def test_dunder_attributes_are_refused(source):
    [(message, _)] = refusals(source)
    assert message.endswith("is not available: names starting with '_' are internal")


def test_attributes_outside_the_list_are_refused_with_the_list():
    [(message, offset)] = refusals("contact.stagee == 'x'")
    assert message.startswith("'contact' has no attribute 'stagee'; expected one of: stage, kind")
    assert offset == 8


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("contact.stage.upper() == 'X'", "'contact.stage' has no attribute 'upper'"),
        ("event.at.year == 2026", "'event.at' has no attribute 'year'"),
        ("contact.purchases_within > 2", "must be called with a duration"),
        ("contact.purchases_within('3x') > 2", "'3x' is not a duration"),
        ("contact.purchases_within(event.text) > 2", "takes one duration in quotes"),
        ("contact.kind('x')", "only contact.purchases_within(DURATION) can be called"),
        ("contact", "'contact' on its own is not a value"),
        ("range(10)", "unknown name 'range'"),
        ("lipsum()", "unknown name 'lipsum'"),
        ("event.text|center(9000)", "the filter 'center' is not available"),
        ("event.text is divisibleby 3", "the test 'divisibleby' is not available"),
        ("{'a': 1}", "mappings ({...}) cannot be used"),
        ("event.text[0:5]", "slices ([a:b]) cannot be used"),
        ("'%s' % contact.stage", "text formatting with % is not available"),
        ("contact.attributes[contact.stage]", "look up a fixed key"),
    ],
)
def test_constructs_outside_the_language_are_refused(source, fragment):
    messages = [message for message, _ in refusals(source)]
    assert any(fragment in message for message in messages), messages


def test_syntax_errors_suggest_the_usual_fixes():
    [(message, _)] = refusals("contact.stage = 'light_buyer'")
    assert message.endswith("(to compare, write ==)")
    [(message, offset)] = refusals("contact.stage == 'a' && true")
    assert "write 'and' and 'or' instead of && and ||" in message
    assert offset == 21


def test_long_and_deep_expressions_are_refused():
    [(message, _)] = refusals("1 + " * MAX_SOURCE_LENGTH + "1")
    assert "the limit is 500" in message
    [(message, _)] = refusals("(1 + " * MAX_NESTING + "1" + ")" * MAX_NESTING)
    assert "nested more than" in message
    [(message, _)] = refusals("(" * 200 + "1" + ")" * 200)
    assert "nested more than" in message
    [(message, _)] = refusals("-" * 300 + "1")
    assert "nested more than" in message


@pytest.mark.parametrize(
    "source",
    ["9 ** 999999 > 1", "event.text * 100000 == ''", "[1] * 100000 == []", "'%d' % 1 == '1'"],
)
def test_running_time_and_memory_are_bounded(source):
    try:
        compiled = compile_expression(source)
    except ExpressionInvalid:
        return  # refused before it could run: bounded too
    with pytest.raises(ExpressionFailed):
        compiled.evaluate({"event": FakeEvent()})


def test_a_failing_evaluation_names_the_expression():
    compiled = compile_expression("event.amount > 10", Position(3, 9))
    with pytest.raises(ExpressionFailed, match=r"'event.amount > 10' \(line 3, column 9\)"):
        compiled.evaluate({"event": {"amount": "ten"}})


def test_only_the_three_names_reach_the_expression():
    compiled = compile_expression("contact.stage is defined")
    assert compiled.evaluate({"contact": FakeContact(), "secret": object()}) is True
    with pytest.raises(ExpressionFailed, match="'contact' is undefined"):
        compiled.evaluate({"secret": object()})


# A segment over a population: one compiled run over every contact gives what one
# evaluation a contact gives (False where it cannot be evaluated), in the same sandbox.
SEGMENT_SOURCES = [
    "contact.stage == 'light_buyer'",
    "contact.purchases_within('30d') >= 2",
    "contact.attributes.vip and contact.attributes['tier'] == 'gold'",
    "event.amount > 20",
    "contact.stage ~ '}}{% for x in range(9) %}{{' == 'a'",
    "not contact.attributes.missing",
]


def one_by_one(compiled, contexts):
    def holds(context):
        try:
            return bool(compiled.evaluate(context))
        except ExpressionFailed:
            return False
    return [holds(context) for context in contexts]


@given(st.sampled_from(SEGMENT_SOURCES), st.lists(st.tuples(
    st.sampled_from(["light_buyer", "regular_buyer", "unknown"]),
    st.one_of(st.booleans(), st.none(), st.text(max_size=3)),
    st.sampled_from(["gold", "silver"]),
    st.integers(0, 4),
    st.one_of(st.floats(0, 50, allow_nan=False), st.just("ten"), st.none())), max_size=30))
def test_a_segment_over_many_contacts_holds_where_each_evaluation_holds(source, people):
    contexts = [{"contact": FakeContact(stage=stage, attributes={"vip": vip, "tier": tier},
                                        purchases={"30d": bought, "1w": 0}),
                 "event": {"amount": amount}, "journey": {"id": "j", "version": 1}}
                for stage, vip, tier, bought, amount in people]
    compiled = compile_expression(source)
    assert compiled.holds_for_each(contexts) == one_by_one(compiled, contexts)


@pytest.mark.parametrize(
    "source",
    ["9 ** 999999 > 1", "event.text * 100000 == ''", "[1] * 100000 == []"],
)
def test_a_segment_that_would_build_huge_values_holds_for_no_one(source):
    compiled = compile_expression(source)
    assert compiled.holds_for_each([{"event": FakeEvent()}] * 3) == [False] * 3
