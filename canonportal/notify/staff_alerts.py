"""The notifier's mail to the staff: once a day, while any payment's complement (REP) is
past its legal deadline, the operators and administrators with an address get the list of
them (what to stamp, for which customer, since when), with a link to the dashboard.

The day it went out is kept on the root (``complements_alert_day``), so a second run the
same day, or on another app server, sends nothing; the mail is in the staff's audit log.
"""
from collections import Counter

from .. import audit
from ..complements import deadline_day, missing_complements
from ..i18n import _, ngettext
from ..resources.staff import ADMIN, OPERATOR
from .compose import Writer, html_part, text_part

#: The audit action of the staff's daily mail about late payment complements.
ACTION = 'notify.complements-overdue'
SUBJECT = ngettext('${count} pago sin complemento de pago (REP) pasó su fecha límite',
                   '${count} pagos sin complemento de pago (REP) pasaron su fecha límite')
#: Rows listed in the mail; the dashboard has them all.
SHOWN = 50


def staff_recipients(root):
    """The operators and administrators who have an address, by username."""
    return [person for person in root.staff.values()
            if person.role in (OPERATOR, ADMIN) and person.email]


def overdue_mail(write, rows, today, dashboard):
    """``(subject, text, html)`` of the list of ``rows`` (``Missing``, all overdue)."""
    subject = write.plural(SUBJECT, len(rows))
    table = [(row.payment.reference, row.customer.rfc, write.day(row.paid_on),
              write.day(row.deadline), str((today - row.deadline).days),
              ', '.join(row.invoice_keys))
             for row in rows[:SHOWN]]
    blocks = [
        ('p', write(_('Estos pagos recibidos siguen sin su complemento de pago (CFDI tipo P) y ya '
                      'pasó el día que la ley da para emitirlo. Emítalos en el ERP e impórtelos '
                      'al portal.'))),
        ('table', ((write(_('Referencia de pago')), write(_('Cliente')), write(_('Pagado')),
                    write(_('Fecha límite')), write(_('Días de atraso')), write(_('Facturas'))),
                   table)),
    ]
    if len(rows) > SHOWN:
        blocks.append(('p', write(_('Se muestran ${shown} de ${count}; el tablero los muestra '
                                    'todos.'), shown=SHOWN, count=len(rows))))
    blocks.append(('link', (write(_('Tablero del portal:')), dashboard)))
    return subject, text_part(blocks), html_part(subject, blocks)


def complements_overdue(run):
    """Mail the staff the payments whose REP is late, once a day while any is."""
    def work():
        root = run.app_root()
        counts = Counter()
        if root.complements_alert_day == run.today:
            return counts
        rows = [row for row in missing_complements(root, run.today, deadline_day(run.settings))
                if row.overdue]
        if not rows:
            return counts
        people = staff_recipients(root)
        write = Writer('es')
        dashboard = run.settings.get('canonportal.public_url', '').rstrip('/') + '/manage/'
        subject, text, html = overdue_mail(write, rows, run.today, dashboard)
        for person in people:
            run.deliver_plain(person.email, subject, text, html)
        root.complements_alert_day = run.today
        audit.record(root, 'console:canonportal-notify', ACTION, root, '',
                     ' '.join(row.payment.reference for row in rows),
                     f'{len(rows)} pagos; a {len(people)} personas', when=run.now)
        counts['complement alert mails'] += len(people)
        counts['complements overdue'] += len(rows)
        if not people:
            counts['complement alerts nobody receives'] += 1
        return counts

    return run.once(work)
