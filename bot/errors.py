"""Typed errors. The Slack error boundary and the CLI turn these into one clear sentence."""


class FollowupError(Exception):
    """Base class: the message is meant for a person to read."""


class ConfigError(FollowupError):
    """A setting or config value is missing or invalid; the message names it."""


class NotFound(FollowupError):
    pass


class NotAllowed(FollowupError):
    pass


class WrongState(FollowupError):
    pass


class DeliveryError(FollowupError):
    """The mail server refused or could not be reached."""


class DeliveryUnknown(FollowupError):
    """The message was handed to the mail server and no clear answer came back: it may have been delivered."""


class NoInboxSender(DeliveryError):
    """The CRM inbox can't send as this owner (no CRM user): nothing was sent; email is the way."""


class ChatDestinationError(FollowupError):
    """Slack will not take a message for that channel or person (not a member, archived, unknown)."""
