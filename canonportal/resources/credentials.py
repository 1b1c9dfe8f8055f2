"""Sign-in state shared by customers and staff: password hash, lockout, sessions."""
import datetime
import secrets

from persistent import Persistent

from .. import clock

LOCKOUT_THRESHOLD = 5
LOCKOUT_WINDOW = datetime.timedelta(minutes=15)
LOCKOUT_DURATION = datetime.timedelta(minutes=15)
#: Failures kept per user: enough to decide a lock, bounded whatever the attack.
KEPT_FAILURES = 2 * LOCKOUT_THRESHOLD


class LoginAttempts(Persistent):
    """The failed sign-ins and the lock of one user, apart from the user.

    Many sign-ins on one account at once all write here; two transactions that
    both added a failure are merged by :meth:`_p_resolveConflict` instead of one
    of them failing with a ConflictError. Each failure is its own entry (time and
    a random id), so failures at the same instant are all counted.
    """

    failures = ()        # ((datetime, id), ...), oldest first
    locked_until = None
    cleared_at = None    # failures before this are forgiven (success, unlock, a lock)

    def recent(self, now):
        return tuple(f for f in self.failures
                     if now - f[0] < LOCKOUT_WINDOW
                     and (self.cleared_at is None or f[0] >= self.cleared_at))

    def add_failure(self, now):
        recent = self.recent(now) + ((now, secrets.token_hex(8)),)
        self.failures = recent[-KEPT_FAILURES:]
        if len(recent) >= LOCKOUT_THRESHOLD and not self.is_locked(now):
            self.locked_until = now + LOCKOUT_DURATION
            # The failures that caused this lock are spent.
            self.cleared_at = now

    def is_locked(self, now):
        return self.locked_until is not None and now < self.locked_until

    def clear(self, now, unlock=False):
        if self.failures:
            self.failures = ()
        self.cleared_at = now
        if unlock:
            self.locked_until = None

    def _p_resolveConflict(self, old, committed, new):
        """Merge two concurrent updates: every failure of both, the later lock and the
        later clearing (an unlock stays an unlock when nothing locked again meanwhile)."""
        old = old or {}

        def later(name):
            values = [v for v in (committed.get(name), new.get(name)) if v is not None]
            return max(values) if values else None

        merged = dict(new)
        cleared = later('cleared_at')
        failures = sorted(set(committed.get('failures', ())) | set(new.get('failures', ())))
        kept = tuple(f for f in failures if cleared is None or f[0] >= cleared)
        merged['failures'] = kept[-KEPT_FAILURES:]
        merged['cleared_at'] = cleared
        locks = {committed.get('locked_until'), new.get('locked_until')}
        if None in locks and old.get('locked_until') in locks:
            # One side unlocked what the other left as it was: the unlock wins.
            merged['locked_until'] = None if old.get('locked_until') is not None else later(
                'locked_until')
        else:
            merged['locked_until'] = later('locked_until')
        return merged


class Credentials(Persistent):
    """Mixin for principals that sign in.

    The lockout state lives here, in the database, so it holds across every
    process serving the portal. ``session_generation`` grows whenever all
    other sessions must end (password change, reset, disabling).
    """

    # Class-level defaults keep old pickles loadable when attributes are added.
    password_hash = None
    session_generation = 0
    disabled = False
    login_attempts = None
    #: The person's own choices of the portal's mails ({kind: bool}, resources.notices;
    #: a kind not in it follows the company's default) and the language they read them in.
    mail_choices = None
    language = None

    @property
    def principal_id(self):
        raise NotImplementedError

    @property
    def shut_out(self):
        """Whether this principal is kept out of the portal: no session, no sign-in, no
        mailed link (reset, activation, invitation) works. The one predicate for every
        such check; a company's people are also shut out while their company is
        (:class:`~canonportal.resources.company_user.CompanyUser`)."""
        return bool(self.disabled)

    def _attempts(self):
        """The user's :class:`LoginAttempts`, made on first need (written once)."""
        attempts = self.login_attempts
        if attempts is None:
            attempts = self.login_attempts = LoginAttempts()
        return attempts

    @property
    def failed_logins(self):
        """The recent failures still counting towards a lock (times)."""
        attempts = self.login_attempts
        if attempts is None:
            return ()
        return tuple(t for t, _ in attempts.recent(clock.utcnow()))

    @property
    def locked_until(self):
        attempts = self.login_attempts
        return attempts.locked_until if attempts is not None else None

    def is_locked(self, now):
        attempts = self.login_attempts
        return attempts is not None and attempts.is_locked(now)

    def record_failed_login(self, now):
        """Count a failed login; lock the account past the threshold."""
        self._attempts().add_failure(now)

    def record_successful_login(self, now=None):
        attempts = self.login_attempts
        if attempts is not None and (attempts.failures or attempts.locked_until is not None):
                attempts.clear(now or clock.utcnow(), unlock=True)

    def unlock(self):
        attempts = self.login_attempts
        if attempts is not None:
                attempts.clear(clock.utcnow(), unlock=True)

    def end_other_sessions(self):
        """Invalidate every session issued so far (checked on each request)."""
        self.session_generation += 1
