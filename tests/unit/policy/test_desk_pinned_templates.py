"""The policy desk judges a message on its journey version's pinned templates: which
channels the template has, and whether its public text reads contact data."""

from __future__ import annotations

from types import SimpleNamespace

from orchestrator.campaigns.runtime.decisions import PolicyDesk
from orchestrator.domain.stages import StageThresholds
from orchestrator.rendering.catalog import TemplateCatalog


def scheduled(version: int, template: str = "reply", intent: str = "showcase"):
    return SimpleNamespace(journey="j", version=version, template=template, intent=intent)


def desk(folder, pinned):
    return PolicyDesk(TemplateCatalog(folder), StageThresholds(), pinned=pinned)


def test_pinned_public_text_reading_contact_data_carries_it_whatever_the_folder(tmp_path):
    (tmp_path / "reply").mkdir()
    (tmp_path / "reply" / "social.txt").write_text("Thank you for the kind words!")
    policy = desk(tmp_path, {("j", 1): {"reply/social.txt": "Hi {{ contact.first_name }}"},
                             ("j", 2): {"reply/social.txt": "Thank you!"}})
    assert policy.carries_contact_data(scheduled(1)) is True
    assert policy.carries_contact_data(scheduled(2)) is False
    # A version published before pinning is judged on the folder.
    assert policy.carries_contact_data(scheduled(3)) is False


def test_the_channels_of_a_pinned_version_are_its_files(tmp_path):
    (tmp_path / "thanks").mkdir()
    for file in ("email.txt", "email.subject.txt", "sms.txt"):
        (tmp_path / "thanks" / file).write_text("Thanks")
    policy = desk(tmp_path, {("j", 1): {"thanks/email.txt": "Thanks",
                                        "thanks/email.subject.txt": "Thanks"}})
    assert policy.template_channels(scheduled(1, "thanks", "relationship")) == {"email"}
    assert policy.template_channels(scheduled(2, "thanks", "relationship")) == {"email",
                                                                                 "sms"}
