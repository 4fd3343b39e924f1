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


def test_the_project_subscribes_to_the_webhook_events_the_app_takes_as_leads():
    from handlers.hubspot_webhook import Event

    path = ROOT / "hubspot-project" / "src" / "app" / "webhooks" / "webhooks-hsmeta.json"
    hooks = json.loads(path.read_text())
    assert hooks["type"] == "webhooks" and hooks["config"]["settings"]["targetUrl"].endswith(
        "/hubspot/webhook"
    )
    subscriptions = hooks["config"]["subscriptions"]
    [creation] = subscriptions["crmObjects"]
    [form] = subscriptions["legacyCrmObjects"]
    assert (creation["subscriptionType"], creation["objectType"]) == ("object.creation", "contact")
    as_sent = [  # what HubSpot sends for each subscription
        Event(eventId=1, subscriptionType="object.creation", objectId=1, objectTypeId="0-1"),
        Event(
            eventId=2,
            subscriptionType=form["subscriptionType"],
            objectId=1,
            propertyName=form["propertyName"],
        ),
    ]
    assert all(e.is_lead for e in as_sent)
