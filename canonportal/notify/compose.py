"""The notifier's mails, written for one recipient in their language: a due-date reminder
listing the invoices with a link to SALDOS with them ticked, and the monthly statement with
its PDFs. Each has a text and an HTML part, the company's name and support address, and the
recipient's one-click unsubscribe link, also in ``List-Unsubscribe`` (RFC 2369) with
``List-Unsubscribe-Post`` (RFC 8058).
"""
import html
from dataclasses import dataclass, field
from urllib.parse import urlencode

from pyramid_mailer.message import Attachment

from .. import formatting
from ..i18n import _, localizer_for, ngettext
from ..payments.form import MAX_MARKED, PAY_PARAM
from ..resources.notices import REMINDERS, STATEMENTS
from . import unsubscribe

#: The days before or after the due date, as each invoice's line says them.
DAYS_LEFT = ngettext('vence en ${count} día', 'vence en ${count} días')
DAYS_LATE = ngettext('vencida hace ${count} día', 'vencida hace ${count} días')


@dataclass
class Letterhead:
    """What every mail of one run shares: the company, its support address, the public URL,
    the moment, and the root (the unsubscribe tokens are stored there)."""

    company: str
    support: str
    public_url: str
    now: object
    root: object

    @classmethod
    def from_settings(cls, settings, root, now):
        return cls(settings.get('canonportal.company_name', 'Canon Mexicana'),
                   settings.get('canonportal.support_email', 'itportalsupport@cusa.canon.com'),
                   settings.get('canonportal.public_url', '').rstrip('/'), now, root)


@dataclass
class Outgoing:
    """One mail ready to be delivered and recorded."""

    to: str
    principal_id: str
    kind: str
    subject: str
    text: str
    html: str
    headers: dict
    attachments: list = field(default_factory=list)
    invoices: tuple = ()
    detail: str = ''


class Writer:
    """Translation and formatting in one recipient's language."""

    def __init__(self, language):
        self.language = language
        self.localizer = localizer_for(language)

    def __call__(self, message, **mapping):
        return self.localizer.translate(message, mapping=mapping or None)

    def plural(self, message, number):
        return self.localizer.pluralize(message.singular, message.plural, number,
                                        domain='canonportal', mapping={'count': number})

    def money(self, value, currency):
        return formatting.money(value, currency, self.language)

    def day(self, value):
        return formatting.day(value, self.language)


def _greeting(write, person):
    return write(_('Hola ${name},'), name=person.display_name)


def _when(write, invoice, today):
    days = (today - invoice.due).days
    if days < 0:
        return write.plural(DAYS_LEFT, -days)
    if days == 0:
        return write(_('vence hoy'))
    return write.plural(DAYS_LATE, days)


def saldos_link(letterhead, customer, invoices):
    """SALDOS with ``invoices`` ticked (``?pagar=`` once per invoice, as many as it reads)."""
    query = urlencode([(PAY_PARAM, invoice.key) for invoice in invoices[:MAX_MARKED]])
    return f'{letterhead.public_url}/customers/{customer.rfc}/saldos?{query}'


def _totals(write, invoices):
    totals = {}
    for invoice in invoices:
        totals[invoice.currency] = totals.get(invoice.currency, 0) + invoice.left_to_pay
    return ', '.join(write.money(total, currency) for currency, total in sorted(totals.items()))


def reminder(letterhead, customer, recipient, invoices, today):
    """The reminder of ``invoices`` (those of one step ``recipient`` may see) for
    ``recipient``, an :class:`Outgoing`."""
    write = Writer(recipient.language)
    worst = max((today - invoice.due).days for invoice in invoices)
    subject_text = (_('Facturas por vencer de ${customer}') if worst < 0 else
                    _('Facturas que vencen hoy de ${customer}') if worst == 0 else
                    _('Facturas vencidas de ${customer}'))
    subject = write(subject_text, customer=customer.name)
    headings = (write(_('Factura')), write(_('Cuenta')), write(_('Vencimiento')),
                write(_('Saldo por pagar')), '')
    rows = [(invoice.key, invoice.account, write.day(invoice.due),
             write.money(invoice.left_to_pay, invoice.currency), _when(write, invoice, today))
            for invoice in invoices]
    link = saldos_link(letterhead, customer, invoices)
    intro = write(_('Le recordamos estas facturas de ${customer} (RFC ${rfc}) con ${company}:'),
                  customer=customer.name, rfc=customer.rfc, company=letterhead.company)
    total = write(_('Total por pagar: ${total}'), total=_totals(write, invoices))
    pay = write(_('Para pagarlas entre a SALDOS, donde ya quedan marcadas:'))
    paid = write(_('Si ya las pagó, ignore este mensaje: el pago se refleja cuando nuestro '
                   'sistema lo aplica.'))
    return _finish(letterhead, customer, recipient, REMINDERS, subject, write, [
        ('p', _greeting(write, recipient.person)), ('p', intro), ('table', (headings, rows)),
        ('p', total), ('link', (pay, link)), ('p', paid)],
        invoices=tuple(invoice.key for invoice in invoices))


