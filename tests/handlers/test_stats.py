"""`/followup stats` through the running app: the caller's own week, a colleague's for a manager, refusals
that say why, and every answer valid Block Kit."""

from __future__ import annotations

import pytest

from tests.blockkit import assert_valid_blocks, texts
from tests.bot.test_metrics import config_file, history  # noqa: F401 - the fixture week and its teams
from tests.conftest import ADMIN, DANA, MANAGER, OTHER


def ask(h, text: str, user: str) -> dict:  # type: ignore[no-untyped-def]
    before = len(h.slack.responses)
    assert h.command(text, user=user, response=f"r{before}").status == 200
    return h.slack.wait_for_response(before + 1)[-1]


def test_stats_shows_the_callers_own_week_and_a_manager_sees_a_team_member(history):  # noqa: F811
    mine = ask(history, "stats", DANA)
    assert mine["response_type"] == "ephemeral"
    assert_valid_blocks(mine["blocks"])
    shown = texts(mine["blocks"])
    assert "Your week: follow-ups" in shown
    assert "*Reply rate*\n50% (2/4)" in shown and "touch 1: 50% (1/2), touch 2: 50% (1/2)" in shown
    assert "*Hot leads touched within a business hour*\n67% (2/3)" in shown
    assert "*Card to decision (median)*\n2 h" in shown  # 1 h, 3 h and 2 h (the 30 min was Olu's)
    assert "60,000 (1 with no other touch" in shown

    team = ask(history, f"stats month <@{DANA}|dana>", MANAGER)  # Dana is in the east team Manager leads
    assert_valid_blocks(team["blocks"])
    assert f"<@{DANA}>'s month: follow-ups" in texts(team["blocks"])
    assert "Team east's week" in texts(ask(history, "stats team east", MANAGER)["blocks"])
    everyone = ask(history, "stats all", ADMIN)
    assert "Everyone's week" in texts(everyone["blocks"]) and "*Sent*\n4" in texts(everyone["blocks"])
    # narrowed to a prompt version (the fixture's one draft/v2 follow-up was sent and replied) or a rule
    v2 = texts(ask(history, "stats all version draft/v2", ADMIN)["blocks"])
    assert "Everyone's week: follow-ups · version draft/v2" in v2 and "*Reply rate*\n100% (1/1)" in v2
    proposals = texts(ask(history, "stats month all rule proposal_no_reply", ADMIN)["blocks"])
    assert (
        "Everyone's month: follow-ups · rule proposal_no_reply" in proposals
        and "dismiss 100% (1/1)" in proposals
    )


@pytest.mark.parametrize(
    ("text", "user", "says"),
    [
        (f"stats <@{DANA}|dana>", OTHER, "You can see your own numbers"),
        ("stats all", DANA, "Only an admin or the team lead"),
        ("stats team east", OTHER, "Only team east's lead or an admin"),
        ("stats team west", MANAGER, "There is no team “west” (teams: east)"),
        ("stats fortnight", DANA, "Try `/followup stats [week|month]"),
        ("stats rule stale", DANA, "There is no rule “stale” (rules: call_no_next_step"),
        ("stats rule stale_deal rule quote_expired", DANA, "Try `/followup stats"),
    ],
)
def test_stats_refuses_what_the_caller_may_not_see_and_says_why(history, text, user, says):  # noqa: F811
    answer = ask(history, text, user)
    assert says in answer["text"] and "blocks" not in answer
