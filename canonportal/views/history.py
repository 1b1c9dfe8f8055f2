"""The customer's Historial de pagos page and its CSV download.

One row per invoice paid (per allocation of a payment), newest first, read from the
customer's index (``resources.payment_history``): a page loads only the payments it shows;
filtered by account, by month of the payment date in Mexico City and by
the payment's state. Attempts that paid nothing (declined, cancelled, expired)
are listed too, marked, so a customer can see what became of each try.
"""
import re
from urllib.parse import quote

from pyramid.renderers import render_to_response
from pyramid.response import Response
from pyramid.view import view_config

from ..csvsafe import csv_bytes
from ..formatting import local_time
from ..i18n import _
from ..money import ZERO
from ..payments.applied import applied_line
from ..resources import Customer
from ..resources.payment import (
    APPLIED, APPROVED, CANCELLED, DECLINED, EXPIRED, PENDING, REFUND_NEEDED, REQUESTED, REVIEW,
)
from ..resources.payment_history import PaymentHistory
from . import settings_of
from .complement_lists import ZIP_NAME, of_payment
from .customer import page, sees, visible_accounts

VIEW_NAME = 'historial-de-pagos'
CSV_NAME = 'historial-de-pagos.csv'
TEMPLATE = 'canonportal:templates/history.pt'
PAGE_SIZE = 100

#: Query parameters of the filters and the page number.
ACCOUNT_PARAM = 'cuenta'
MONTH_PARAM = 'mes'
STATE_PARAM = 'estado'
USER_PARAM = 'usuario'
PAGE_PARAM = 'pagina'

#: Only approved and applied payments count as paid. Pending and review ones
#: are marked and not counted; so are payments staff found must be refunded
#: (the bank charged the card, the money goes back) and the attempts that
#: paid nothing.
PAID_STATES = (APPROVED, APPLIED)
FAILED_STATES = (DECLINED, CANCELLED, EXPIRED)
SHOWN_STATES = PAID_STATES + (REQUESTED, PENDING, REVIEW, REFUND_NEEDED) + FAILED_STATES

#: What each state says to the customer, in the order of the state filter
#: (the CSV's "Estado" column; on the page the states that are not paid get a badge).
STATE_LABELS = {
    APPROVED: _('Pagado'),
    APPLIED: _('Pagado y aplicado'),
    REQUESTED: _('Esperando aprobación'),
    PENDING: _('Pendiente de confirmación del banco'),
    REVIEW: _('En revisión'),
    REFUND_NEEDED: _('Reembolso en trámite'),
    DECLINED: _('Rechazado por el banco'),
    CANCELLED: _('Cancelado'),
    EXPIRED: _('Expirado sin pagar'),
}

_MONTH = re.compile(r'([0-9]{4})-([0-9]{2})')  # ASCII digits only


class Filters:
    """The account, month and state the customer asked for, validated."""

    def __init__(self, account='', month='', state='', user=''):
        self.account = account   # '' for every account
        self.month = month       # '' or 'YYYY-MM'
        self.state = state       # '' or one of SHOWN_STATES
        self.user = user         # '' or the principal id of who prepared the payment

    @property
    def any(self):
        return bool(self.account or self.month or self.state or self.user)

    def query(self, **extra):
        """The query string values that reproduce these filters."""
        values = {}
        if self.account:
            values[ACCOUNT_PARAM] = self.account
        if self.month:
            values[MONTH_PARAM] = self.month
        if self.state:
            values[STATE_PARAM] = self.state
        if self.user:
            values[USER_PARAM] = self.user
        values.update({k: v for k, v in extra.items() if v is not None})
        return values


def read_filters(customer, params, accounts=None):
    """Return ``(filters, errors)``; ``errors`` maps a parameter to a message."""
    errors = {}
    account = (params.get(ACCOUNT_PARAM) or '').strip()
    month = (params.get(MONTH_PARAM) or '').strip()
    state = (params.get(STATE_PARAM) or '').strip()
    user = (params.get(USER_PARAM) or '').strip()
    if account and (account not in customer.accounts or not sees(accounts, account)):
        errors[ACCOUNT_PARAM] = _('La cuenta indicada no es una de sus cuentas. '
                                  'Elija una de la lista o "Todas".')
    if month:
        match = _MONTH.fullmatch(month)
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
            errors[MONTH_PARAM] = _('Escriba el mes como año-mes, por ejemplo 2017-10.')
    if state and state not in SHOWN_STATES:
        errors[STATE_PARAM] = _('Elija un estado de la lista o "Todos".')
        state = ''
    if user and user not in dict(people(customer)):
        errors[USER_PARAM] = _('Elija una persona de la lista o "Todas".')
        user = ''
    return Filters(account, month, state, user), errors


