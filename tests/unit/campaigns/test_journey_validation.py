"""One test per validation rule: the exact FILE:LINE:COL and what the message says.

Each journey below is valid except for the one thing under test, so each test also
proves the loader reports nothing else.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from tests.unit.campaigns.support import FILE, dedent, journey_problems, only_problem

from orchestrator.campaigns.language.problems import JourneyInvalid
from orchestrator.campaigns.language.validation import load_journey, parse_journey, validate_files
from orchestrator.campaigns.language.yaml_source import MAX_SOURCE_BYTES
from orchestrator.errors import InvalidInput

WELCOME = """
journey: welcome
trigger:
  on: contact.upserted
steps:
  - id: hello
    send: {intent: relationship, template: thanks}
"""


def test_the_base_journey_is_valid(templates_dir):
    journey = parse_journey(dedent(WELCOME).encode(), FILE, templates_dir)
    assert journey.id == "welcome"


# -- the file as a whole


def test_an_empty_file(templates_dir):
    assert only_problem("# nothing yet\n", templates_dir) == (
        f"{FILE}:1:1: the file is empty; expected a journey that starts with 'journey: ID'"
    )


def test_a_file_that_is_not_a_mapping(templates_dir):
    problem = only_problem("- journey: welcome\n", templates_dir)
    assert problem.startswith(f"{FILE}:1:1: the journey: expected a mapping with journey:")
    assert problem.endswith("got a list")


def test_unknown_keys_say_which_keys_are_allowed(templates_dir):
    assert only_problem(WELCOME + "descripton: hello\n", templates_dir) == (
        f"{FILE}:7:1: unknown key 'descripton' in the journey; expected one of: journey, "
        "description, trigger, reentry, goal, exit_on, steps (did you mean 'description'?)"
    )


def test_missing_required_keys_are_each_reported(templates_dir):
    problems = [str(problem) for problem in journey_problems("description: x\n", templates_dir)]
    assert problems == [
        f"{FILE}:1:1: the journey needs 'journey': the journey's id, such as "
        "journey: second-purchase",
        f"{FILE}:1:1: the journey needs 'steps': the list of steps, each with an id and one "
        "of send, wait, wait_until, branch, end",
        f"{FILE}:1:1: the journey needs 'trigger': what starts it, such as "
        "trigger: {on: purchase.recorded}",
    ]


def test_a_journey_id_must_be_one_word(templates_dir):
    problem = only_problem(WELCOME.replace("journey: welcome", "journey: new welcome"),
                           templates_dir)
    assert problem.startswith(f"{FILE}:1:10: journey 'new welcome' is not a valid id: use "
                              "letters, digits, '-', '_' and '.'")


def test_yaml_syntax_errors_are_positioned(templates_dir):
    problem = only_problem(WELCOME.replace("on: contact.upserted", "on: contact: upserted"),
                           templates_dir)
    assert problem.startswith(f"{FILE}:3:14: YAML syntax: a ': ' inside a value")


def test_anchors_are_refused_and_the_rest_is_still_checked(templates_dir):
    text = WELCOME.replace("template: thanks", "template: &t thanks") + "reentry: 3x\n"
    problems = [str(problem) for problem in journey_problems(text, templates_dir)]
    assert problems == [
        f"{FILE}:6:44: anchors (&t) are not supported; write each value out in full",
        f"{FILE}:7:10: reentry: '3x' is not a duration: expected a whole number followed by "
        "a unit (w weeks, d days, h hours, m minutes, s seconds), largest unit first, such as "
        "30d, 12h, 90m, 45s, 2w or 1d12h",
    ]


def test_every_problem_in_a_file_is_reported_at_once(templates_dir):
    text = """
    journey: welcome
    trigger: {on: contact.upsert, if: "foo.bar"}
    reentry: 30
    steps:
      - id: hello
        send: {intent: chat, template: missing}
      - id: hello
        wait: soon
    """
    problems = journey_problems(text, templates_dir)
    assert [(problem.line, problem.col) for problem in problems] == [
        (2, 15), (2, 36), (3, 10), (6, 20), (6, 36), (7, 9), (8, 11),
    ]


# -- trigger


def test_a_trigger_needs_on_or_schedule(templates_dir):
    problem = only_problem(WELCOME.replace("  on: contact.upserted", "  if: 'true'"),
                           templates_dir)
    assert problem == (
        f"{FILE}:2:1: the trigger needs exactly one of on: TOUCHPOINT (a journey per contact) "
        "or schedule: CRON (a broadcast)"
    )


def test_a_trigger_cannot_have_both(templates_dir):
    problem = only_problem(WELCOME.replace("  on: contact.upserted",
                                           "  on: contact.upserted\n  schedule: '0 9 * * *'"),
                           templates_dir)
    assert problem.startswith(f"{FILE}:2:1: the trigger needs exactly one of")
    assert problem.endswith("; it has both")


def test_on_must_be_a_known_touchpoint_type(templates_dir):
    problem = only_problem(WELCOME.replace("contact.upserted", "contact.upsert"), templates_dir)
    assert problem.startswith(f"{FILE}:3:7: on in the trigger: unknown value 'contact.upsert'; "
                              "expected one of: contact.upserted, identity.linked,")
    assert problem.endswith("stage.entered (did you mean 'contact.upserted'?)")


def test_stage_entered_needs_a_stage(templates_dir):
    problem = only_problem(WELCOME.replace("contact.upserted", "stage.entered"), templates_dir)
    assert problem == (
        f"{FILE}:3:7: on: stage.entered needs stage: one of unknown, prospect, light_buyer, "
        "regular_buyer, partner, employee, press, regulator, competitor"
    )


def test_stage_must_be_a_known_stage(templates_dir):
    text = WELCOME.replace("contact.upserted", "stage.entered\n  stage: vip")
    assert only_problem(text, templates_dir).startswith(
        f"{FILE}:4:10: stage in the trigger: unknown value 'vip'; expected one of: unknown,"
    )


def test_stage_only_goes_with_stage_entered(templates_dir):
    text = WELCOME.replace("contact.upserted", "contact.upserted\n  stage: prospect")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:4:3: stage only goes with on: stage.entered, not with on: contact.upserted"
    )


def test_an_unknown_name_in_a_condition_is_pointed_at(templates_dir):
    text = WELCOME.replace("contact.upserted", "contact.upserted\n  if: \"foo.stage == 'x'\"")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:4:8: the trigger's if: unknown name 'foo'; expressions can use contact, event, "
        "journey and wait"
    )


def test_a_dunder_attribute_in_a_condition_is_pointed_at(templates_dir):
    text = WELCOME.replace("contact.upserted", "contact.upserted\n  if: contact.__class__")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:4:15: the trigger's if: '__class__' is not available: names starting with '_' "
        "are internal"
    )


def test_a_contact_journey_has_no_segment(templates_dir):
    text = WELCOME.replace("contact.upserted", "contact.upserted\n  segment: 'true'")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:4:3: unknown key 'segment' in the trigger; expected one of: on, stage, if "
        "(segment is for broadcasts; a contact journey filters with if)"
    )


# -- schedules (broadcasts)

BROADCAST = """
journey: spotlight
trigger:
  schedule: "0 9 * * MON"
  timezone: Europe/London
