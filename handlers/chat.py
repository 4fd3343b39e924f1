"""The Chat port's Slack adapter, on the official WebClient."""

from __future__ import annotations

import logging
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.ports import PostedCard

log = logging.getLogger(__name__)


LOOKUP_TTL = 3600.0  # a rep who joins Slack is found within the hour


class SlackChat:
    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._tz: dict[str, str | None] = {}
        self._by_email: dict[str, tuple[float, str | None]] = {}

    def find_user_by_email(self, email: str) -> str | None:
        """Slack user id for an email; remembered for an hour, so a scan asks once per rep."""
        key = email.lower()
        cached = self._by_email.get(key)
        if cached and time.monotonic() - cached[0] < LOOKUP_TTL:
            return cached[1]
        try:
            user_id: str | None = self.client.users_lookupByEmail(email=email)["user"]["id"]
        except SlackApiError as exc:
            if exc.response.get("error") != "users_not_found":
                raise
            user_id = None
        self._by_email[key] = (time.monotonic(), user_id)
        return user_id

    def user_timezone(self, user_id: str) -> str | None:
        if user_id not in self._tz:
            try:
                self._tz[user_id] = self.client.users_info(user=user_id)["user"].get("tz")
            except SlackApiError:
                log.warning("users.info failed for %s; using UTC", user_id)
                return None
        return self._tz[user_id]

    def post_card(self, channel: str, blocks: list[dict], text: str) -> PostedCard:
        resp = self.client.chat_postMessage(channel=channel, blocks=blocks, text=text, unfurl_links=False)
        posted_channel, ts = resp["channel"], resp["ts"]
        permalink = None
        try:
            permalink = self.client.chat_getPermalink(channel=posted_channel, message_ts=ts)["permalink"]
        except SlackApiError:
            log.warning("no permalink for %s/%s", posted_channel, ts)
        return PostedCard(channel=posted_channel, ts=ts, permalink=permalink)

    def update_card(self, channel: str, ts: str, blocks: list[dict], text: str) -> None:
        self.client.chat_update(channel=channel, ts=ts, blocks=blocks, text=text)