def people(customer):
    """``[(principal id, name)]`` of who may prepare the customer's payments."""
    found = [(customer.principal_id, customer.display_name)]
    if customer.users is not None:
        found += sorted(((u.principal_id, u.name) for u in customer.users.values()),
                        key=lambda item: item[1].lower())
    return found


def _index(customer):
    """The customer's HISTORIAL index (built in memory before evolve step 'payment-history')."""
    if customer.history is not None:
        return customer.history
    index = PaymentHistory()
    for payment in customer.payments.values():
        index.track(payment)
    return index


def matching_lines(customer, filters, accounts=None):
    """``[(entry, line)]`` the filters keep, newest first, one per invoice paid; read from the
    customer's index alone: no payment is loaded."""
    kept = []
    for entry in _index(customer).entries():
        if entry.state not in SHOWN_STATES:
            continue
        if accounts is not None and not {line[1] for line in entry.lines} <= accounts:
            continue     # a person limited to some accounts sees only their payments
        if filters.state and entry.state != filters.state:
            continue
        if filters.user and entry.prepared_id != filters.user:
            continue
        if filters.month and local_time(entry.date).strftime('%Y-%m') != filters.month:
            continue
        kept.extend((entry, line) for line in entry.lines
                    if not filters.account or line[1] == filters.account)
    return kept


def history_row(entry, line):
    """One row: date (aware UTC), local_date, reference, bank_reference, amount_mxn,
    invoice_key, account, state, paid, failed, who prepared and approved it, and the
    payment (whose result page the reference links to): the one place a payment is loaded."""
    payment = entry.payment
    invoice_key, account, amount_mxn = line
    return {
        'date': entry.date,
        'local_date': local_time(entry.date).date(),
        'reference': payment.reference,
        'bank_reference': payment.bank_reference or '',
        'amount_mxn': amount_mxn,
        'invoice_key': invoice_key,
        'account': account,
        'state': entry.state,
        'paid': entry.state in PAID_STATES,
        'failed': entry.state in FAILED_STATES,
        'prepared_id': entry.prepared_id,
        'prepared': payment.prepared_by[1] if payment.prepared_by else '',
        'approved': payment.approved_by[1] if payment.approved_by else '',
        'payment': payment,
    }


def _page_number(params, pages):
    try:
        number = int(params.get(PAGE_PARAM, '1'))
    except (TypeError, ValueError):
        number = 1
    return min(max(number, 1), pages)


def render_refusal(context, request, filters, errors):
    """The page with the filters' messages, status 400, and no rows."""
    values = _page_values(context, request, filters, errors, [], 1, 1)
    response = render_to_response(TEMPLATE, values, request=request)
    response.status = 400
    return response


def _page_values(context, request, filters, errors, rows, number, pages):
    def url(**extra):
        return request.resource_url(context, VIEW_NAME, query=filters.query(**extra))

    return page(
        context, request, VIEW_NAME, _('Historial de pagos'),
        filters=filters, errors=errors, rows=rows,
        page_number=number, pages=pages,
        previous_url=url(pagina=number - 1) if number > 1 else None,
        next_url=url(pagina=number + 1) if number < pages else None,
        csv_url=request.resource_url(context, CSV_NAME, query=filters.query()),
        form_url=request.resource_url(context, VIEW_NAME),
        account_param=ACCOUNT_PARAM, month_param=MONTH_PARAM, state_param=STATE_PARAM,
        user_param=USER_PARAM, people=people(context),
        state_labels=STATE_LABELS, complements_zip_url=None,
        applied_line=lambda payment: applied_line(
            payment, settings_of(request)['company_name'], request.locale_name),
    )


def _summary(lines):
    """``(rows, total paid, any unpaid, any failed)`` of the matching lines."""
    return (len(lines),
            sum((line[2] for entry, line in lines if entry.state in PAID_STATES), ZERO),
            any(entry.state not in PAID_STATES + FAILED_STATES for entry, _line in lines),
            any(entry.state in FAILED_STATES for entry, _line in lines))


