"""Every render is bounded in time, loop iterations, output, string, list, range and
integer size, whatever the template does (issue 14, docs/templates-limits.md); what
would go over a limit every time is refused by ``journeys validate`` and ``publish``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.unit.channels.support import write_templates

from orchestrator.rendering import (
    RenderLimits,
    TemplateLimitExceeded,
    TemplateRenderer,
    TemplateSyntaxInvalid,
    TemplateVariableMissing,
)
from orchestrator.rendering.limits import (
    MAX_INTEGER_BITS,
    MAX_LOOP_ITERATIONS,
    MAX_OUTPUT_LENGTH,
    MAX_RANGE_LENGTH,
    MAX_SEQUENCE_LENGTH,
    MAX_STRING_LENGTH,
)

BRAND = {"name": "The shop", "postal_address": "1 High Street, London N1 1AA"}


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    return tmp_path / "templates"


def render(templates: Path, source: str, channel: str = "sms", *, file: str = "sms.txt",
           limits: RenderLimits | None = None, **contact):
    write_templates(templates, {f"probe/{file}": source})
    return TemplateRenderer(templates, limits=limits).render(
        "probe", channel, {"contact": contact, "brand": BRAND})


def refused(templates: Path, source: str, limit: str, **kwargs) -> TemplateLimitExceeded:
    with pytest.raises(TemplateLimitExceeded) as caught:
        render(templates, source, **kwargs)
    assert f"({limit})" in str(caught.value)
    return caught.value


# -- Loops


def test_nested_loops_over_data_stop_at_the_iteration_limit_with_file_and_line(templates):
    source = ("Hello\n{% for i in range(contact.n) %}{% for j in range(contact.n) %}"
              "{% endfor %}{% endfor %}")
    error = refused(templates, source, "MAX_LOOP_ITERATIONS", n=1000)
    assert (error.file, error.line) == (str(templates / "probe" / "sms.txt"), 2)
    assert str(error).startswith(f"{templates / 'probe' / 'sms.txt'}:2: OverflowError: ")


def test_loops_may_run_exactly_the_iteration_limit_and_not_one_more(templates):
    per_loop = MAX_LOOP_ITERATIONS // 10
    assert per_loop <= MAX_RANGE_LENGTH
    source = ("{% for k in range(10) %}{% for i in range(contact.n) %}"
              "{% if loop.last %}{{ loop.length }};{% endif %}{% endfor %}{% endfor %}")
    # 10 + 10 * n iterations in all.
    fits = (MAX_LOOP_ITERATIONS - 10) // 10
    assert render(templates, source, n=fits).text == f"{fits};" * 10
    refused(templates, source, "MAX_LOOP_ITERATIONS", n=fits + 1)


def test_a_recursive_loop_counts_its_inner_rounds_too(templates):
    source = ("{% for item in contact.tree recursive %}{% if item.children is defined %}"
              "{{ loop(item.children) }}{% endif %}{% endfor %}")
    wide = [{"children": list(range(MAX_RANGE_LENGTH))}] * 11
    refused(templates, source, "MAX_LOOP_ITERATIONS", tree=wide)


def test_items_made_by_filters_count_as_loop_iterations(templates):
    refused(templates, "{{ [1] | slice(contact.n) | list | length }}", "MAX_LOOP_ITERATIONS",
            n=MAX_LOOP_ITERATIONS + 1)


@pytest.mark.parametrize("source", ["{% for i in range(contact.n) %}{% endfor %}",
                                    "{{ range(contact.n) | list | length }}"])
def test_a_range_is_at_most_the_range_limit(templates, source):
    render(templates, source, n=MAX_RANGE_LENGTH)
    refused(templates, source, "MAX_RANGE_LENGTH", n=MAX_RANGE_LENGTH + 1)


# -- Strings, lists and integers are sized before they are built

LONG = MAX_STRING_LENGTH + 1


@pytest.mark.parametrize("source, contact", [
    ("{{ 'a' * contact.n }}", {"n": LONG}),
    ("{{ contact.n * 'a' }}", {"n": LONG}),
    ("{{ contact.s + contact.s }}", {"s": "a" * (LONG // 2 + 1)}),
    ("{{ contact.s ~ contact.s }}", {"s": "a" * (LONG // 2 + 1)}),
    ("{% set ns = namespace(s='a') %}{% for i in range(21) %}{% set ns.s = ns.s ~ ns.s %}"
     "{% endfor %}", {}),
    ("{{ 'a' | center(contact.n) }}", {"n": LONG}),
    ("{{ 'a'.center(contact.n) }}", {"n": LONG}),
    ("{{ 'a'.ljust(contact.n) }}", {"n": LONG}),
    ("{{ 'a'.zfill(contact.n) }}", {"n": LONG}),
    ("{{ '\t'.expandtabs(contact.n) }}", {"n": LONG}),
    ("{{ 'ab' | replace('a', contact.s) }}", {"s": "x" * LONG}),
    ("{{ contact.s.replace('a', 'aa') }}", {"s": "a" * (LONG // 2 + 1)}),
    ("{{ contact.s.translate({97: 'aa'}) }}", {"s": "a" * (LONG // 2 + 1)}),
    ("{{ 'a\nb' | indent(contact.n) }}", {"n": LONG}),
    ("{{ contact.s | wordwrap(1, wrapstring=contact.s) }}", {"s": "a" * 1000}),
    ("{{ '{:>{w}}'.format('a', w=contact.n) }}", {"n": LONG}),
    ("{{ '{0}{0}{0}'.format(contact.s) }}", {"s": "a" * (LONG // 3 + 1)}),
    ("{{ '%*d' % (contact.n, 1) }}", {"n": LONG}),
    ("{{ '%s%s%s' % (contact.s, contact.s, contact.s) }}", {"s": "a" * (LONG // 3 + 1)}),
    ("{{ '%s%s' | format(contact.s, contact.s) }}", {"s": "a" * (LONG // 2 + 1)}),
    ("{{ contact.parts | join }}", {"parts": ["a" * 1000] * (LONG // 1000 + 1)}),
    ("{{ contact.parts | join(',', attribute='s') }}",
     {"parts": [{"s": "a" * 1000}] * (LONG // 1000 + 1)}),
    ("{{ ''.join(contact.parts) }}", {"parts": ["a" * 1000] * (LONG // 1000 + 1)}),
    ("{{ contact.parts }}", {"parts": ["a" * 1000] * (LONG // 1000 + 1)}),
    ("{{ contact.parts | string | length }}", {"parts": ["a" * 1000] * (LONG // 1000 + 1)}),
    ("{{ contact.parts | tojson | length }}", {"parts": ["a" * 1000] * (LONG // 1000 + 1)}),
    ("{% set b %}{% for i in range(3) %}{{ contact.s }}{% endfor %}{% endset %}"
     "{{ b | length }}", {"s": "a" * (LONG // 3 + 1)}),
    ("{% macro m() %}{% for i in range(3) %}{{ contact.s }}{% endfor %}{% endmacro %}"
     "{{ m() | length }}", {"s": "a" * (LONG // 3 + 1)}),
    ("{% filter upper %}{% for i in range(3) %}{{ contact.s }}{% endfor %}{% endfilter %}",
     {"s": "a" * (LONG // 3 + 1)}),
])
def test_no_string_longer_than_the_string_limit_is_built(templates, source, contact):
    refused(templates, source, "MAX_STRING_LENGTH", **contact)


def test_a_string_of_exactly_the_string_limit_is_allowed(templates):
    assert render(templates, "{{ ('a' * contact.n) | length }}",
                  n=MAX_STRING_LENGTH).text == str(MAX_STRING_LENGTH)
    refused(templates, "{{ ('a' * contact.n) | length }}", "MAX_STRING_LENGTH",
            n=MAX_STRING_LENGTH + 1)


def test_html_templates_are_bounded_the_same_way(templates):
    refused(templates, "<p>{{ contact.s ~ contact.s }}</p>", "MAX_STRING_LENGTH",
            channel="mail", file="letter.html", s="<" * (LONG // 2 + 1))


@pytest.mark.parametrize("source", [
    "{{ ([1] * contact.n) | length }}",
    "{{ ([1] * (contact.n - 1) + [1, 1]) | length }}",
    "{{ [1] | batch(contact.n, 0) | list | length }}",
    "{{ ([[1] * 1000] * (contact.n // 1000 + 1)) | sum(start=[]) | length }}",
])
def test_no_list_longer_than_the_list_limit_is_built(templates, source):
    refused(templates, source, "MAX_SEQUENCE_LENGTH", n=MAX_SEQUENCE_LENGTH + 1)


@pytest.mark.parametrize("source", [
    "{{ 10 ** contact.n }}", "{{ 2 ** (contact.n * 4) }}",
    # 3 squared 12 times has about 6 500 bits.
    "{% set ns = namespace(x=3) %}{% for i in range(contact.n // 160) %}"
    "{% set ns.x = ns.x * ns.x %}{% endfor %}",
])
def test_no_integer_wider_than_the_integer_limit_is_computed(templates, source):
    error = refused(templates, source, "MAX_INTEGER_BITS", n=2000)
    assert "OverflowError" in str(error)


def test_an_integer_of_the_integer_limit_is_allowed(templates):
    bits = MAX_INTEGER_BITS
    assert render(templates, "{{ (2 ** contact.n).bit_length() }}",
                  n=bits - 1).text == str(bits)
    refused(templates, "{{ (2 ** contact.n).bit_length() }}", "MAX_INTEGER_BITS", n=bits + 1)


def test_strings_built_and_kept_are_bounded_in_total(templates):
    # Each string is allowed, but a render may not keep making new ones (memory).
    source = ("{% set ns = namespace(kept=[]) %}{% for i in range(contact.n) %}"
              "{% set ns.kept = ns.kept + [contact.s ~ i] %}{% endfor %}{{ ns.kept | length }}")
    assert render(templates, source, n=3, s="a" * 900_000).text == "3"
    refused(templates, source, "MAX_BUILT_LENGTH", n=25, s="a" * 900_000)


# -- Output


def test_a_message_is_at_most_the_output_limit(templates):
    source = "{% for i in range(contact.n) %}{{ 'x' * 1000 }}{% endfor %}"
    assert len(render(templates, source, n=MAX_OUTPUT_LENGTH // 1000).text) == (
        MAX_OUTPUT_LENGTH)
    refused(templates, source, "MAX_OUTPUT_LENGTH", n=MAX_OUTPUT_LENGTH // 1000 + 1)


def test_the_output_limit_is_for_all_the_parts_of_a_message_together(templates):
    half = "{% for i in range(600) %}{{ 'x' * 1000 }}{% endfor %}"
    write_templates(templates, {"probe/email.txt": half, "probe/email.html": half})
    with pytest.raises(TemplateLimitExceeded, match="MAX_OUTPUT_LENGTH") as caught:
        TemplateRenderer(templates).render("probe", "email", {"contact": {}})
    assert caught.value.file == str(templates / "probe" / "email.html")  # rendered second


# -- Time


def test_a_render_stops_at_its_time_limit(templates):
    slow = ("{% set s = 'x' * 1000000 %}{% for i in range(1000) %}{% for j in range(9) %}"
            "{{ s.count('y') }}{% endfor %}{% endfor %}")
    started = time.monotonic()
    error = refused(templates, slow, "RENDER_TIME_LIMIT", limits=RenderLimits(time=0.1))
    assert time.monotonic() - started < 1.0
    assert "TimeoutError: rendering took longer than 0.1 s" in str(error)


def test_a_render_after_one_that_timed_out_has_its_own_time(templates):
    write_templates(templates, {
        "slow/sms.txt": "{% set s = 'x' * 1000000 %}{% for i in range(1000) %}"
                        "{% for j in range(9) %}{{ s.count('y') }}{% endfor %}{% endfor %}",
        "quick/sms.txt": "{% for i in range(100) %}{{ 'x'.count('y') }}{% endfor %}"})
    renderer = TemplateRenderer(templates, limits=RenderLimits(time=0.1))
    with pytest.raises(TemplateLimitExceeded, match="RENDER_TIME_LIMIT"):
        renderer.render("slow", "sms", {})
    assert renderer.render("quick", "sms", {}).text == "0" * 100


# -- What the sandbox no longer offers, what it says


def test_lipsum_is_not_available(templates):
    with pytest.raises(TemplateVariableMissing, match="'lipsum'"):
        render(templates, "{{ lipsum(1000000) }}")


def test_a_number_literal_too_long_to_read_is_a_syntax_error_not_a_crash(templates):
    with pytest.raises(TemplateSyntaxInvalid, match="too long to read"):
        render(templates, "{{ " + "9" * 5000 + " }}")


def test_a_limit_error_names_sizes_never_the_data(templates):
    error = refused(templates, "{{ contact.secret * 400000 }}", "MAX_STRING_LENGTH",
                    secret="PIN-4921")
    assert "PIN" not in str(error) and "4921" not in str(error)


# -- journeys validate refuses what would go over a limit every time

JOURNEY = """journey: probe
trigger: {on: purchase.recorded}
steps:
  - id: hello
    send: {intent: relationship, template: probe}
