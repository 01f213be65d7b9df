"""Nothing secret in any output: store passwords (in the user part or the query of the URL)
and the content of a file given where a YAML file was expected (issue 14, item 5)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from tests.support import contact, write_jsonl

SECRET = "S3cr3t-Pa55"
SECRET_LINE = "root:x:0:0:SECRETLINE:/root:/bin/bash"
AT = "2026-02-01T10:00:00+00:00"


def printed(result) -> str:
    return result.out + result.err


# --- store URLs ----------------------------------------------------------------------------

# A password in the user part was already redacted before issue 14; those cases stay as
# guards over the rewritten redaction (raw '/', '?', '#' in a password, a URL the parser
# cannot read). The query and no-scheme cases printed the password before.
FAILING_URLS = [
    f"postgresql://postgres:{SECRET}@127.0.0.1:1/test",
    f"postgresql://postgres:{quote(SECRET + '@:/?#', safe='')}@127.0.0.1:1/test",
    f"postgresql://postgres@127.0.0.1:1/test?password={SECRET}",
    f"postgresql://postgres@127.0.0.1:1/test?schema=s1&password={SECRET}",
    f"postgresql://postgres@127.0.0.1:1/test?PassWord={SECRET}",
    f"postgresql://postgres@127.0.0.1:1/test?sslpassword={SECRET}",
    f"postgresql://postgres:{SECRET}@127.0.0.1:notaport/test",
    f"postgresql://postgres:{SECRET}@127.0.0.1:1/",
    f"postgresql://postgres:{SECRET}@[::1/test",
    f"postgresql://postgres:{SECRET}@127.0.0.1:1/test?schema=bad\"name",
    f"postgresql://postgres:{SECRET}@127.0.0.1:1/test?password={SECRET}",
    f"mysql://root:{SECRET}@127.0.0.1/crm",
    f"postgres:{SECRET}@127.0.0.1:1/test",  # the scheme forgotten
]


@pytest.mark.parametrize("url", FAILING_URLS)
@pytest.mark.parametrize("command", [("audit", "verify"), ("-v", "ingest", "TOUCHPOINTS"),
                                     ("messages", "--json")])
def test_a_store_that_cannot_be_opened_never_prints_its_password(cli, tmp_path, url, command):
    touchpoints = write_jsonl(tmp_path / "one.jsonl", contact("c1", AT))
    command = tuple(str(touchpoints) if part == "TOUCHPOINTS" else part for part in command)

    result = cli("--store", url, *command)

    assert result.code == 2, printed(result)
    assert "Traceback" not in result.err
    assert SECRET not in printed(result)


@pytest.mark.parametrize("url", FAILING_URLS[:4])
def test_a_store_url_from_the_environment_never_prints_its_password(cli, url):
    result = cli("audit", "verify", environ={"ORCHESTRATOR_STORE": url})

    assert result.code == 2
    assert SECRET not in printed(result)


def _demo_urls(postgres_url: str) -> list[tuple[str, str]]:
    """The test server's URL with a password in the user part, and in the query. (The
    local server trusts its clients; a base URL with a password of its own is that
    password's test instead.)"""
    parts = urlsplit(postgres_url)
    if parts.password:
        return [(postgres_url, parts.password)]
    netloc = f"{parts.username}:{SECRET}@{parts.hostname}:{parts.port or 5432}"
    return [(parts._replace(netloc=netloc).geturl(), SECRET),
            (f"{postgres_url}&password={SECRET}", SECRET)]


@pytest.mark.postgres
@pytest.mark.parametrize("where", [0, 1])
def test_the_demo_prints_the_store_url_without_its_password(cli, postgres_url, tmp_path, where):
    urls = _demo_urls(postgres_url)
    if where >= len(urls):
        pytest.skip("the test server's URL has a password of its own")
    url, secret = urls[where]

    result = cli("--store", url, "demo", "--contacts", "20", "--outbox", tmp_path / "outbox")

    assert result.code == 0, result.err
    [try_line] = [line for line in result.out.splitlines() if "Try: orchestrator" in line]
    assert "***" in try_line and f"@{urlsplit(url).hostname}" in try_line
    assert secret not in printed(result)


def test_the_demo_on_sqlite_prints_the_store_it_used(cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"

    result = cli("--store", url, "demo", "--contacts", "20", "--outbox", tmp_path / "outbox")

    assert result.code == 0, result.err
    assert f"Try: orchestrator --store {url} audit why msg-" in result.out


# --- a file that is not YAML where YAML was expected ---------------------------------------

NOT_YAML = {
    "passwd": f"{SECRET_LINE}\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
    "one-line": f"{SECRET_LINE}\n",
    "quoted": f'"{SECRET_LINE}"\n',
    "env-file": f"export DATABASE_PASSWORD={SECRET_LINE}\n",
    "list": f"- {SECRET_LINE}\n- second\n",
    "block-text": f"|\n  {SECRET_LINE}\n",
}


@pytest.mark.parametrize("content", NOT_YAML.values(), ids=NOT_YAML.keys())
def test_a_policy_file_that_is_not_settings_is_never_quoted(cli, tmp_path, content):
    policy = tmp_path / "passwd"
    policy.write_text(content)

    result = cli("--store", f"sqlite:///{tmp_path / 's.db'}", "run", "--policy", policy,
                 "--until", AT)

    assert result.code == 2
    assert f"{policy}:1:1: the policy: expected " in result.err
    assert "SECRETLINE" not in printed(result)


@pytest.mark.parametrize("content", NOT_YAML.values(), ids=NOT_YAML.keys())
def test_a_journey_file_that_is_not_a_journey_is_never_quoted(cli, tmp_path, content):
    journey = tmp_path / "shadow.yaml"
    journey.write_text(content)

    result = cli("journeys", "validate", journey)

    assert result.code == 2
    assert f"{journey}:1:1: the journey: expected " in result.err
    assert "SECRETLINE" not in printed(result)


def test_a_long_value_in_a_policy_file_is_quoted_only_in_part(cli, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(f'sms_window: "{"x" * 80}{SECRET_LINE}"\n')

    result = cli("--store", f"sqlite:///{tmp_path / 's.db'}", "run", "--policy", policy,
                 "--until", AT)

    assert result.code == 2
    assert f"{policy}:1:13: sms_window: expected " in result.err
    assert "got 'xxxxxxxx" in result.err
    assert "SECRETLINE" not in printed(result)


def test_a_short_wrong_value_is_still_quoted_where_it_helps(cli, tmp_path):
    # The rule keeps errors in real settings files useful: the value written is shown.
    policy = tmp_path / "policy.yaml"
    policy.write_text("sms_window: evenings\nprivate_channel_order: email\n")

    result = cli("--store", f"sqlite:///{tmp_path / 's.db'}", "run", "--policy", policy,
                 "--until", AT)

    assert result.code == 2
    assert f"{policy}:1:13: sms_window: expected " in result.err
    assert "got 'evenings'" in result.err
    assert f"{policy}:2:24: private_channel_order: expected a list" in result.err
    assert "got 'email'" in result.err
