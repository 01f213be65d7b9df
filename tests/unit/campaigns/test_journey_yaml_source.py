"""The YAML layer: positions, safety refusals and syntax errors, all as FILE:LINE:COL."""

import pytest

from orchestrator.campaigns.language.problems import Position
from orchestrator.campaigns.language.yaml_source import (
    MAX_DEPTH,
    MAX_SOURCE_BYTES,
    YamlMapping,
    YamlScalar,
    YamlSequence,
    parse_yaml_source,
)


def read(text: str):
    return parse_yaml_source(text.encode(), "f.yaml")


def printed(text: str) -> list[str]:
    return [str(problem) for problem in read(text).problems]


def test_keys_and_values_know_their_line_and_column():
    document = read("journey: x\ntrigger:\n  on: purchase.recorded\nsteps:\n  - id: a\n")
    root = document.root
    assert isinstance(root, YamlMapping)
    trigger = root.get("trigger")
    assert trigger.key_position == Position(2, 1)
    on = trigger.value.get("on")
    assert (on.key_position, on.value.position) == (Position(3, 3), Position(3, 7))
    steps = root.get("steps").value
    assert isinstance(steps, YamlSequence)
    assert steps.items[0].get("id").value.position == Position(5, 9)


def test_values_are_read_the_yaml_1_2_way():
    root = read("on: yes\nno: off\ntime: 1:30\nday: 2024-01-01\nn: 3\nx: 1.5\nt: true\ne:\n").root
    values = {entry.key: entry.value.value for entry in root.entries}
    assert values == {"on": "yes", "no": "off", "time": "1:30", "day": "2024-01-01", "n": 3,
                      "x": 1.5, "t": True, "e": None}


def test_a_character_inside_a_one_line_value_has_its_own_column():
    value = read("if: \"contact.stage == 'x'\"\n").root.get("if").value
    assert isinstance(value, YamlScalar)
    assert value.position_at(8) == Position(1, 14)


def test_a_folded_value_points_at_its_start():
    value = read("if: >\n  contact.stage\n  == 'x'\n").root.get("if").value
    assert value.position_at(8) == value.position


def test_anchors_and_aliases_are_refused_where_they_are():
    assert printed("base: &b 1\ncopy: *b\n") == [
        "f.yaml:1:7: anchors (&b) are not supported; write each value out in full",
        "f.yaml:2:7: aliases (*b) are not supported; write the value out in full",
    ]


def test_an_alias_is_not_expanded():
    copy = read("base: &b [1, 2]\ncopy: *b\n").root.get("copy").value
    assert isinstance(copy, YamlScalar) and copy.refused


@pytest.mark.parametrize("tagged", ["!!python/object:os.system ls", "!custom 1", "!!binary aGk="])
def test_custom_tags_are_refused(tagged):
    [problem] = printed(f"key: {tagged}\n")
    assert problem.startswith("f.yaml:1:6: the tag ")
    assert "is not supported" in problem


def test_plain_tags_are_allowed():
    root = read("a: !!str 12\n").root
    assert root.get("a").value.value == "12"


def test_a_key_written_twice_is_reported_at_the_second():
    assert printed("a: 1\nb: 2\na: 3\n") == [
        "f.yaml:3:1: the key 'a' appears twice here (first on line 1); keep only one"
    ]


def test_syntax_errors_have_a_position_and_a_hint():
    assert printed("a: b: c\n") == [
        "f.yaml:1:5: YAML syntax: a ': ' inside a value starts a new mapping here; put the "
        "value in quotes, or check the indentation"
    ]
    assert printed("a:\n\t- b\n") == [
        "f.yaml:2:1: YAML syntax: indent with spaces; YAML does not allow tabs"
    ]


def test_an_unquoted_star_gets_a_hint():
    [problem] = printed("schedule: * * * * *\n")
    assert problem.startswith("f.yaml:1:11: YAML syntax: a value starting with * must be in quotes")


def test_one_document_per_file():
    [problem] = printed("a: 1\n---\nb: 2\n")
    assert problem.startswith("f.yaml:2:1: YAML syntax: a journey file holds one document")


def test_files_over_the_size_limit_are_refused_before_parsing():
    [problem] = parse_yaml_source(b"#" * (MAX_SOURCE_BYTES + 1), "big.yaml").problems
    assert str(problem) == "big.yaml:1:1: the file is 1.0 MiB; files are limited to 1 MiB"


def test_deep_nesting_is_refused():
    [problem] = printed("[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5))
    assert str(problem) == (
        f"f.yaml:1:{MAX_DEPTH + 1}: values are nested more than {MAX_DEPTH} levels deep"
    )


def test_text_that_is_not_utf8_is_refused_at_its_place():
    [problem] = parse_yaml_source(b"a: 1\nb: caf\xe9\n", "f.yaml").problems
    assert str(problem) == "f.yaml:2:7: the file is not UTF-8 text: save it as UTF-8"


def test_control_characters_are_refused_at_their_place():
    assert printed("a: 1\nb: x\x07\n") == [
        "f.yaml:2:5: character U+0007 is not allowed in YAML; remove it"
    ]


def test_a_byte_order_mark_does_not_shift_columns():
    root = parse_yaml_source(b"\xef\xbb\xbfa: 1\n", "f.yaml").root
    assert root.get("a").key_position == Position(1, 1)


def test_an_empty_file_has_no_tree_and_no_problem():
    document = read("# nothing here\n")
    assert document.root is None and document.problems == ()
