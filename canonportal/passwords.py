"""Password hashing (argon2id) and the password policy."""
import collections
import contextlib
import functools
import importlib.resources
import logging
import os
import threading
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from translationstring import TranslationStringFactory

log = logging.getLogger(__name__)

# The same domain as canonportal.i18n, without importing Pyramid.
_ = TranslationStringFactory('canonportal')

MIN_LENGTH = 12

# OWASP's minimum for argon2id: m=19 MiB, t=2, p=1. Settings may raise them; the tests
# lower them (canonportal.argon2_time_cost, canonportal.argon2_memory_kib).
DEFAULT_TIME_COST = 2
DEFAULT_MEMORY_KIB = 19 * 1024
_hasher = PasswordHasher(time_cost=DEFAULT_TIME_COST, memory_cost=DEFAULT_MEMORY_KIB,
                         parallelism=1)
#: Hashes computed at once. Each holds 19 MiB of memory and a core for a moment; one
#: core is always left to the pages (a storm of sign-ins slowed every other customer).
HASHING = threading.BoundedSemaphore(max((os.cpu_count() or 2) - 1, 1))
#: Sign-ins hashing or waiting for a core, at most (canonportal.signin_concurrency).
DEFAULT_IN_FLIGHT = 4
#: Sign-ins waiting for one of those places, at most (canonportal.signin_queue): with the
#: places, waitress's 8 threads. Past it a sign-in is answered at once with "try again in
#: a few seconds"; behind deploy/'s nginx, its sign-in queue lets only a few in at a time.
DEFAULT_QUEUE = 4
#: The longest a sign-in waits for a place (canonportal.signin_wait_seconds); then "try again".
DEFAULT_WAIT_SECONDS = 5.0
MAX_WAIT_SECONDS = 60.0


class Busy(Exception):
    """Too many sign-ins at once: this one was not attempted (ask again in a few seconds)."""

    retry_after = 5


class SignInGate:
    """Who may hash now: ``places`` sign-ins hash or wait for a core; up to ``queue`` more
    wait their turn, first come first served, for at most ``wait`` seconds. Past the queue,
    or after the wait, :class:`Busy`. A waiting sign-in holds its thread, so the queue is
    short; the queue for real bursts is nginx's (deploy/nginx/canonportal.conf)."""

    def __init__(self, places=DEFAULT_IN_FLIGHT, queue=DEFAULT_QUEUE, wait=DEFAULT_WAIT_SECONDS):
        self.places, self.queue, self.wait = places, queue, wait
        self.inside = 0             # hashing or waiting for a core
        self._waiters = collections.deque()
        #: Notified whenever someone enters, leaves or starts waiting.
        self.changed = threading.Condition()

    @property
    def waiting(self):
        return len(self._waiters)

    def enter(self):
        """Take a place, waiting for one if need be; :class:`Busy` past the queue or the wait."""
        with self.changed:
            if self.inside < self.places and not self._waiters:
                self.inside += 1
                return
            if len(self._waiters) >= self.queue:
                log.info('sign-in refused: %d in the gate and %d waiting (its queue is full)',
                         self.inside, len(self._waiters))
                raise Busy()
            ticket = object()
            self._waiters.append(ticket)
            self.changed.notify_all()
            started = time.monotonic()
            try:
                if not self.changed.wait_for(
                        lambda: self.inside < self.places and self._waiters[0] is ticket,
                        timeout=self.wait):
                    log.info('sign-in refused: waited %.1f s, %d in the gate, %d waiting, '
                             'its place in the queue %d', time.monotonic() - started,
                             self.inside, len(self._waiters), self._waiters.index(ticket) + 1)
                    raise Busy()
                self.inside += 1
            finally:
                self._waiters.remove(ticket)
                self.changed.notify_all()

    def leave(self):
        with self.changed:
            self.inside -= 1
            self.changed.notify_all()

    @contextlib.contextmanager
    def hashing(self):
        """A place (or :class:`Busy`), then a core: the one way to run argon2 here."""
        self.enter()
        try:
            with HASHING:
                yield
        finally:
            self.leave()


_gate = SignInGate()


def gate_from_settings(settings):
    """The sign-in gate the ini settings ask for (the defaults when they say nothing)."""
    places = int(settings.get('canonportal.signin_concurrency', DEFAULT_IN_FLIGHT))
    queue = int(settings.get('canonportal.signin_queue', DEFAULT_QUEUE))
    wait = float(settings.get('canonportal.signin_wait_seconds', DEFAULT_WAIT_SECONDS))
    if places < 1 or queue < 0 or not 0 <= wait <= MAX_WAIT_SECONDS:
        raise ValueError('canonportal.signin_concurrency must be >= 1, canonportal.signin_queue '
                         f'>= 0 and canonportal.signin_wait_seconds between 0 and {MAX_WAIT_SECONDS:g}')
    return SignInGate(places, queue, wait)


def set_gate(gate):
    """Hash behind ``gate`` from now on (canonportal.configure, from the settings)."""
    global _gate
    _gate = gate


def current_gate():
    return _gate


# Verified against when the user does not exist, so both cases cost the same.
_DUMMY_HASH = _hasher.hash('an unused password to equalise timing')


def cost_from_settings(settings):
    """``(time cost, memory in KiB)`` of argon2id from the ini settings (OWASP's minimum
    when they say nothing); argon2's own floor is 1 pass over 8 KiB."""
    time_cost = int(settings.get('canonportal.argon2_time_cost', DEFAULT_TIME_COST))
    memory_kib = int(settings.get('canonportal.argon2_memory_kib', DEFAULT_MEMORY_KIB))
    if time_cost < 1 or memory_kib < 8:
        raise ValueError('canonportal.argon2_time_cost must be >= 1 and '
                         'canonportal.argon2_memory_kib >= 8')
    return time_cost, memory_kib


def set_cost(time_cost, memory_kib):
    """Hash new passwords with this cost. Stored hashes keep the cost they were made
    with (argon2 writes it into the hash), so they verify whatever is set."""
    global _hasher, _DUMMY_HASH
    if (_hasher.time_cost, _hasher.memory_cost) == (time_cost, memory_kib):
        return
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
    _DUMMY_HASH = _hasher.hash('an unused password to equalise timing')


def current_cost():
    return _hasher.time_cost, _hasher.memory_cost


def hash_password(password):
    with _gate.hashing():
        return _hasher.hash(password)


def verify_password(password_hash, password):
    """True if ``password`` matches; a missing hash still costs one verification."""
    try:
        with _gate.hashing():
            matches = _hasher.verify(password_hash or _DUMMY_HASH, password)
        return matches and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@functools.lru_cache(maxsize=1)
def common_passwords():
    text = importlib.resources.files('canonportal').joinpath(
        'data/common-passwords.txt').read_text('utf-8')
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith('#'))


def password_problem(password, forbidden=()):
    """Return a Spanish message (a translation string) saying why ``password`` is refused, or None.

    No composition rules: length, the common list, and the user's own
    identifiers (the RFC, the username) are what matter.
    """
    if len(password) < MIN_LENGTH:
        # The msgid states MIN_LENGTH literally (as activate.pt does), so that
        # the message also reads well untranslated, e.g. in canonportal-adduser.
        return _('La contraseña debe tener al menos 12 caracteres.')
    folded = password.strip().lower()
    if folded in common_passwords():
        return _('Esa contraseña es demasiado común; elija otra.')
    for word in forbidden:
        if word and word.lower() in folded:
            return _('La contraseña no puede contener su RFC ni su usuario.')
    return None
