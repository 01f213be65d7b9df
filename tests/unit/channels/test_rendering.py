"""The template renderer: SPEC "Templates" (sandbox, HTML autoescaped, a channel only if
its file exists, public templates get no contact data), with errors that name the file,
the line and the variable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape
from tests.unit.channels.support import write_templates

from orchestrator.errors import OrchestratorError
from orchestrator.rendering import (
    ContactDataRefused,
    RenderedMessage,
    TemplateError,
    TemplateNotFound,
    TemplateRenderer,
    TemplateRenderFailed,
    TemplateSyntaxInvalid,
    TemplateUnsafe,
    TemplateVariableMissing,
)

ADA = {"first_name": "Ada", "email": "ada@example.com", "locale": "en-GB"}
BRAND = {"name": "The shop", "postal_address": "1 High Street, London N1 1AA"}
MESSAGE = {"id": "m-1", "unsubscribe_url": "https://shop.example/u/m-1?a=1&b=2"}
CONTEXT = {"contact": ADA, "brand": BRAND, "message": MESSAGE}
PUBLIC_CONTEXT = {"brand": BRAND, "message": MESSAGE}

FILES = {
    "thanks/email.subject.txt": "Thanks,\n  {{ contact.first_name }}!\n",
    "thanks/email.txt": "Hello {{ contact.first_name }},\nthanks from {{ brand.name }}.\n",
    "thanks/email.html": "<p>Hello {{ contact.first_name }}</p>\n"
                         '<a href="{{ message.unsubscribe_url }}">Unsubscribe</a>\n',
    "thanks/sms.txt": "\n  {{ brand.name }}: thanks, {{ contact.first_name }}!  \n\n",
    "letter_only/letter.html": "<p>Dear {{ contact.first_name }}</p>",
    "subject_only/email.subject.txt": "Hi",
    "spotlight/social.txt": "  Monday at {{ brand.name }}  \n",
}


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    return write_templates(tmp_path / "templates", FILES)


@pytest.fixture
def renderer(templates: Path) -> TemplateRenderer:
    return TemplateRenderer(templates)


def add(templates: Path, files: dict[str, str]) -> TemplateRenderer:
    write_templates(templates, files)
    return TemplateRenderer(templates)


# Which channels a template supports


@pytest.mark.parametrize("name, channels", [
    ("thanks", {"email", "sms"}), ("letter_only", {"mail"}), ("spotlight", {"social"}),
    ("subject_only", set()), ("missing", set()), ("../templates/thanks", set()),
    (".hidden", set()), ("thanks/email.txt", set()),
])
def test_a_channel_is_supported_only_if_its_body_file_exists(renderer, name, channels):
    assert renderer.channels(name) == frozenset(channels)


def test_rendering_for_a_channel_without_its_file_is_template_not_found(renderer):
    with pytest.raises(TemplateNotFound, match=r"no sms\.txt for sms"):
        renderer.render("letter_only", "sms", CONTEXT)
    with pytest.raises(TemplateNotFound, match="unknown channel 'fax'"):
        renderer.render("thanks", "fax", CONTEXT)


# What a rendering gives


def test_email_renders_subject_text_and_html(renderer):
    rendered = renderer.render("thanks", "email", CONTEXT)
    assert rendered.subject == "Thanks, Ada!"  # one line: it becomes a header
    assert rendered.text == "Hello Ada,\nthanks from The shop."
    assert rendered.html.startswith("<p>Hello Ada</p>")
    assert 'href="https://shop.example/u/m-1?a=1&amp;b=2"' in rendered.html


def test_sms_and_social_text_is_trimmed(renderer):
    assert renderer.render("thanks", "sms", CONTEXT).text == "The shop: thanks, Ada!"
    assert renderer.render("spotlight", "social", PUBLIC_CONTEXT) == RenderedMessage(
        text="Monday at The shop",
        template_digest=renderer.render("spotlight", "social", PUBLIC_CONTEXT).template_digest)


def test_a_letter_is_html_only(renderer):
    rendered = renderer.render("letter_only", "mail", CONTEXT)
    assert (rendered.subject, rendered.text, rendered.html) == (None, None, "<p>Dear Ada</p>")


def test_the_template_digest_identifies_the_files_used(renderer, templates):
    first = renderer.render("thanks", "email", CONTEXT).template_digest
    assert len(first) == 64
    assert renderer.render("thanks", "email", CONTEXT).template_digest == first
    assert renderer.render("thanks", "sms", CONTEXT).template_digest != first
    edited = templates / "thanks" / "email.txt"
    edited.write_text("Hi {{ contact.first_name }}", encoding="utf-8")
    stat = edited.stat()
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    rendered = renderer.render("thanks", "email", CONTEXT)
    assert rendered.text == "Hi Ada"  # an edited template is picked up
    assert rendered.template_digest != first


def test_uses_contact_tells_whether_personal_data_goes_in(renderer):
    assert renderer.uses_contact("thanks", "email")
    assert not renderer.uses_contact("spotlight", "social")


# Escaping


def test_html_is_autoescaped(renderer):
    rendered = renderer.render("thanks", "email",
                               {**CONTEXT, "contact": {"first_name": "<b>Ada</b> & co"}})
    assert "<p>Hello &lt;b&gt;Ada&lt;/b&gt; &amp; co</p>" in rendered.html


def test_text_is_not_escaped(renderer):
    contact = {"first_name": "<b>Ada</b> & co"}
    rendered = renderer.render("thanks", "email", {**CONTEXT, "contact": contact})
    assert rendered.text.startswith("Hello <b>Ada</b> & co,")
    assert rendered.subject == "Thanks, <b>Ada</b> & co!"
    assert "<b>Ada</b> & co" in renderer.render("thanks", "sms",
                                                {**CONTEXT, "contact": contact}).text


@pytest.fixture(scope="module")
def shared_renderer(tmp_path_factory) -> TemplateRenderer:
    """One renderer for all examples of a property (hypothesis reruns the test body)."""
    return TemplateRenderer(write_templates(tmp_path_factory.mktemp("templates"), FILES))


@settings(max_examples=80, deadline=None)
@given(first_name=st.text(max_size=40))
def test_any_first_name_is_escaped_in_html_and_verbatim_in_text(shared_renderer, first_name):
    rendered = shared_renderer.render("thanks", "email",
                                      {**CONTEXT, "contact": {"first_name": first_name}})
    assert rendered.html.startswith(f"<p>Hello {escape(first_name)}</p>")
    assert rendered.text.startswith(f"Hello {first_name},")
    assert "\n" not in rendered.subject and "\r" not in rendered.subject


# Missing variables (StrictUndefined)


def test_a_missing_variable_names_the_variable_the_file_and_the_line(renderer, templates):
    with pytest.raises(TemplateVariableMissing) as caught:
        renderer.render("thanks", "email", {**CONTEXT, "contact": {"email": "a@b.example"}})
    error = caught.value
    assert error.variable == "contact.first_name"
    assert error.file == str(templates / "thanks" / "email.subject.txt")
    assert error.line == 2
    assert str(error) == (f"{templates / 'thanks' / 'email.subject.txt'}:2: "
                          "variable 'contact.first_name' is undefined")


@pytest.mark.parametrize("source, variable", [
    ("{{ brand.name }}", "brand"),
    ("{{ contact.address.city }}", "contact.address"),  # the first piece missing
    ("x\n\n{{ contact['nickname'] }}", "contact.nickname"),
    ("{% for line in contact.lines %}{{ line }}{% endfor %}", "contact.lines"),
    ("{{ contact.first_name ~ contact.surname }}", "contact.surname"),
    ("{{ contact.first_name | upper }}{{ contact.tags[0].name }}", "contact.tags"),
])
def test_every_use_of_a_missing_variable_is_an_error(templates, source, variable):
    renderer = add(templates, {"probe/sms.txt": source})
    with pytest.raises(TemplateVariableMissing) as caught:
        renderer.render("probe", "sms", {"contact": ADA})
    assert caught.value.variable == variable


def test_default_and_is_defined_are_the_ways_to_make_a_value_optional(templates):
    renderer = add(templates, {"probe/sms.txt":
                               "Hi {{ contact.nickname | default('there') }}"
                               "{% if contact.city is defined %} in {{ contact.city }}{% endif %}"})
    assert renderer.render("probe", "sms", {"contact": ADA}).text == "Hi there"


def test_an_error_in_an_included_file_names_that_file(templates):
    renderer = add(templates, {"probe/sms.txt": "A\n{% include 'parts/sign.txt' %}",
                               "parts/sign.txt": "\n\n{{ brand.signature }}"})
    with pytest.raises(TemplateVariableMissing) as caught:
        renderer.render("probe", "sms", {"brand": BRAND})
    assert caught.value.file == str(templates / "parts" / "sign.txt")
    assert (caught.value.line, caught.value.variable) == (3, "brand.signature")


# Public templates get no contact data


def test_a_public_template_refuses_contact_data(renderer):
    with pytest.raises(ContactDataRefused, match="gets no contact data"):
        renderer.render("spotlight", "social", {**PUBLIC_CONTEXT, "contact": ADA})


def test_a_public_template_refuses_anything_beyond_brand_message_and_journey(renderer):
    with pytest.raises(ContactDataRefused, match="refusing event"):
        renderer.render("spotlight", "social", {**PUBLIC_CONTEXT,
                                                "event": {"handle": "@ada@example.social"}})


def test_a_public_template_accepts_a_null_contact_and_does_not_see_it(templates):
    renderer = add(templates, {"probe/social.txt": "{{ brand.name }}"})
    assert renderer.render("probe", "social", {**PUBLIC_CONTEXT, "contact": None}).text == (
        "The shop")


@pytest.mark.parametrize("source", [
    "Thanks {{ contact.first_name }}", "{% if contact is defined %}{{ contact }}{% endif %}",
    "{{ brand.name }}\n\n{{ (contact or {}).get('email', '') }}",
])
def test_a_public_template_that_reads_contact_is_refused_with_its_line(templates, source):
    renderer = add(templates, {"probe/social.txt": source})
    with pytest.raises(ContactDataRefused, match="must not use 'contact'") as caught:
        renderer.render("probe", "social", PUBLIC_CONTEXT)
    assert caught.value.file == str(templates / "probe" / "social.txt")
    assert caught.value.line == source.count("\n", 0, source.index("contact")) + 1


# The sandbox and the folder boundary


@pytest.mark.parametrize("source", [
    "{{ ''.__class__ }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}", "{{ brand.items.__self__ }}",
    "{{ brand.__class__.__init__ }}",
])
def test_the_sandbox_refuses_internals(templates, source):
    renderer = add(templates, {"probe/sms.txt": f"line one\n{source}"})
    with pytest.raises(TemplateUnsafe) as caught:
        renderer.render("probe", "sms", {"brand": BRAND})
    assert caught.value.line == 2
    assert caught.value.file == str(templates / "probe" / "sms.txt")


def test_the_context_cannot_be_changed(templates):
    brand = dict(BRAND)
    renderer = add(templates, {"probe/sms.txt": "{{ brand.update({'name': 'x'}) }}"})
    with pytest.raises(TemplateError):
        renderer.render("probe", "sms", {"brand": brand})
    assert brand == BRAND


def test_the_sandbox_refuses_mutating_even_the_templates_own_values(templates):
    renderer = add(templates, {"probe/sms.txt": "{% set items = [1] %}{{ items.append(2) }}"})
    with pytest.raises(TemplateUnsafe):
        renderer.render("probe", "sms", {})


@pytest.mark.parametrize("include", ["../secret.txt", "/etc/hostname", "../../secret.txt"])
def test_an_include_cannot_leave_the_templates_folder(templates, include):
    (templates.parent / "secret.txt").write_text("SECRET", encoding="utf-8")
    renderer = add(templates, {"probe/sms.txt": f"{{% include '{include}' %}}"})
    with pytest.raises(TemplateRenderFailed, match="TemplateNotFound"):
        renderer.render("probe", "sms", {})


def test_a_symbolic_link_out_of_the_folder_is_not_followed(templates):
    secret = templates.parent / "secret.txt"
    secret.write_text("SECRET", encoding="utf-8")
    (templates / "linked").mkdir()
    (templates / "linked" / "sms.txt").symlink_to(secret)
    renderer = add(templates, {"probe/sms.txt": "{% include 'linked/sms.txt' %}"})
    with pytest.raises(TemplateRenderFailed):
        renderer.render("probe", "sms", {})
    with pytest.raises(TemplateNotFound, match="cannot read"):
        renderer.render("linked", "sms", {})


def test_a_huge_range_is_refused(templates):
    renderer = add(templates, {"probe/sms.txt": "{% for i in range(10**9) %}x{% endfor %}"})
    with pytest.raises(TemplateRenderFailed, match="OverflowError"):
        renderer.render("probe", "sms", {})


# Other template mistakes


def test_a_syntax_error_names_the_file_and_line(templates):
    renderer = add(templates, {"probe/email.txt": "Hello\n{% if %}\n"})
    with pytest.raises(TemplateSyntaxInvalid) as caught:
        renderer.render("probe", "email", CONTEXT)
    assert (caught.value.file, caught.value.line) == (str(templates / "probe" / "email.txt"), 2)


def test_a_failure_while_rendering_names_the_file_and_line(templates):
    renderer = add(templates, {"probe/sms.txt": "a\nb\n{{ 1 / 0 }}"})
    with pytest.raises(TemplateRenderFailed, match="ZeroDivisionError") as caught:
        renderer.render("probe", "sms", {})
    assert caught.value.line == 3


def test_template_errors_belong_to_the_product_error_tree():
    assert issubclass(TemplateError, OrchestratorError)
    assert TemplateError("x", file="f").exit_code == 2
    for error in (TemplateNotFound, TemplateSyntaxInvalid, TemplateVariableMissing,
                  TemplateUnsafe, TemplateRenderFailed, ContactDataRefused):
        assert issubclass(error, TemplateError)
