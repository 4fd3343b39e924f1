"""Local servers that answer like Slack, Claude and an SMTP relay, for the real clients to talk to."""
