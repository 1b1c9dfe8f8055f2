"""Password hashing (argon2id) and the password policy."""
import functools
import importlib.resources
import os
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from translationstring import TranslationStringFactory

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
#: Sign-ins hashing or waiting to hash, at most. Each holds a waitress thread; kept
#: well under waitress's ``threads`` (8), so page requests always find a free one.
#: Past it a sign-in is answered at once with "try again in a few seconds".
DEFAULT_IN_FLIGHT = 4
_in_flight = threading.BoundedSemaphore(DEFAULT_IN_FLIGHT)


class Busy(Exception):
    """Too many sign-ins at once: this one was not attempted (ask again in a few seconds)."""

    retry_after = 5


def set_in_flight_limit(limit):
    """Allow ``limit`` sign-ins to hash or wait at once (the setting canonportal.signin_concurrency)."""
    global _in_flight
    _in_flight = threading.BoundedSemaphore(max(int(limit), 1))


def _hashing():
    """A slot to hash in: the bounded queue first (or :class:`Busy` at once), then a core."""
    gate = _in_flight
    if not gate.acquire(blocking=False):
        raise Busy()
    return _Slot(gate)


class _Slot:
    def __init__(self, gate):
        self.gate = gate

    def __enter__(self):
        HASHING.acquire()
        return self

    def __exit__(self, *exc):
        HASHING.release()
        self.gate.release()
        return False
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
    with _hashing():
        return _hasher.hash(password)


def verify_password(password_hash, password):
    """True if ``password`` matches; a missing hash still costs one verification."""
    try:
        with _hashing():
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