"""


@pytest.fixture
def validate(cli, templates, tmp_path):
    def run(files: dict[str, str]):
        write_templates(templates, {f"probe/{name}": text for name, text in files.items()})
        path = tmp_path / "probe.yaml"
        path.write_text(JOURNEY, encoding="utf-8")
        return cli("--templates", str(templates), "journeys", "validate", str(path))
    return run


@pytest.mark.parametrize("source, line, limit", [
    ("Hi\n{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     2, "MAX_RANGE_LENGTH"),
    ("Hi\n\n{{ 'a'*1000000000 }}", 3, "MAX_STRING_LENGTH"),
    ("{{ 10**100000000 }}", 1, "MAX_INTEGER_BITS"),
    ("{% for i in range(1000) %}\n{% for j in range(1000) %}{% endfor %}\n{% endfor %}",
     1, "MAX_LOOP_ITERATIONS"),
    ("{% for i in range(10000) %}{% endfor %}\n" * 11, 1, "MAX_LOOP_ITERATIONS"),
    ("{% for p in contact.orders %}\n{% for i in range(10000) %}{% for j in range(10) %}"
     "{% endfor %}{% endfor %}{% endfor %}", 1, "MAX_LOOP_ITERATIONS"),
    ("{% for c in 'ab' * 100000 %}{% endfor %}", 1, "MAX_LOOP_ITERATIONS"),
    ("{{ 'x' | center(10 ** 9) }}", 1, "MAX_STRING_LENGTH"),
    ("\n{{ 'x'.ljust(10 ** 9) }}", 2, "MAX_STRING_LENGTH"),
    ("{{ '{:>1000000000}'.format(1) }}", 1, "MAX_STRING_LENGTH"),
    ("{{ [0] * 1000000 }}", 1, "MAX_SEQUENCE_LENGTH"),
])
def test_validate_refuses_what_goes_over_a_limit_whatever_the_data(validate, templates,
                                                                  source, line, limit):
    result = validate({"sms.txt": source})
    assert result.code == 2
    file = templates / "probe" / "sms.txt"
    assert f"{file}:{line}:1: " in result.err
    assert f"({limit}): every render of this template would fail" in result.err


def test_validate_reports_a_limit_in_an_included_file_there(validate, templates):
    write_templates(templates, {"parts/footer.txt": "Bye\n{{ 'x' * 10 ** 9 }}"})
    result = validate({"email.txt": "Hello\n{% include 'parts/footer.txt' %}"})
    assert result.code == 2
    assert f"{templates / 'parts' / 'footer.txt'}:2:1: " in result.err


@pytest.mark.parametrize("source, line, message", [
    ("Hello\n{% if %}", 2, "Expected an expression"),
    ("{{ 1 | no_such_filter }}", 1, "No filter named 'no_such_filter'"),
    ("{{ " + "9" * 5000 + " }}", 1, "too long to read"),
])
def test_validate_refuses_a_template_that_cannot_be_read(validate, templates, source, line,
                                                         message):
    result = validate({"email.subject.txt": "Hi", "email.txt": source})
    assert result.code == 2
    assert f"{templates / 'probe' / 'email.txt'}:{line}:1: " in result.err
    assert message in result.err
