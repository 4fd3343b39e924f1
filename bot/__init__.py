"""followup: the domain — settings, models, triggers, drafting, services, jobs and CLI."""
