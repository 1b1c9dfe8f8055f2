"""Recent events per key (account mails per account and client address, failed sign-ins
of unknown names), stored in the database like the lockout so that the limits hold
across every process serving the portal."""
import datetime
import random

from BTrees.OOBTree import OOBTree
from persistent import Persistent

WINDOW = datetime.timedelta(hours=1)
#: Keys looked at (and forgotten when stale) on each use: the table cleans itself.
SWEEP = 20
SWEEP_CHANCE = 0.05


class Throttle(Persistent):
    """``key → (times…)`` of the events of the last :data:`WINDOW` (at most)."""

    def __init__(self):
        self.sent = OOBTree()

    def allow(self, limits, now, window=WINDOW):
        """``limits`` is ``{key: most events per window}`` (a window up to :data:`WINDOW`).
        If every key is under its limit, count one event on each and return True;
        else change nothing."""
        recent = {key: tuple(t for t in self.sent.get(key, ()) if now - t < window)
                  for key in limits}
        if any(len(recent[key]) >= limit for key, limit in limits.items()):
            return False
        for key, times in recent.items():
            self.sent[key] = times + (now,)
        if random.random() < SWEEP_CHANCE:
            # Now and then: deleting keys is what makes concurrent writers collide.
            self._sweep(now, min(limits))
        return True

    def _sweep(self, now, start):
        stale = [key for key, times in self.sent.items(min=start, excludemin=True)
                 if not times or now - times[-1] >= WINDOW][:SWEEP]
        for key in stale:
            del self.sent[key]
