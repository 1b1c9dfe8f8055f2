"""The one place the portal asks for the time, so tests can move it."""
import datetime

UTC = datetime.timezone.utc


def utcnow():
    """Return the current time as an aware UTC datetime."""
    return datetime.datetime.now(UTC)
