"""One run of the notifier (``canonportal-notify``): take the lease, run the daily jobs
(:data:`.jobs.JOBS`), give the lease back, and say what was done.

Safe to start twice, or on two app servers at once: the lease (``root.notify_lease``) is
taken in a transaction of its own, and of two notifiers taking it at once one commit
conflicts and the other holder wins; each customer's transaction checks it still holds it
(and renews it) before anything is recorded. What was sent is recorded per invoice and
step, per account and month: a second run finds nothing left to send.

Adding a daily job: a function of the :class:`Run` that returns a ``Counter`` of what it
did, appended to :data:`.jobs.JOBS` (or passed as ``jobs``); :meth:`Run.for_each_customer`
gives it one transaction per customer, :meth:`Run.deliver` its mails.
"""
import os
import secrets
import socket
import sys
from collections import Counter

import transaction
from tqdm import tqdm
from transaction.interfaces import TransientError

from .. import clock, mail
from ..payments.transactions import in_own_transaction
from ..resources.notices import LEASE_DURATION
from . import compose
from .jobs import JOBS


class LeaseLost(Exception):
    """Another notifier holds the lease."""


def holder_name():
    """Who this notifier is, as the lease records it: host, process and a random part (two
    runs in one process, e.g. the serving portal asked twice, are two holders)."""
    return f'{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}'


class Run:
    """What a job gets: the database (``app_root()`` in the open transaction), the day, the
    settings, the mailer, whether it is a dry run, and where to report."""

    def __init__(self, manager, connection, settings, mailer, today, now, holder,
                 dry_run=False, out=sys.stdout, progress=False):
        self.manager = manager
        self.connection = connection
        self.settings = settings
        self.mailer = mailer
        self.today = today
        self.now = now
        self.holder = holder
        self.dry_run = dry_run
        self.out = out
        self.progress = progress
        self.customers = set()     # those who got at least one mail

    def app_root(self):
        return self.connection.root()['app_root']

    def letterhead(self):
        return compose.Letterhead.from_settings(self.settings, self.app_root(), self.now)

    def deliver(self, outgoing):
        """Queue ``outgoing`` on the open transaction: it leaves when that commits (never on
        a dry run, which only says it)."""
        if self.dry_run:
            print(f'would send to {outgoing.to}: {outgoing.subject}', file=self.out)
            return
        mail.deliver(self.mailer, self.settings, outgoing.to, outgoing.subject, outgoing.text,
                     outgoing.attachments, html=outgoing.html, headers=outgoing.headers)

    def deliver_plain(self, to, subject, text, html):
        """Like :meth:`deliver`, for a mail to the staff: no attachment, no unsubscribe link."""
        if self.dry_run:
            print(f'would send to {to}: {subject}', file=self.out)
            return
        mail.deliver(self.mailer, self.settings, to, subject, text, html=html)

    def once(self, work):
        """``work()`` in one transaction of its own, like one customer's of
        :meth:`for_each_customer`; its Counter."""
        def guarded():
            if not self.dry_run:
                self._still_ours()
            return work()
        if self.dry_run:
            return _dry(self.manager, guarded)
        return in_own_transaction(self.manager, guarded, reopen=False)

    def _still_ours(self):
        if not self.app_root().notify_lease.take(self.holder, clock.utcnow(), LEASE_DURATION):
            raise LeaseLost()

    def for_each_customer(self, work, label):
        """``work(customer)`` for every customer, each in a transaction of its own (retried on
        conflicts; aborted on a dry run); the sum of the Counters it returns."""
        with self.manager:
            rfcs = list(self.app_root().customers.keys())
        total = Counter()
        for rfc in _progress(rfcs, label, self.progress):
            def one():
                if not self.dry_run:
                    self._still_ours()
                return work(self.app_root().customers[rfc])
            if self.dry_run:
                counts = _dry(self.manager, one)
            else:
                counts = in_own_transaction(self.manager, one, reopen=False)
            if any(key.endswith('mails') and value for key, value in counts.items()):
                self.customers.add(rfc)
            total.update(counts)
        return total


def _dry(manager, work):
    """``work()`` in a transaction that is always aborted: nothing recorded, nothing sent."""
    manager.begin()
    try:
        return work()
    finally:
        manager.abort()


def _progress(items, label, shown):
    """``items``, with a progress bar on a terminal (tqdm, on stderr)."""
    if not shown or not sys.stderr.isatty():
        return items
    return tqdm(items, desc=label, unit='customer', file=sys.stderr)


def take_lease(manager, app_root, holder, now):
    """Take the lease in a transaction of its own; the holder that has it when we cannot."""
    def take():
        lease = app_root().notify_lease
        return None if lease.take(holder, now, LEASE_DURATION) else lease.holder
    try:
        return in_own_transaction(manager, take, attempts=1, reopen=False)
    except TransientError:
        return 'another notifier'      # both took it at once: the one that committed won


def release_lease(manager, app_root, holder):
    in_own_transaction(manager, lambda: app_root().notify_lease.release(holder), reopen=False)


def notify(db, settings, mailer, today=None, dry_run=False, out=None, progress=False,
           jobs=None, holder=None, now=None):
    """Run the daily jobs on ``db`` for ``today`` (Mexico City's unless given); return the
    summary's Counter (``lease held`` when another notifier runs)."""
    now = now or clock.utcnow()
    today = today or clock.mexico_today()
    out = out or sys.stdout
    holder = holder or holder_name()
    manager = transaction.TransactionManager(explicit=True)
    bound = mailer.bind(transaction_manager=manager)
    connection = db.open(transaction_manager=manager)
    counts = Counter()
    try:
        app_root = lambda: connection.root()['app_root']  # noqa: E731
        # A dry run writes nothing, not even the lease.
        other = None if dry_run else take_lease(manager, app_root, holder, now)
        if other is not None:
            print(f'another notifier is running ({other}); nothing done', file=out)
            counts['lease held'] += 1
            return counts
        run = Run(manager, connection, settings, bound, today, now, holder, dry_run, out,
                  progress)
        try:
            for job in (JOBS if jobs is None else jobs):
                counts.update(job(run))
        except LeaseLost:
            print('another notifier took the lease; stopped', file=out)
            counts['lease lost'] += 1
            return counts
        finally:
            if not dry_run:
                release_lease(manager, app_root, holder)
        counts['customers'] = len(run.customers)
    finally:
        connection.close()
    print(summary(counts, dry_run), file=out)
    return counts


def summary(counts, dry_run=False):
    """``notified (2017-11-06): reminder mails: 3, statement mails: 2, customers: 2``."""
    shown = ', '.join(f'{key}: {value}' for key, value in sorted(counts.items()) if value)
    return ('dry run, nothing sent: ' if dry_run else 'notified: ') + (shown or 'nothing to send')
