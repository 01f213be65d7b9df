"""Reading a journey's steps, and the checks across them: unique ids, ``goto`` targets,
reachability and loops that never wait.

Judgement calls where the SPEC is silent (see also :mod:`.journey_reader`):

- a ``branch`` must end with ``- else: STEP``: every contact needs somewhere to go;
- ``wait_until`` needs a ``timeout``, or contacts could wait forever;
- ``end`` is written ``end: true``;
- a template must have a file for a channel the intent can use: ``social.txt`` for a
  public intent, an email body, ``sms.txt`` or ``letter.html`` for a private one (an
  email subject alone carries nothing);
- ``audience: public`` only goes with a public intent (a private message is never public).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from orchestrator.campaigns.language.journey import (
    BranchCase,
    BranchStep,
    EndStep,
    ScheduleTrigger,
    SendStep,
    Step,
    Trigger,
    WaitStep,
    WaitUntilStep,
)
from orchestrator.campaigns.language.node_reader import NodeReader
from orchestrator.campaigns.language.problems import Position, Problem
from orchestrator.campaigns.language.step_graph import (
    loops_without_wait,
    reached_without,
    unreachable,
)
from orchestrator.campaigns.language.vocabulary import (
    AUDIENCES,
    CHANNEL_FILES,
    DEFAULT_AUDIENCE,
    INTENTS,
    PRIVATE_CHANNELS,
    PUBLIC_INTENTS,
    TEMPLATE_FILES,
    TOUCHPOINT_TYPES,
)
from orchestrator.campaigns.language.yaml_source import YamlEntry, YamlMapping, YamlNode, YamlScalar
from orchestrator.rendering.catalog import TEMPLATE_NAME, TemplateCatalog

STEP_TYPES = ("send", "wait", "wait_until", "branch", "end")
SEND_KEYS = ("intent", "template", "audience")
WAIT_UNTIL_KEYS = ("on", "timeout")

_WAITING_STEPS = ("wait", "wait_until")

_HINTS = {
    "id": "a name for the step, such as id: thanks",
    "on": "a touchpoint type, such as on: message.clicked",
    "intent": f"one of {', '.join(INTENTS)}",
    "template": "the name of a folder in the templates directory, such as template: thanks",
    "timeout": "how long to wait at most, such as timeout: 5d",
    "if": "a condition, such as if: \"contact.purchases_within('30d') >= 2\"",
    "goto": "the id of the step to go to, such as goto: done",
}
_ELSE_ADVICE = {
    "goto": "an else case is just '- else: STEP'",
    "if": "an else case is just '- else: STEP'",
}


@dataclass
class _StepDraft:
    """What was read of one step, good or not, for the checks across steps."""

    number: int
    position: Position
    id: str | None = None
    kind: str | None = None
    step: Step | None = None
    # (target step id, where it is written, "goto" or "else")
    gotos: list[tuple[str, Position, str]] = field(default_factory=list)
    duplicate: bool = False

    @property
    def label(self) -> str:
        return f"step '{self.id}'" if self.id else f"step {self.number}"


class StepReader(NodeReader):
    """Reads the ``steps:`` of one journey started by ``trigger`` (None when the trigger
    itself is wrong: then the checks that depend on it are skipped)."""

    def __init__(self, file: str, templates: TemplateCatalog, trigger: Trigger | None,
                 problems: list[Problem]):
        super().__init__(file, problems)
        self.templates = templates
        self.trigger = trigger

    def read(self, entry: YamlEntry | None) -> tuple[Step, ...] | None:
        """The steps under ``steps:``, or None when any of them is wrong."""
        if entry is None:
            return None
        listed = self.sequence(entry.value, "steps", "steps: [{id: thanks, send: {...}}]")
        if listed is None:
            return None
        if not listed.items:
            self.report(entry.value.position, "steps: expected at least one step")
            return None
        drafts = [
            self._step(item, number)
            for number, item in enumerate(listed.items, start=1)
        ]
        self._check_ids(drafts)
        self._check_paths(drafts)
        if any(draft.step is None for draft in drafts):
            return None
        return tuple(draft.step for draft in drafts)

    def _step(self, node: YamlNode, number: int) -> _StepDraft:
        draft = _StepDraft(number, node.position)
        # The id first, so that the other messages about this step can name it.
        if isinstance(node, YamlMapping) and (id_entry := node.get("id")) is not None:
            draft.id = self.word(id_entry.value, f"the id of step {number}", "thanks")
            draft.position = id_entry.value.position
        step = self.mapping(node, draft.label, allowed=("id", *STEP_TYPES), required=("id",),
                            hints=_HINTS)
        if step is None:
            return draft
        types = [entry for entry in step.entries if entry.key in STEP_TYPES]
        if not types:
            self.report(step.position, f"{draft.label} has no step type; expected one of: "
                                       f"{', '.join(STEP_TYPES)}")
            return draft
        for extra in types[1:]:
            self.report(extra.key_position, f"{draft.label} has both {types[0].key} and "
                                            f"{extra.key}; a step does one thing, so make it "
                                            "two steps")
        kind = types[0]
        draft.kind = kind.key
        match kind.key:
            case "send":
                step_itself = self._send(kind, draft)
            case "wait":
                step_itself = self._wait(kind, draft)
            case "wait_until":
                step_itself = self._wait_until(kind, draft)
            case "branch":
                step_itself = self._branch(kind, draft)
            case _:
                step_itself = self._end(kind, draft)
        if draft.id is not None and len(types) == 1:
            draft.step = step_itself
        return draft

    def _send(self, entry: YamlEntry, draft: _StepDraft) -> Step | None:
        what = f"send in {draft.label}"
        send = self.mapping(entry.value, what, allowed=SEND_KEYS, required=("intent", "template"),
                            at=entry.key_position, hints=_HINTS)
        if send is None:
            return None
        intent = self.choice(send.value("intent"), "intent", INTENTS)
        audience = self.choice(send.value("audience"), "audience", AUDIENCES) or DEFAULT_AUDIENCE
        if intent in PUBLIC_INTENTS and self.trigger is not None and not _may_post_publicly(
            self.trigger
        ):
            self.report(
                send.get("intent").value.position,
                f"intent {intent} is public (reach, activation and showcase are posted on a "
                "public social channel), so it is only allowed in a broadcast "
                "(trigger: {schedule: ...}) or in a journey triggered on: social.mention; "
                "for a message to one contact use relationship, service or transactional",
            )
        if audience == "public" and intent is not None and intent not in PUBLIC_INTENTS:
            self.report(
                send.get("audience").value.position,
                f"audience: public cannot go with intent {intent}, which is private; "
                "use audience: personal or segment, or a public intent (reach, activation, "
                "showcase)",
            )
        template = self._template(send.value("template"), intent)
        if intent is None or template is None:
            return None
        return SendStep(id=draft.id or "", intent=intent, template=template, audience=audience)

    def _template(self, node: YamlNode | None, intent: str | None) -> str | None:
        name = self.text(node, "template", "thanks")
        if node is None or name is None:
            return None
        if not TEMPLATE_NAME.fullmatch(name):
            self.report(node.position, f"template {name!r} is not a template name: use the name "
                                       "of a folder in the templates directory, such as "
                                       "thanks (no '/')")
            return None
        folder = self.templates.folder(name)
        files = self.templates.files(name)
        if files is None:
            self.report(node.position, f"unknown template {name!r}: expected a folder {folder}/ "
                                       f"with any of {', '.join(TEMPLATE_FILES)}")
            return None
        if not files:
            self.report(node.position, f"template {name!r} has no message files: expected "
                                       f"any of {', '.join(TEMPLATE_FILES)} in {folder}/")
            return None
        # Reported where they are, in the template's files (FILE:LINE:1).
        self.problems.extend(Problem(error.file, error.line or 1, 1, error.message)
                             for error in self.templates.problems(name))
        if intent is None:
            return name
        channels = self.templates.channels(name)
        if intent in PUBLIC_INTENTS and "social" not in channels:
            self.report(node.position, f"template {name!r} has no social.txt, which a public "
                                       f"{intent} post needs (in {folder}/)")
            return None
        if intent not in PUBLIC_INTENTS and not channels.intersection(PRIVATE_CHANNELS):
            needed = [file for channel in PRIVATE_CHANNELS for file in CHANNEL_FILES[channel]]
            self.report(node.position, f"template {name!r} has no private channel for a "
                                       f"{intent} message: expected any of "
                                       f"{', '.join(needed)} in {folder}/")
            return None
        return name

    def _wait(self, entry: YamlEntry, draft: _StepDraft) -> Step | None:
        duration = self.duration(entry.value, f"wait in {draft.label}")
        return None if duration is None else WaitStep(id=draft.id or "", duration=duration)

    def _wait_until(self, entry: YamlEntry, draft: _StepDraft) -> Step | None:
        what = f"wait_until in {draft.label}"
        wait = self.mapping(entry.value, what, allowed=WAIT_UNTIL_KEYS, required=WAIT_UNTIL_KEYS,
                            at=entry.key_position, hints=_HINTS)
        if wait is None:
            return None
        on = self.choice(wait.value("on"), f"on in {what}", TOUCHPOINT_TYPES)
        timeout = self.duration(wait.value("timeout"), "timeout")
        if on is None or timeout is None:
            return None
        return WaitUntilStep(id=draft.id or "", on=on, timeout=timeout)

    def _end(self, entry: YamlEntry, draft: _StepDraft) -> Step | None:
        node = entry.value
        if not (isinstance(node, YamlScalar) and node.value is True):
            self._wrong_type(node, f"end in {draft.label}", "end: true")
            return None
        return EndStep(id=draft.id or "")

    def _branch(self, entry: YamlEntry, draft: _StepDraft) -> Step | None:
        what = f"branch in {draft.label}"
        cases_node = self.sequence(entry.value, what,
                                   "[{if: \"contact.stage == 'light_buyer'\", goto: offer}, "
                                   "{else: done}]")
        if cases_node is None:
            return None
        cases: list[BranchCase] = []
        complete = True
        for number, case_node in enumerate(cases_node.items, start=1):
            case = self._branch_case(case_node, f"case {number} of {what}", draft)
            complete = complete and case is not None
            if case is None:
                continue
            if case.condition is None and number != len(cases_node.items):
                self.report(case_node.position, f"the else of {what} must be its last case: "
                                                "cases after it are never tried")
                complete = False
            cases.append(case)
        if complete and (not cases or cases[-1].condition is not None):
            self.report(entry.key_position, f"{what} needs a last case '- else: STEP' for "
                                            "contacts that match no condition")
            return None
        return BranchStep(id=draft.id or "", cases=tuple(cases)) if complete else None

    def _branch_case(self, node: YamlNode, what: str, draft: _StepDraft) -> BranchCase | None:
        is_else = isinstance(node, YamlMapping) and node.get("else") is not None
        case = self.mapping(
            node, what, allowed=("else",) if is_else else ("if", "goto"),
            required=("else",) if is_else else ("if", "goto"),
            hints=_HINTS,
            advice=_ELSE_ADVICE,
        )
        if case is None:
            return None
        keyword = "else" if is_else else "goto"
        target_entry = case.get(keyword)
        target = None
        if target_entry is not None:
            target = self.word(target_entry.value, keyword, "done")
            if target is not None:
                draft.gotos.append((target, target_entry.value.position, keyword))
        condition = None if is_else else self.expression(case.value("if"), "if")
        if target is None or (not is_else and condition is None):
            return None
        return BranchCase(condition=condition, goto=target)

    # -- checks across steps

    def _check_ids(self, drafts: list[_StepDraft]) -> None:
        first_use: dict[str, _StepDraft] = {}
        for draft in drafts:
            if draft.id is None:
                continue
            if draft.id in first_use:
                self.report(draft.position, f"step id '{draft.id}' is already used on line "
                                            f"{first_use[draft.id].position.line}; step ids "
                                            "must be unique")
                draft.step = None
                draft.duplicate = True
            else:
                first_use[draft.id] = draft

    def _check_paths(self, drafts: list[_StepDraft]) -> None:
        """``goto`` targets exist, every step is reached, every loop waits."""
        # Steps without a usable id, and second uses of an id, still take part, under a
        # name no id can have; a goto goes to the first step of that id.
        names = [
            draft.id if draft.id and not draft.duplicate else f"#{draft.number}"
            for draft in drafts
        ]
        by_name = dict(zip(names, drafts, strict=True))
        ids = list(dict.fromkeys(draft.id for draft in drafts if draft.id))
        edges: dict[str, list[str]] = {}
        for index, (name, draft) in enumerate(zip(names, drafts, strict=True)):
            if draft.kind == "branch":
                targets = []
                for target, position, keyword in draft.gotos:
                    if target in by_name:
                        targets.append(target)
                    else:
                        self._unknown_goto(keyword, target, position, ids)
                edges[name] = targets
            elif draft.kind == "end":
                edges[name] = []
            else:
                edges[name] = names[index + 1 : index + 2]
        for name in unreachable(names, edges):
            self._unreachable(by_name[name], drafts)
        waits = {name for name, draft in by_name.items() if draft.kind in _WAITING_STEPS}
        for loop in loops_without_wait(names, edges, waits):
            self._loop_without_wait(loop, by_name)
        self._check_wait_known(names, edges, by_name)

    def _check_wait_known(self, names: list[str], edges: dict[str, list[str]],
                          by_name: dict[str, _StepDraft]) -> None:
        """``wait`` is known only after a wait_until step on every path to the step."""
        wait_untils = {name for name, draft in by_name.items() if draft.kind == "wait_until"}
        paths = reached_without(names, edges, wait_untils)
        for name, draft in by_name.items():
            if name not in paths or not isinstance(draft.step, BranchStep):
                continue
            for case in draft.step.cases:
                condition = case.condition
                if condition is None or "wait" not in condition.names:
                    continue
                path = paths[name]
                route = " -> ".join(["trigger", *(by_name[n].id or n for n in path)])
                self.report(condition.position or draft.position,
                            f"if: `wait` is only known after a wait_until step; "
                            f"{draft.label} can be reached without one ({route})")

    def _unreachable(self, draft: _StepDraft, drafts: list[_StepDraft]) -> None:
        before = drafts[draft.number - 2]  # the first step is always reached
        if before.kind == "branch":
            why = f"the step before it ({before.label}) is a branch, which always jumps"
        elif before.kind == "end":
            why = f"the step before it ({before.label}) ends the journey"
        else:
            why = f"the step before it ({before.label}) is never reached either"
        named = any(target == draft.id for other in drafts for target, _, _ in other.gotos)
        gotos = "only steps that are never reached go to it" if named else "no goto names it"
        self.report(draft.position, f"{draft.label} is never reached: {why}, and {gotos}")

    def _unknown_goto(self, keyword: str, target: str, position: Position,
                      ids: list[str]) -> None:
        close = difflib.get_close_matches(target, ids, n=1)
        tip = f" (did you mean '{close[0]}'?)" if close else ""
        self.report(position, f"{keyword} '{target}' names no step{tip}; expected one of the "
                              f"step ids: {', '.join(ids)}")

    def _loop_without_wait(self, loop: list[str], by_name: dict[str, _StepDraft]) -> None:
        order = {name: index for index, name in enumerate(by_name)}
        members = set(loop)
        # A loop needs a jump back (falling through only goes forward): report the first.
        jumps_back = (
            goto_position
            for name in loop
            for target, goto_position, _ in by_name[name].gotos
            if target in members and order[target] <= order[name]
        )
        position = next(jumps_back, by_name[loop[0]].position)
        labels = ", ".join(by_name[name].label for name in loop)
        self.report(position, f"a loop without a wait: contacts would go round {labels} "
                              "forever without pause; add a wait or wait_until step inside "
                              "the loop")


def _may_post_publicly(trigger: Trigger) -> bool:
    return isinstance(trigger, ScheduleTrigger) or trigger.on == "social.mention"
