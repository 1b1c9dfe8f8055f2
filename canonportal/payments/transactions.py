"""A piece of work committed in a transaction of its own, retried on write conflicts.

Whatever talked to a bank must never be run again by a retry of the whole
request (pyramid_retry) or of a console script: only the short write after it
is retried, here. The sign-in uses it too: argon2 and the wait for it run once,
only its writes are retried (``views.auth.login``).
"""
import logging
import random
import time

from transaction.interfaces import NoTransaction, TransientError

log = logging.getLogger(__name__)

#: Seconds: the random pause before retry n is at most BACKOFF_BASE * 2**n, and BACKOFF_CAP.
BACKOFF_BASE = 0.005
BACKOFF_CAP = 0.25


def in_own_transaction(tm, work, attempts=5, reopen=True):
    """Commit ``work()`` on its own with transaction manager ``tm`` and return its result.

    Whatever ``tm`` had open is aborted first. Between attempts the thread waits
    a random, growing pause: a burst of payers retrying in lockstep would
    otherwise collide again on the shared indexes. Any other exception aborts
    and propagates. With ``reopen`` a new transaction is open afterwards, so a
    request goes on as pyramid_tm expects; a script with an explicit transaction
    manager passes False.
    """
    try:
        tm.abort()
    except NoTransaction:
        pass  # the caller closed it already, e.g. before asking the bank
    try:
        for number in range(1, attempts + 1):
            tm.begin()
            try:
                result = work()
                tm.commit()
                return result
            except TransientError:
                tm.abort()
                if number == attempts:
                    raise
                log.info('conflict, attempt %d of %d', number, attempts)
                time.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** number)))
            except BaseException:
                tm.abort()
                raise
    finally:
        if reopen:
            tm.begin()