steps:
  - id: post
    send: {intent: activation, template: weekly_spotlight}
"""


def test_a_broadcast_loads(templates_dir):
    journey = parse_journey(dedent(BROADCAST).encode(), FILE, templates_dir)
    assert journey.is_broadcast


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 9 * *", "schedule: the schedule '0 9 * *' has 4 fields; expected 5: minute, hour, "
                    "day of month, month, weekday (such as '0 9 * * MON')"),
        ("0 25 * * MON", "schedule: the schedule '0 25 * * MON' is not valid: Error validating "
                         "expression '25': the last value (25) is higher than the maximum "
                         "value (23)"),
        ("0 9 * * MOON", "schedule: the weekday field 'MOON' is not valid at 'MOON': expected *, "
                         "day names (MON, TUE, ... SUN), numbers 0-7 (0 and 7 are Sunday), "
                         "ranges such as MON-FRI or 1-5, and lists such as MON,WED"),
        ("0 9 1 * MON", "schedule: the schedule '0 9 1 * MON' restricts both the day of month "
                        "and the weekday, which calendars read differently (either, or both); "
                        "set one of them to *"),
        ("0 9 31 2 *", "schedule: the schedule '0 9 31 2 *' never fires (no such date exists)"),
    ],
)
def test_cron_expressions_are_checked(templates_dir, schedule, message):
    text = BROADCAST.replace('"0 9 * * MON"', f'"{schedule}"')
    assert only_problem(text, templates_dir) == f"{FILE}:3:13: {message}"


def test_time_zones_must_be_iana_names(templates_dir):
    text = BROADCAST.replace("Europe/London", "Europe/Londn")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:4:13: timezone: unknown time zone 'Europe/Londn': expected an IANA name such as "
        "Europe/London or UTC; did you mean Europe/London?"
    )


def test_the_time_zone_defaults_to_utc(templates_dir):
    text = BROADCAST.replace("  timezone: Europe/London\n", "")
    journey = parse_journey(dedent(text).encode(), FILE, templates_dir)
    assert journey.trigger.timezone == "UTC"


def test_a_broadcast_segment_cannot_use_event(templates_dir):
    text = BROADCAST.replace("Europe/London", "Europe/London\n  segment: \"event.type == 'x'\"")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:5:12: segment cannot use 'event': a broadcast is started by its schedule, not "
        "by a touchpoint; choose contacts with contact, such as contact.stage == 'regular_buyer'"
    )


def test_a_broadcast_filters_with_segment_not_if(templates_dir):
    text = BROADCAST.replace("Europe/London", "Europe/London\n  if: 'true'")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:5:3: unknown key 'if' in the trigger; expected one of: schedule, timezone, "
        "segment (a broadcast picks its contacts with segment)"
    )


# -- reentry, goal, exit_on


def test_reentry_must_be_a_duration(templates_dir):
    assert only_problem(WELCOME + "reentry: 30\n", templates_dir) == (
        f"{FILE}:7:10: reentry: '30' is not a duration: expected a whole number followed by a "
        "unit (w weeks, d days, h hours, m minutes, s seconds), largest unit first, such as "
        "30d, 12h, 90m, 45s, 2w or 1d12h"
    )


def test_reentry_must_have_a_value(templates_dir):
    assert only_problem(WELCOME + "reentry:\n", templates_dir) == (
        f"{FILE}:7:9: reentry: expected a duration, such as 30d, 12h, 90m or 1d12h; got nothing"
    )


def test_a_goal_needs_on(templates_dir):
    assert only_problem(WELCOME + "goal: {within: 21d}\n", templates_dir) == (
        f"{FILE}:7:1: the goal needs 'on': a touchpoint type, such as on: purchase.recorded"
    )


def test_a_goal_within_must_be_a_duration(templates_dir):
    problem = only_problem(WELCOME + "goal: {on: purchase.recorded, within: 3 weeks}\n",
                           templates_dir)
    assert problem.startswith(f"{FILE}:7:39: within: '3 weeks' is not a duration")


def test_a_goal_can_be_a_stage(templates_dir):
    text = WELCOME + "goal: {on: stage.entered, stage: regular_buyer}\n"
    journey = parse_journey(dedent(text).encode(), FILE, templates_dir)
    assert (journey.goal.on, journey.goal.stage) == ("stage.entered", "regular_buyer")


def test_exit_on_must_be_a_list(templates_dir):
    assert only_problem(WELCOME + "exit_on: consent.withdrawn\n", templates_dir) == (
        f"{FILE}:7:10: exit_on: expected a list, such as exit_on: [consent.withdrawn, "
        "message.unsubscribed]; got 'consent.withdrawn'"
    )


def test_exit_on_lists_touchpoint_types(templates_dir):
    problem = only_problem(WELCOME + "exit_on: [consent.withdrawn, unsubscribed]\n",
                           templates_dir)
    assert problem.startswith(f"{FILE}:7:30: exit_on: unknown value 'unsubscribed'")


def test_exit_on_lists_each_type_once(templates_dir):
    assert only_problem(WELCOME + "exit_on: [consent.withdrawn, consent.withdrawn]\n",
                        templates_dir) == (
        f"{FILE}:7:30: exit_on lists consent.withdrawn twice; once is enough"
    )


# -- steps


def test_steps_must_not_be_empty(templates_dir):
    text = "journey: welcome\ntrigger: {on: contact.upserted}\nsteps: []\n"
    assert only_problem(text, templates_dir) == f"{FILE}:3:8: steps: expected at least one step"


def test_a_step_needs_an_id(templates_dir):
    text = WELCOME.replace("  - id: hello\n    send", "  - send")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:5:5: step 1 needs 'id': a name for the step, such as id: thanks"
    )


def test_step_ids_are_unique(templates_dir):
    text = WELCOME + "  - id: hello\n    wait: 1d\n"
    assert only_problem(text, templates_dir) == (
        f"{FILE}:7:9: step id 'hello' is already used on line 5; step ids must be unique"
    )


def test_a_step_needs_a_type(templates_dir):
    text = WELCOME + "  - id: later\n"
    assert only_problem(text, templates_dir) == (
        f"{FILE}:7:5: step 'later' has no step type; expected one of: send, wait, wait_until, "
        "branch, end"
    )


def test_an_unknown_step_type_is_named(templates_dir):
    text = WELCOME + "  - id: later\n    sned: {intent: service, template: thanks}\n"
    problems = [str(problem) for problem in journey_problems(text, templates_dir)]
    assert problems == [
        f"{FILE}:7:5: step 'later' has no step type; expected one of: send, wait, wait_until, "
        "branch, end",
        f"{FILE}:8:5: unknown key 'sned' in step 'later'; expected one of: id, send, wait, "
        "wait_until, branch, end (did you mean 'send'?)",
    ]


def test_a_step_does_one_thing(templates_dir):
    text = WELCOME + "    wait: 1d\n"
    assert only_problem(text, templates_dir) == (
        f"{FILE}:7:5: step 'hello' has both send and wait; a step does one thing, so make it "
        "two steps"
    )


# -- send


def test_a_send_needs_intent_and_template(templates_dir):
    text = WELCOME.replace("{intent: relationship, template: thanks}", "{audience: personal}")
    problems = [str(problem) for problem in journey_problems(text, templates_dir)]
    assert problems == [
        f"{FILE}:6:5: send in step 'hello' needs 'intent': one of reach, activation, showcase, "
        "relationship, service, transactional",
        f"{FILE}:6:5: send in step 'hello' needs 'template': the name of a folder in the "
        "templates directory, such as template: thanks",
    ]


def test_intent_is_one_of_the_six(templates_dir):
    text = WELCOME.replace("relationship", "newsletter")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:6:20: intent: unknown value 'newsletter'; expected one of: reach, activation, "
        "showcase, relationship, service, transactional"
    )


def test_audience_is_one_of_the_three(templates_dir):
    text = WELCOME.replace("template: thanks", "template: thanks, audience: everyone")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:6:62: audience: unknown value 'everyone'; expected one of: personal, segment, "
        "public"
    )


@pytest.mark.parametrize("intent", ["reach", "activation", "showcase"])
def test_public_intents_are_refused_in_a_contact_journey(templates_dir, intent):
    text = WELCOME.replace("relationship, template: thanks", f"{intent}, template: reply")
    problem = only_problem(text, templates_dir)
    assert problem.startswith(f"{FILE}:6:20: intent {intent} is public (reach, activation and "
                              "showcase are posted on a public social channel), so it is only "
                              "allowed in a broadcast (trigger: {schedule: ...}) or in a "
                              "journey triggered on: social.mention;")


def test_public_intents_may_reply_to_a_mention(templates_dir):
    text = WELCOME.replace("contact.upserted", "social.mention").replace(
        "relationship, template: thanks", "showcase, template: reply")
    journey = parse_journey(dedent(text).encode(), FILE, templates_dir)
    assert journey.steps[0].is_public


def test_a_private_intent_is_never_public(templates_dir):
    text = WELCOME.replace("template: thanks", "template: thanks, audience: public")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:6:62: audience: public cannot go with intent relationship, which is private; "
        "use audience: personal or segment, or a public intent (reach, activation, showcase)"
    )


# -- templates


def test_a_template_must_exist(templates_dir):
    text = WELCOME.replace("template: thanks", "template: thank_you")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:6:44: unknown template 'thank_you': expected a folder "
        f"{templates_dir / 'thank_you'}/ with any of email.subject.txt, email.html, email.txt, "
        "sms.txt, letter.html, social.txt"
    )


def test_a_template_folder_needs_a_message_file(templates_dir):
    text = WELCOME.replace("template: thanks", "template: no_files")
    assert only_problem(text, templates_dir).startswith(
        f"{FILE}:6:44: template 'no_files' has no message files: expected any of"
    )


def test_a_template_name_is_not_a_path(templates_dir):
    text = WELCOME.replace("template: thanks", "template: ../thanks")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:6:44: template '../thanks' is not a template name: use the name of a folder in "
        "the templates directory, such as thanks (no '/')"
    )


def test_an_email_subject_alone_carries_no_private_message(templates_dir):
    text = WELCOME.replace("template: thanks", "template: subject_only")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:6:44: template 'subject_only' has no private channel for a relationship "
        "message: expected any of email.html, email.txt, sms.txt, letter.html in "
        f"{templates_dir / 'subject_only'}/"
    )


def test_a_public_post_needs_social_txt(templates_dir):
    text = BROADCAST.replace("template: weekly_spotlight", "template: thanks")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:7:42: template 'thanks' has no social.txt, which a public activation post "
        f"needs (in {templates_dir / 'thanks'}/)"
    )


@pytest.mark.parametrize("template", ["thanks", "bundle_offer", "regulars_note", "letter"])
def test_any_private_channel_will_do(templates_dir, template):
    text = WELCOME.replace("template: thanks", f"template: {template}")
    assert parse_journey(dedent(text).encode(), FILE, templates_dir).steps[0].template == template


# -- wait and wait_until


def test_a_wait_needs_a_unit(templates_dir):
    text = WELCOME + "  - id: pause\n    wait: 3\n"
    assert only_problem(text, templates_dir) == (
        f"{FILE}:8:11: wait in step 'pause': '3' is not a duration: expected a whole number "
        "followed by a unit (w weeks, d days, h hours, m minutes, s seconds), largest unit "
        "first, such as 30d, 12h, 90m, 45s, 2w or 1d12h"
    )


def test_a_wait_until_needs_a_timeout(templates_dir):
    text = WELCOME + "  - id: pause\n    wait_until: {on: message.clicked}\n"
    assert only_problem(text, templates_dir) == (
        f"{FILE}:8:5: wait_until in step 'pause' needs 'timeout': how long to wait at most, "
        "such as timeout: 5d"
    )


def test_a_wait_until_waits_for_a_touchpoint_type(templates_dir):
    text = WELCOME + "  - id: pause\n    wait_until: {on: clicked, timeout: 5d}\n"
    assert only_problem(text, templates_dir).startswith(
        f"{FILE}:8:22: on in wait_until in step 'pause': unknown value 'clicked'"
    )


# -- branch and end

BRANCHING = WELCOME + """\
  - id: check
    branch:
      - if: "contact.purchases_within('30d') >= 2"
        goto: done
      - else: offer
  - id: offer
    send: {intent: relationship, template: bundle_offer}
  - id: done
    end: true
