"""What the notifier mails and to whom, read from one customer's records; nothing is written.

* :func:`due_reminders`: the customer's open invoices that reached a step of the schedule
  (days relative to the due date: ``canonportal.reminder_steps``) whose reminder was not
  sent yet, grouped by step. An invoice gets the latest step it reached (a day the notifier
  did not run is caught up the next, never with an earlier step's words), never one twice.
  Left out: paid invoices, those whose whole balance is in transit (payments in progress
  hold it), those a colleague's request awaiting approval reserves, and every invoice of a
  company staff stopped reminding or disabled.
* :func:`statement_accounts`: the accounts whose statement of the previous month is due.
* :func:`recipients`: the company's people who receive a kind of mail, each with the
  accounts they may see; the ERP's address while the company has nobody signed up.
"""
import datetime
from dataclasses import dataclass

from ..reports.statement_data import previous_month
from ..resources.notices import language_of, wants
from ..resources.payment import REQUESTED

#: The default schedule: days relative to the due date (negative: before it).
DEFAULT_STEPS = '-5 0 7 15 30'
#: Bounds of the schedule an ini may give.
MAX_STEPS = 10
EARLIEST_STEP, LATEST_STEP = -60, 365
#: The monthly statements go out from the 1st to this day of the month (a missed run is
#: caught up within it, never later).
DEFAULT_STATEMENT_LAST_DAY = 10


def reminder_steps(settings):
    """The schedule of ``canonportal.reminder_steps``, sorted; ValueError when it is not a
    few whole numbers of days between -60 and 365."""
    text = settings.get('canonportal.reminder_steps', DEFAULT_STEPS) or ''
    try:
        steps = sorted({int(word) for word in text.split()})
    except ValueError:
        raise ValueError(f'canonportal.reminder_steps: whole numbers of days, not {text!r}')
    if not steps or len(steps) > MAX_STEPS or not (
            EARLIEST_STEP <= steps[0] and steps[-1] <= LATEST_STEP):
        raise ValueError(f'canonportal.reminder_steps: 1 to {MAX_STEPS} numbers of days '
                         f'from {EARLIEST_STEP} to {LATEST_STEP}, not {text!r}')
    return steps


def statement_last_day(settings):
    try:
        day = int(settings.get('canonportal.statement_last_day', DEFAULT_STATEMENT_LAST_DAY))
    except ValueError:
        raise ValueError('canonportal.statement_last_day: a day of the month, 1 to 28')
    if not 1 <= day <= 28:
        raise ValueError('canonportal.statement_last_day: a day of the month, 1 to 28')
    return day


def mailable(customer):
    """Whether the notifier mails this company at all (staff did not disable it)."""
    return not customer.disabled


def awaiting_approval(customer):
    """The references of the customer's requests awaiting an approver."""
    return {reference for reference, payment in (customer.in_progress or {}).items()
            if payment.state == REQUESTED}


def reminder_step(invoice, today, steps):
    """The latest step of ``steps`` ``invoice`` reached on ``today``, or None."""
    days = (today - invoice.due).days
    reached = [step for step in steps if days >= step]
    return reached[-1] if reached else None


def due_reminders(customer, today, steps):
    """``{step: [invoice, …]}`` of the reminders to send ``customer`` on ``today``."""
    if customer.reminders_off or not mailable(customer) or customer.open_invoices is None:
        return {}
    waiting = awaiting_approval(customer)
    sent = customer.notices
    due = {}
    # The open invoices in due-date order, up to those due on the earliest step's day.
    horizon = today - datetime.timedelta(days=steps[0]) + datetime.timedelta(days=1)
    for invoice in customer.open_invoices.due_before(horizon):
        if invoice.due is None or invoice.balance <= 0 or invoice.left_to_pay <= 0:
            continue
        if any(reference in waiting for reference, _amount in invoice.reservations):
            continue
        step = reminder_step(invoice, today, steps)
        if step is None or step in sent.steps_sent(invoice):
            continue
        due.setdefault(step, []).append(invoice)
    return due


def statement_month(today):
    """``(first day, last day, 'YYYY-MM')`` of the month before ``today``'s."""
    first, last = previous_month(today)
    return first, last, first.strftime('%Y-%m')


def statement_accounts(customer, today, last_day=DEFAULT_STATEMENT_LAST_DAY):
    """The accounts of ``customer`` whose statement of the previous month is due on ``today``
    (from the 1st to ``last_day``), not sent yet, and with an invoice issued by its end."""
    if today.day > last_day or not mailable(customer):
        return []
    _first, last, month = statement_month(today)
    with_invoices = {invoice.account for invoice in customer.invoices.values()
                     if invoice.issued is not None and invoice.issued <= last}
    return [account for account in customer.accounts
            if account in with_invoices and not customer.notices.statement_sent(account, month)]


@dataclass(frozen=True)
class Recipient:
    """One person a kind of mail goes to: whom (their credentials), the address, the language,
    and which accounts they may see (None: all the company's)."""

    person: object
    address: str
    language: str
    accounts: frozenset = None

    def sees(self, account):
        return self.accounts is None or account in self.accounts


def _signed_up(customer):
    """The company's people who may receive mail: the company's own credentials once
    activated with a confirmed address, and the colleagues who accepted their invitation;
    none of them disabled."""
    people = []
    if customer.activated and customer.email:
        people.append((customer, customer.email, None))
    for user in (customer.users.values() if customer.users is not None else ()):
        if user.email and user.password_hash is not None and not user.shut_out:
            people.append((user, user.email, frozenset(user.accounts) or None))
    return people


def recipients(customer, kind):
    """The people of ``customer`` who receive ``kind`` (:data:`~..resources.notices.REMINDERS`
    or ``STATEMENTS``), one per address; while nobody of the company signed up, the address
    the ERP gave (as the company's own credentials, whose choice it follows)."""
    if not mailable(customer):
        return []
    people = _signed_up(customer)
    if not people and customer.contact_email:
        people = [(customer, customer.contact_email.strip().lower(), None)]
    found, seen = [], set()
    for person, address, accounts in people:
        if address in seen or not wants(person, kind, customer):
            continue
        seen.add(address)
        found.append(Recipient(person, address, language_of(person), accounts))
    return found
