"""Process settings from the environment (and `.env`). Nothing else reads os.environ."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = None

    database_url: str = "sqlite:///followup.db"
    followup_config: Path | None = None

    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False

    hubspot_access_token: SecretStr | None = None
    hubspot_api_url: str | None = None
    # POST /hubspot/webhook: HubSpot signs each delivery with the app's client secret (signature v3)
    hubspot_client_secret: SecretStr | None = None

    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None

    port: int = 3000

    # the mailbox that receives replies (the reps' reply-to, or a shared one), read over IMAP
    imap_host: str | None = None
    imap_port: int = 993
    imap_username: str | None = None
    imap_password: SecretStr | None = None
    imap_tls: bool = True
    imap_mailbox: str = "INBOX"
    # the app's public base URL: unsubscribe links in sent emails point here (default: this machine's port)
    public_url: str | None = None
    # POST /inbound (website forms, email forwarders): signed with this shared secret; unset, it is off
    inbound_signing_secret: SecretStr | None = None
    # GET /metrics (Prometheus): on PORT (HTTP and Socket Mode), and on this port for a process with none
    # (`followup work`, the separate worker); with METRICS_TOKEN set, a scrape must send a Bearer token
    metrics_port: int | None = None
    metrics_token: SecretStr | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    def require(self, *names: str) -> None:
        """Fail with one sentence naming the first missing variable."""
        for name in names:
            value = getattr(self, name)
            if value is None or (isinstance(value, SecretStr) and not value.get_secret_value().strip()):
                raise ConfigError(f"{name.upper()} is not set; see README.md for how to get it.")


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]).upper()
        raise ConfigError(f"{name}: {err['msg']}") from None
