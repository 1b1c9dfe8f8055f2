"""ESTADOS DE CUENTA: the customer's statements, their PDFs, and statements for any period.

Every view here reads only the context customer's own subtree: statements
are reached by traversal under the customer, and the range statement takes
an account only if it is one of the context customer's accounts.
"""
from pyramid.view import view_config

from .. import clock, dates, downloads
from ..i18n import _
from ..reports.statement_pdf import range_pdf
from ..resources import Customer, Statement
from . import settings_of
from .customer import page, sees, visible_accounts

TEMPLATE = 'canonportal:templates/statements.pt'
#: The column headers again, named on each statement's card on a phone.
CARD_LABELS = (_('Estado de cuenta'), _('# Cliente'), _('Fecha de expedición'))

#: The longest period a customer may ask a statement for, said beside the dates before
#: submitting (statements.js checks it as they change) and checked again here.
MAX_RANGE_YEARS = 5
RANGE_LIMIT = _('El periodo puede abarcar hasta ${years} años.', mapping={'years': MAX_RANGE_YEARS})
TOO_LONG = _('El periodo no puede ser mayor a ${years} años.', mapping={'years': MAX_RANGE_YEARS})
DATE_FORMATS = ('%Y-%m-%d', '%d-%m-%Y', '%d/%m/%Y')


def statement_rows(customer, accounts=None):
    """The customer's statements (of ``accounts`` when given), newest first."""
    return sorted((s for s in customer.statements.values() if sees(accounts, s.account)),
                  key=lambda s: (s.issued, s.statement_id), reverse=True)


def own_accounts(customer, request):
    """The customer's accounts the signed-in person may see, in the customer's order."""
    accounts = visible_accounts(request)
    return [a for a in customer.accounts if sees(accounts, a)]


def render_options(request):
    return {'translate': request.localizer.translate, 'locale_name': request.locale_name}


def statements_values(context, request, form=None, errors=None):
    today = clock.mexico_today()
    if form is None:
        mine = own_accounts(context, request)
        form = {'cuenta': mine[0] if mine else '',
                'desde': today.replace(day=1).isoformat(), 'hasta': today.isoformat()}
    translate = request.localizer.translate
    return page(context, request, 'estados-de-cuenta', _('Estados de cuenta'),
                statements=statement_rows(context, visible_accounts(request)), form=form,
                errors=errors or {},
                max_day=today.isoformat(), labels=CARD_LABELS, max_years=MAX_RANGE_YEARS,
                range_limit=translate(RANGE_LIMIT), too_long=translate(TOO_LONG))


@view_config(context=Customer, name='estados-de-cuenta', permission='view', renderer=TEMPLATE)
def statements_page(context, request):
    return statements_values(context, request)


@view_config(context=Statement, name='pdf', permission='view')
def statement_pdf_download(context, request):
    return downloads.statement_download(context, settings_of(request)['company_name'],
                                        clock.utcnow(), **render_options(request))


def parse_day(text):
    """``(date or None, message or None)`` for a date of the range form."""
    try:
        return dates.parse(text, DATE_FORMATS), None
    except dates.DateOutOfRange:
        return None, dates.MSG_OUT_OF_RANGE
    except dates.BadDate:
        return None, None


def years_before(day, years):
    """The same day ``years`` earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def validate_range(customer, params, today, accounts=None):
    """Check the range form. Return ``(form, errors, (account, start, end))``."""
    form = {name: (params.get(name) or '').strip() for name in ('cuenta', 'desde', 'hasta')}
    errors = {}
    account = form['cuenta']
    if account not in customer.accounts or not sees(accounts, account):
        errors['cuenta'] = _('Seleccione una de sus cuentas.')
    (start, start_problem), (end, end_problem) = parse_day(form['desde']), parse_day(form['hasta'])
    if not form['desde']:
        errors['desde'] = _('Indique la fecha inicial.')
    elif start is None:
        errors['desde'] = start_problem or _('La fecha inicial no es válida; use el formato aaaa-mm-dd.')
    if not form['hasta']:
        errors['hasta'] = _('Indique la fecha final.')
    elif end is None:
        errors['hasta'] = end_problem or _('La fecha final no es válida; use el formato aaaa-mm-dd.')
    elif end > today:
        errors['hasta'] = _('La fecha final no puede ser posterior a hoy.')
    if start and end and 'hasta' not in errors:
        if start > end:
            errors['hasta'] = _('La fecha final debe ser igual o posterior a la fecha inicial.')
        elif start < years_before(end, MAX_RANGE_YEARS):
            errors['desde'] = TOO_LONG
    return form, errors, (account, start, end)


@view_config(context=Customer, name='estado-de-cuenta.pdf', permission='view', renderer=TEMPLATE)
def range_statement(context, request):
    """A statement of one of the customer's accounts for any period up to five years."""
    form, errors, (account, start, end) = validate_range(context, request.GET, clock.mexico_today(),
                                                         visible_accounts(request))
    if errors:
        request.response.status_int = 400
        return statements_values(context, request, form=form, errors=errors)
    body = range_pdf(context, account, start, end, settings_of(request)['company_name'],
                     clock.utcnow(), **render_options(request))
    filename = downloads.statement_file_name('estado-de-cuenta', account, start.strftime('%Y%m%d'),
                                             end.strftime('%Y%m%d'))
    return downloads.pdf_response(body, filename)
