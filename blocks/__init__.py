"""Pure Block Kit builders: domain snapshots in, validated Slack blocks and views out."""