def _tallied_summary(tally):
    """The same four figures for every line, from the index's tally: no entry read."""
    shown = {state: figures for state, figures in tally.by_state.items()
             if state in SHOWN_STATES and figures[1]}     # states with rows, as the walk sees
    return (sum(lines for _entries, lines, _amount in shown.values()),
            sum((shown[state][2] for state in PAID_STATES if state in shown), ZERO),
            any(state not in PAID_STATES + FAILED_STATES for state in shown),
            any(state in FAILED_STATES for state in shown))


def _first_lines(customer, stop):
    """The first ``stop`` lines of the unfiltered page, reading entries only that far."""
    kept = []
    for entry in _index(customer).entries():
        if len(kept) >= stop:
            break
        if entry.state in SHOWN_STATES:
            kept.extend((entry, line) for line in entry.lines)
    return kept[:stop]


@view_config(context=Customer, name=VIEW_NAME, permission='view', request_method='GET')
def history_page(context, request):
    """One page of rows. Unfiltered, for someone who sees every account, the rows are
    counted and totalled by the index's tally and only the entries up to the page are read;
    filtered, every entry of the index is read (never a payment but those shown)."""
    accounts = visible_accounts(request)
    filters, errors = read_filters(context, request.GET, accounts)
    if errors:
        return render_refusal(context, request, filters, errors)
    tally = _index(context).tally
    if filters.any or accounts is not None or tally is None:
        lines = matching_lines(context, filters, accounts)
        summary = _summary(lines)
    else:
        lines, summary = None, _tallied_summary(tally)
    pages = max(1, -(-summary[0] // PAGE_SIZE))
    number = _page_number(request.GET, pages)
    start, stop = (number - 1) * PAGE_SIZE, number * PAGE_SIZE
    if lines is None:
        lines = _first_lines(context, stop)
    shown = [history_row(entry, line) for entry, line in lines[start:stop]]
    for row in shown:   # "Complemento de pago": the REPs of a paid row, else nothing to wait for
        row['complements'] = (of_payment(request, context, row['payment'], row['invoice_key'])
                              if row['paid'] else None)
    values = _page_values(context, request, filters, errors, shown, number, pages)
    values['row_count'], values['total_paid'], values['has_unpaid'], values['has_failed'] = summary
    values['complements_zip_url'] = (request.resource_url(context, ZIP_NAME, query={
        k: v for k, v in filters.query().items() if k in (MONTH_PARAM, ACCOUNT_PARAM)})
        if filters.month and summary[0] else None)
    return render_to_response(TEMPLATE, values, request=request)


def csv_filename(customer, filters):
    return f'historial-pagos-{customer.rfc}-{filters.month or "todo"}.csv'


def attachment(filename):
    """A Content-Disposition for ``filename``; RFCs may hold Ñ, so add RFC 5987's form."""
    ascii_name = filename.encode('ascii', 'replace').decode('ascii').replace('?', '_')
    ascii_name = ascii_name.replace('\\', '_').replace('"', '_')
    if ascii_name == filename:
        return f'attachment; filename="{filename}"'
    return f'attachment; filename="{ascii_name}"; filename*=UTF-8\'\'{quote(filename)}'


@view_config(context=Customer, name=CSV_NAME, permission='view', request_method='GET')
def history_csv(context, request):
    """The filtered history as CSV: UTF-8 with BOM, amounts as plain decimals."""
    accounts = visible_accounts(request)
    filters, errors = read_filters(context, request.GET, accounts)
    if errors:
        return render_refusal(context, request, filters, errors)
    translate = request.localizer.translate
    header = [translate(title) for title in (
        _('Fecha de pago'), _('Referencia de pago'), _('Referencia bancaria'),
        _('Monto (MXN)'), _('Factura pagada'), _('Cuenta'), _('Estado'), _('Preparó'),
        _('Aprobó'), _('Complemento de pago'))]

    def complements(row):
        """The UUIDs of the REPs in force for a paid row (the page's column, as text)."""
        if not row['paid']:
            return ''
        return ' '.join(c['uuid'] for c in of_payment(request, context, row['payment'],
                                                      row['invoice_key']) if c['current'])
    rows = (
        [local_time(row['date']).strftime('%Y-%m-%d %H:%M:%S'), row['reference'],
         row['bank_reference'], row['amount_mxn'], row['invoice_key'], row['account'],
         translate(STATE_LABELS[row['state']]), row['prepared'], row['approved'],
         complements(row)]
        for row in (history_row(entry, line)
                    for entry, line in matching_lines(context, filters, accounts)))
    response = Response(body=csv_bytes(header, rows), content_type='text/csv', charset='utf-8')
    response.content_disposition = attachment(csv_filename(context, filters))
    return response
