"""Sign-in state shared by customers and staff: password hash, lockout, sessions."""
import datetime

from persistent import Persistent

LOCKOUT_THRESHOLD = 5
LOCKOUT_WINDOW = datetime.timedelta(minutes=15)
LOCKOUT_DURATION = datetime.timedelta(minutes=15)


class Credentials(Persistent):
    """Mixin for principals that sign in.

    The lockout state lives here, in the database, so it holds across every
    process serving the portal. ``session_generation`` grows whenever all
    other sessions must end (password change, reset, disabling).
    """

    # Class-level defaults keep old pickles loadable when attributes are added.
    password_hash = None
    session_generation = 0
    failed_logins = ()
    locked_until = None
    disabled = False

    @property
    def principal_id(self):
        raise NotImplementedError

    def is_locked(self, now):
        return self.locked_until is not None and now < self.locked_until

    def record_failed_login(self, now):
        """Count a failed login; lock the account past the threshold."""
        recent = tuple(t for t in self.failed_logins if now - t < LOCKOUT_WINDOW)
        recent += (now,)
        self.failed_logins = recent
        if len(recent) >= LOCKOUT_THRESHOLD:
            self.locked_until = now + LOCKOUT_DURATION
            self.failed_logins = ()

    def record_successful_login(self):
        if self.failed_logins:
            self.failed_logins = ()
        if self.locked_until is not None:
            self.locked_until = None

    def unlock(self):
        self.failed_logins = ()
        self.locked_until = None

    def end_other_sessions(self):
        """Invalidate every session issued so far (checked on each request)."""
        self.session_generation += 1
