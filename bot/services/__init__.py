"""Use cases: each takes its dependencies explicitly and returns domain snapshots, never Slack payloads."""
