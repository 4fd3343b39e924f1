"""Adapters: the real implementations of the ports (Slack, SMTP, Claude, the system clock)."""
