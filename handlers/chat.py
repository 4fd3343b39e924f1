"""The Chat port's Slack adapter, on the official WebClient."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.ports import PostedCard

log = logging.getLogger(__name__)


class SlackChat:
    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._tz: dict[str, str | None] = {}

    def find_user_by_email(self, email: str) -> str | None:
        try:
            resp = self.client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            if exc.response.get("error") == "users_not_found":
                return None
            raise
        return resp["user"]["id"]

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