def statement(letterhead, customer, recipient, month_first, month_last, pdfs):
    """The monthly statement mail: ``pdfs`` is ``[(account, PDF bytes)]`` of the accounts
    ``recipient`` may see."""
    write = Writer(recipient.language)
    period = f'{write.day(month_first)} – {write.day(month_last)}'
    subject = write(_('Estado de cuenta de ${customer}, ${month}'), customer=customer.name,
                    month=month_first.strftime('%m/%Y'))
    intro = write(_('Adjuntamos el estado de cuenta de ${customer} (RFC ${rfc}) con ${company} '
                    'del periodo ${period}, uno por cuenta: ${accounts}.'),
                  customer=customer.name, rfc=customer.rfc, company=letterhead.company,
                  period=period, accounts=', '.join(account for account, _pdf in pdfs))
    look = write(_('Sus estados de cuenta y facturas están en el portal:'))
    attachments = [Attachment(f'estado-de-cuenta-{customer.rfc}-{account}-'
                              f'{month_first.strftime("%Y-%m")}.pdf', 'application/pdf', pdf)
                   for account, pdf in pdfs]
    return _finish(letterhead, customer, recipient, STATEMENTS, subject, write, [
        ('p', _greeting(write, recipient.person)), ('p', intro),
        ('link', (look, f'{letterhead.public_url}/customers/{customer.rfc}/estados-de-cuenta'))],
        attachments=attachments,
        detail=f'{",".join(account for account, _pdf in pdfs)} {month_first.strftime("%Y-%m")}')


#: The footer's words for each kind of mail.
WHY = {
    REMINDERS: _('Recibe los recordatorios de vencimiento como contacto de ${customer} en el '
                 'Portal clientes de ${company}; en «Mis correos» elige qué recibe.'),
    STATEMENTS: _('Recibe el estado de cuenta mensual como contacto de ${customer} en el '
                  'Portal clientes de ${company}; en «Mis correos» elige qué recibe.'),
}
STOP = {
    REMINDERS: _('Para no recibir más recordatorios abra este enlace:'),
    STATEMENTS: _('Para no recibir más estados de cuenta por correo abra este enlace:'),
}


def _finish(letterhead, customer, recipient, kind, subject, write, blocks, attachments=(),
            invoices=(), detail=''):
    """Add the footer (support address, why, unsubscribe link), write both parts and the
    headers."""
    stop_link = unsubscribe.link(letterhead.root, letterhead.public_url, recipient.person,
                                 kind, letterhead.now)
    blocks = blocks + [
        ('p', write(_('Dudas: ${support}. ${company}'), support=letterhead.support,
                    company=letterhead.company)),
        ('small', write(WHY[kind], company=letterhead.company, customer=customer.name)),
        ('link', (write(STOP[kind]), stop_link))]
    headers = {'List-Unsubscribe': f'<{stop_link}>',
               'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click'}
    return Outgoing(recipient.address, recipient.person.principal_id, kind, subject,
                    text_part(blocks), html_part(subject, blocks), headers, list(attachments),
                    invoices, detail)


def text_part(blocks):
    lines = []
    for kind, content in blocks:
        if kind == 'table':
            headings, rows = content
            widths = [max(len(str(row[i])) for row in (headings,) + tuple(rows))
                      for i in range(len(headings))]
            for row in (headings,) + tuple(rows):
                lines.append('  ' + '  '.join(str(cell).ljust(width)
                                              for cell, width in zip(row, widths)).rstrip())
        elif kind == 'link':
            text, url = content
            lines.append(f'{text}\n{url}')
        else:
            lines.append(content)
        lines.append('')
    return '\n'.join(lines)


def html_part(title, blocks):
    esc = html.escape
    parts = [f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{esc(title)}</title>'
             '</head><body style="font-family:Arial,sans-serif;color:#222">']
    for kind, content in blocks:
        if kind == 'table':
            headings, rows = content
            parts.append('<table cellpadding="4" style="border-collapse:collapse"><tr>'
                         + ''.join(f'<th align="left">{esc(h)}</th>' for h in headings) + '</tr>')
            for row in rows:
                parts.append('<tr>' + ''.join(f'<td>{esc(str(c))}</td>' for c in row) + '</tr>')
            parts.append('</table>')
        elif kind == 'link':
            text, url = content
            parts.append(f'<p>{esc(text)}<br><a href="{esc(url)}">{esc(url)}</a></p>')
        elif kind == 'small':
            parts.append(f'<p style="font-size:small;color:#666">{esc(content)}</p>')
        else:
            parts.append(f'<p>{esc(content)}</p>')
    parts.append('</body></html>')
    return '\n'.join(parts)