"""


def test_the_branching_journey_loads(templates_dir):
    journey = parse_journey(dedent(BRANCHING).encode(), FILE, templates_dir)
    assert journey.successors("check") == ("done", "offer")


def test_a_goto_must_name_a_step(templates_dir):
    text = BRANCHING.replace("goto: done", "goto: dne")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:10:15: goto 'dne' names no step (did you mean 'done'?); expected one of the "
        "step ids: hello, check, offer, done"
    )


def test_an_else_must_name_a_step(templates_dir):
    text = BRANCHING.replace("else: offer", "else: ofer").replace("goto: done", "goto: offer")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:11:15: else 'ofer' names no step (did you mean 'offer'?); expected one of the "
        "step ids: hello, check, offer, done"
    )


def test_a_branch_ends_with_else(templates_dir):
    text = BRANCHING.replace("      - else: offer\n", "")
    problems = [str(problem) for problem in journey_problems(text, templates_dir)]
    assert problems[0] == (
        f"{FILE}:8:5: branch in step 'check' needs a last case '- else: STEP' for contacts that "
        "match no condition"
    )


def test_else_is_the_last_case(templates_dir):
    text = BRANCHING.replace(
        "      - else: offer\n", "      - else: offer\n      - if: 'true'\n        goto: offer\n")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:11:9: the else of branch in step 'check' must be its last case: cases after it "
        "are never tried"
    )


def test_a_case_needs_goto(templates_dir):
    text = BRANCHING.replace("        goto: done\n", "").replace("else: offer", "else: done")
    problems = [str(problem) for problem in journey_problems(text, templates_dir)]
    assert problems[0] == (
        f"{FILE}:9:9: case 1 of branch in step 'check' needs 'goto': the id of the step to go "
        "to, such as goto: done"
    )


def test_an_else_case_is_only_else(templates_dir):
    text = BRANCHING.replace("- else: offer", "- else: offer\n        goto: done")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:12:9: unknown key 'goto' in case 2 of branch in step 'check'; expected one of: "
        "else (an else case is just '- else: STEP')"
    )


def test_a_branch_condition_is_checked(templates_dir):
    text = BRANCHING.replace("contact.purchases_within('30d') >= 2",
                             "contact.purchases_within('30 days') >= 2")
    assert only_problem(text, templates_dir).startswith(
        f"{FILE}:9:13: if: contact.purchases_within: '30 days' is not a duration"
    )


def test_end_is_written_end_true(templates_dir):
    text = BRANCHING.replace("end: true", "end: yes")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:15:10: end in step 'done': expected end: true; got 'yes'"
    )


# -- paths through the steps


def test_a_step_after_an_end_is_unreachable(templates_dir):
    text = BRANCHING + "  - id: later\n    wait: 1d\n"
    assert only_problem(text, templates_dir) == (
        f"{FILE}:16:9: step 'later' is never reached: the step before it (step 'done') ends "
        "the journey, and no goto names it"
    )


def test_a_step_after_a_branch_needs_a_goto(templates_dir):
    text = BRANCHING.replace("else: offer", "else: done")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:12:9: step 'offer' is never reached: the step before it (step 'check') is a "
        "branch, which always jumps, and no goto names it"
    )


def test_a_loop_without_a_wait_is_refused_at_its_jump_back(templates_dir):
    text = BRANCHING.replace("else: offer", "else: hello")
    problems = [str(problem) for problem in journey_problems(text, templates_dir)]
    assert problems == [
        f"{FILE}:11:15: a loop without a wait: contacts would go round step 'hello', "
        "step 'check' forever without pause; add a wait or wait_until step inside the loop",
        f"{FILE}:12:9: step 'offer' is never reached: the step before it (step 'check') is a "
        "branch, which always jumps, and no goto names it",
    ]


def test_a_branch_to_itself_is_a_loop(templates_dir):
    text = BRANCHING.replace("goto: done", "goto: check")
    assert only_problem(text, templates_dir).startswith(
        f"{FILE}:10:15: a loop without a wait: contacts would go round step 'check' forever"
    )


def test_a_loop_with_a_wait_is_fine(templates_dir):
    text = BRANCHING.replace("else: offer", "else: pause").replace(
        "  - id: check\n", "  - id: pause\n    wait: 7d\n  - id: check\n").replace(
        "goto: done", "goto: offer")
    text = text.replace("  - id: done\n    end: true\n", "")
    journey = parse_journey(dedent(text).encode(), FILE, templates_dir)
    assert journey.successors("check") == ("offer", "pause")


# -- files


def test_load_journey_reads_the_file_and_records_its_digest(tmp_path, templates_dir):
    path = tmp_path / "welcome.yaml"
    path.write_text(dedent(WELCOME))
    journey = load_journey(path, templates_dir)
    assert journey.source_digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert journey.source_path == str(path)


def test_a_missing_file_is_a_problem(tmp_path, templates_dir):
    path = tmp_path / "missing.yaml"
    with pytest.raises(JourneyInvalid) as caught:
        load_journey(path, templates_dir)
    assert caught.value.lines == [f"{path}:1:1: cannot read the file: No such file or directory"]


def test_a_file_over_the_limit_is_not_read(tmp_path, templates_dir):
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"#" * (MAX_SOURCE_BYTES + 1))
    with pytest.raises(JourneyInvalid) as caught:
        load_journey(path, templates_dir)
    assert caught.value.lines == [f"{path}:1:1: the file is 1.0 MiB; files are limited to 1 MiB"]


def test_journey_invalid_is_invalid_input_with_exit_code_2(templates_dir):
    with pytest.raises(InvalidInput) as caught:
        parse_journey(b"journey: x\n", FILE, templates_dir)
    assert caught.value.exit_code == 2


def test_validate_files_collects_journeys_and_problems(tmp_path: Path, templates_dir):
    (tmp_path / "a.yaml").write_text(dedent(WELCOME))
    (tmp_path / "b.yaml").write_text(dedent(BROADCAST))
    (tmp_path / "c.yaml").write_text(dedent(WELCOME))
    (tmp_path / "d.yaml").write_text("journey: broken\n")
    paths = sorted(tmp_path.glob("*.yaml"))
    journeys, problems = validate_files(paths, templates_dir)
    assert [journey.id for journey in journeys] == ["welcome", "spotlight"]
    assert [str(problem) for problem in problems] == [
        f"{tmp_path / 'c.yaml'}:1:10: journey id 'welcome' is already used by "
        f"{tmp_path / 'a.yaml'}; each journey needs its own id",
        f"{tmp_path / 'd.yaml'}:1:1: the journey needs 'steps': the list of steps, each with an "
        "id and one of send, wait, wait_until, branch, end",
        f"{tmp_path / 'd.yaml'}:1:1: the journey needs 'trigger': what starts it, such as "
        "trigger: {on: purchase.recorded}",
    ]


def test_a_loop_is_reported_once_at_its_first_jump_back(templates_dir):
    text = """
    journey: looping
    trigger: {on: contact.upserted}
    steps:
      - id: a
        send: {intent: service, template: thanks}
      - id: b
        branch:
          - if: contact.attributes.again
            goto: a
          - else: c
      - id: c
        branch:
          - if: contact.attributes.again
            goto: b
          - else: a
    """
    assert only_problem(text, templates_dir) == (
        f"{FILE}:9:15: a loop without a wait: contacts would go round step 'a', step 'b', "
        "step 'c' forever without pause; add a wait or wait_until step inside the loop"
    )


def test_a_trigger_is_a_mapping(templates_dir):
    text = WELCOME.replace("trigger:\n  on: contact.upserted", "trigger: contact.upserted")
    assert only_problem(text, templates_dir) == (
        f"{FILE}:2:10: the trigger: expected a mapping such as {{on: purchase.recorded}} (a "
        "journey per contact) or {schedule: '0 9 * * MON', timezone: Europe/London} (a "
        "broadcast); got 'contact.upserted'"
    )


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ("steps: {id: hello}", "5:8: steps: expected a list, such as steps: [{id: thanks, "
                               "send: {...}}]; got a mapping (key: value pairs)"),
        ("steps:\n  - hello", "6:5: step 1: expected a mapping with id:; got 'hello'"),
        ("steps:\n  - id: hello\n    send: thanks", "7:11: send in step 'hello': expected a "
                                                   "mapping with intent:, template:; got "
                                                   "'thanks'"),
    ],
)
def test_wrong_shapes_say_what_was_expected(templates_dir, steps, expected):
    text = "journey: welcome\ntrigger:\n  on: contact.upserted\n\n" + steps + "\n"
    assert only_problem(text, templates_dir) == f"{FILE}:{expected}"
