"""What the portal mails on its own (due-date reminders, monthly statements) and to whom.

* :class:`Notices`, one per customer: the reminders already sent (per invoice, its due
  date and step), the monthly statements already sent (per account and month), and every
  such mail as staff see it on the customer's /manage page (:class:`SentMail`).
* Who wants which kind of mail: each person's own choice (``mail_choices`` on their
  credentials), else the company's default (``Customer.mail_defaults``, chosen by its
  administrators), else yes; :func:`wants`.
* :class:`NotifyLease`, the root's one lease: only its holder runs ``canonportal-notify``.
"""
import datetime

from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent

#: The kinds of mail a person may turn off (the stored names, also in unsubscribe links).
REMINDERS = 'recordatorios'
STATEMENTS = 'estados'
KINDS = (REMINDERS, STATEMENTS)

#: The languages a person may receive mails in (the portal's, :data:`canonportal.i18n.LANGUAGES`).
MAIL_LANGUAGES = ('es', 'en')

#: At most this many mails are kept per customer (the oldest are forgotten).
KEPT_MAILS = 2000


def wants(person, kind, customer):
    """Whether ``person`` (a customer's own credentials or a company user) receives ``kind``:
    their own choice when they made one, else their company's default (on unless its
    administrators turned it off)."""
    own = (getattr(person, 'mail_choices', None) or {}).get(kind)
    if own is not None:
        return own
    return (customer.mail_defaults or {}).get(kind, True)


def choose(person, kind, value):
    """Record ``person``'s own choice for ``kind``: True, False, or None (the company's)."""
    choices = dict(person.mail_choices or {})
    if value is None:
        choices.pop(kind, None)
    else:
        choices[kind] = bool(value)
    person.mail_choices = choices


def language_of(person):
    """The language ``person`` reads the portal's mails in (Spanish unless they chose)."""
    language = getattr(person, 'language', None)
    return language if language in MAIL_LANGUAGES else MAIL_LANGUAGES[0]


class SentMail:
    """One mail the notifier sent: to whom (address, person), when, which kind, its subject,
    and the invoices or the statement (account, month) it was about. Immutable."""

    __slots__ = ('to', 'principal_id', 'when', 'kind', 'subject', 'invoices', 'detail')

    def __init__(self, to, principal_id, when, kind, subject, invoices=(), detail=''):
        self.to = to
        self.principal_id = principal_id
        self.when = when
        self.kind = kind
        self.subject = subject
        self.invoices = tuple(invoices)
        self.detail = detail

    def __getstate__(self):
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state):
        for name in self.__slots__:
            setattr(self, name, state.get(name))


class Notices(Persistent):
    """One customer's record of the reminders and statements mailed."""

    def __init__(self):
        self.reminded = OOBTree()     # invoice key -> ((due iso, step), ...)
        self.statements = OOTreeSet()  # (account, 'YYYY-MM')
        self.mails = OOBTree()        # (utc iso time, n) -> SentMail

    def steps_sent(self, invoice):
        """The steps already reminded for ``invoice`` at its current due date."""
        due = invoice.due.isoformat() if invoice.due else ''
        return {step for day, step in self.reminded.get(invoice.key, ()) if day == due}

    def mark_reminded(self, invoice, step):
        due = invoice.due.isoformat() if invoice.due else ''
        done = self.reminded.get(invoice.key, ())
        if (due, step) not in done:
            self.reminded[invoice.key] = done + ((due, step),)

    def statement_sent(self, account, month):
        return (account, month) in self.statements

    def mark_statement(self, account, month):
        self.statements.add((account, month))

    def record(self, mail):
        """Keep ``mail`` (a :class:`SentMail`), forgetting the oldest past :data:`KEPT_MAILS`."""
        stamp = mail.when.isoformat()
        number = 0
        while (stamp, number) in self.mails:
            number += 1
        self.mails[(stamp, number)] = mail
        while len(self.mails) > KEPT_MAILS:
            del self.mails[self.mails.minKey()]

    def newest(self, count):
        """The ``count`` newest mails, newest first."""
        found = []
        for key in reversed(self.mails.keys()):
            found.append(self.mails[key])
            if len(found) >= count:
                break
        return found


class NotifyLease(Persistent):
    """Who runs the notifier now, until when. Taken in a transaction of its own: of two
    notifiers taking it at once one commit conflicts, and the other holder wins."""

    holder = None
    expires = None

    def held_by_other(self, holder, now):
        return self.holder not in (None, holder) and self.expires is not None and now < self.expires

    def take(self, holder, now, duration):
        """Hold the lease for ``duration`` from ``now``; False when someone else holds it."""
        if self.held_by_other(holder, now):
            return False
        self.holder, self.expires = holder, now + duration
        return True

    def release(self, holder):
        if self.holder == holder:
            self.holder, self.expires = None, None


#: How long a lease lasts unless renewed (the notifier renews it as it goes).
LEASE_DURATION = datetime.timedelta(minutes=15)
