"""The HubSpot app definition kept in the repo asks for exactly the scopes the app uses and checks."""

from __future__ import annotations

import json
from pathlib import Path

from crm.hubspot_check import OPTIONAL_SCOPES, SCOPES

ROOT = Path(__file__).resolve().parents[2]


def test_the_project_app_requests_exactly_the_scopes_the_app_checks():
    project = json.loads((ROOT / "hubspot-project" / "hsproject.json").read_text())
    app = json.loads((ROOT / "hubspot-project" / project["srcDir"] / "app" / "app-hsmeta.json").read_text())
    assert app["type"] == "app" and app["config"]["distribution"] == "private"
    assert app["config"]["auth"]["type"] == "static"  # one portal, a static token: no OAuth server to run
    assert sorted(app["config"]["auth"]["requiredScopes"]) == sorted(SCOPES)
    assert sorted(app["config"]["auth"]["optionalScopes"]) == sorted(OPTIONAL_SCOPES)
    assert project["platformVersion"] >= "2026.03"
