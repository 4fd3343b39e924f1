"""`followup hubspot check` as a RevOps admin runs it against the fake portal."""

from __future__ import annotations

from tests.bot.test_cli import run
from tests.builders import DANA_EMAIL, small_book_in_hubspot
from tests.conftest import NOW


def _env(hubspot, slack, config_file) -> dict[str, str]:
    return {
        "HUBSPOT_ACCESS_TOKEN": hubspot.token,
        "HUBSPOT_API_URL": hubspot.base_url,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_API_URL": slack.api_url,
        "FOLLOWUP_CONFIG": str(config_file),
        "COLUMNS": "400",  # one table row a line, for the assertions
    }


def test_a_complete_install_passes(tmp_path, hubspot, slack, config_file):
    small_book_in_hubspot(hubspot, NOW)
    out = run("hubspot", "check", cwd=tmp_path, env=_env(hubspot, slack, config_file))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "✗" not in out.stdout and "✓" in out.stdout
    assert "crm.objects.contacts.write" in out.stdout and "Closed Won (won)" in out.stdout
    assert "all 1 owner(s) matched by email" in out.stdout


def test_a_missing_scope_is_named_with_what_needs_it_and_how_to_fix_it(tmp_path, hubspot, slack, config_file):
    small_book_in_hubspot(hubspot, NOW)
    hubspot.scopes.discard("sales-email-read")
    hubspot.owners["502"] = {"email": "nobody@followup-demo.com", "firstName": "No", "lastName": "Body"}
    config_file.write_text(config_file.read_text() + '\n[pipeline]\nwon_stages = ["Signed"]\n')
    out = run("hubspot", "check", cwd=tmp_path, env=_env(hubspot, slack, config_file))
    assert out.returncode == 1
    flat = " ".join(out.stdout.split())
    assert "sales-email-read" in flat and "missing" in flat and "emails in a lead" in flat
    assert "Add sales-email-read to the Service Key" in flat
    assert "Signed" in flat and "nobody@followup-demo.com" in flat
    assert DANA_EMAIL not in flat.split("not found in Slack")[-1].split(")")[0]


def test_a_rejected_token_is_one_row(tmp_path, hubspot, slack, config_file):
    env = _env(hubspot, slack, config_file) | {"HUBSPOT_ACCESS_TOKEN": "pat-wrong"}
    out = run("hubspot", "check", cwd=tmp_path, env=env)
    assert out.returncode == 1 and "rejected the token" in " ".join(out.stdout.split())
