"""The notifier's daily jobs, each a function of the :class:`~.run.Run` that returns its
counts: :func:`reminders`, :func:`statements` and the staff's
:func:`~.staff_alerts.complements_overdue`. Each customer is one transaction of its
own (:meth:`~.run.Run.for_each_customer`): select, compose, deliver (joined to it), record;
a commit sends its mails, a conflict retries it whole, a dry run aborts it.
"""
from collections import Counter

from ..reports.statement_pdf import range_pdf
from ..resources.notices import REMINDERS, STATEMENTS, SentMail
from . import compose
from .staff_alerts import complements_overdue
from .selection import (
    due_reminders, recipients, reminder_steps, statement_accounts, statement_last_day,
    statement_month,
)


def _send(run, customer, outgoing):
    """Deliver ``outgoing`` (on the transaction) and record it on the customer."""
    run.deliver(outgoing)
    customer.notices.record(SentMail(outgoing.to, outgoing.principal_id, run.now, outgoing.kind,
                                     outgoing.subject, outgoing.invoices, outgoing.detail))


def reminders(run):
    """One mail per customer, step and recipient listing the invoices of that step the
    recipient may see; each invoice's step recorded, whoever it reached."""
    steps = reminder_steps(run.settings)

    def one(customer):
        counts = Counter()
        due = due_reminders(customer, run.today, steps)
        if not due:
            return counts
        people = recipients(customer, REMINDERS)
        letterhead = run.letterhead()
        for step, invoices in sorted(due.items()):
            reached = 0
            for recipient in people:
                seen = [invoice for invoice in invoices if recipient.sees(invoice.account)]
                if seen:
                    _send(run, customer, compose.reminder(letterhead, customer, recipient, seen,
                                                          run.today))
                    counts['reminder mails'] += 1
                    reached += 1
            for invoice in invoices:
                customer.notices.mark_reminded(invoice, step)
            counts['invoices reminded'] += len(invoices)
            if not reached:
                counts['reminders nobody receives'] += 1
        return counts

    return run.for_each_customer(one, 'reminders')


def statements(run):
    """The statement of the previous month, one PDF per account, to each person who may see
    the account (one mail with the PDFs of the accounts they see); each account recorded."""
    last_day = statement_last_day(run.settings)
    first, last, month = statement_month(run.today)

    def one(customer):
        counts = Counter()
        accounts = statement_accounts(customer, run.today, last_day)
        if not accounts:
            return counts
        rendered = {}

        def pdf(account, language):
            key = (account, language)
            if key not in rendered:
                rendered[key] = range_pdf(customer, account, first, last,
                                          run.letterhead().company, run.now,
                                          translate=compose.Writer(language).localizer.translate,
                                          locale_name=language)
            return rendered[key]

        reached = set()
        for recipient in recipients(customer, STATEMENTS):
            mine = [account for account in accounts if recipient.sees(account)]
            if mine:
                pdfs = [(account, pdf(account, recipient.language)) for account in mine]
                _send(run, customer, compose.statement(run.letterhead(), customer, recipient,
                                                       first, last, pdfs))
                counts['statement mails'] += 1
                reached.update(mine)
        for account in accounts:
            customer.notices.mark_statement(account, month)
        counts['statements nobody receives'] += len(set(accounts) - reached)
        return counts

    return run.for_each_customer(one, 'statements')


#: The daily jobs, in order. Another one is a function of the Run returning a Counter.
JOBS = [reminders, statements, complements_overdue]
