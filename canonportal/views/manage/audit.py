"""The audit log at /manage/audit: read, filter, page through and download as CSV.

Nothing here writes: there are only GET views, so a POST, PUT or DELETE to
the log finds no view at all. Dates in the filters are Mexico City days,
turned into the UTC bounds the log is keyed by.

The page shows a payment's states by their names and each note of a known shape as a
sentence in the reader's language (:mod:`canonportal.audit_notes`); the CSV keeps the
log's own terms, what an auditor filters and compares.
"""
import datetime
import io
import tempfile
from types import SimpleNamespace

from pyramid.response import FileIter, Response
from pyramid.traversal import find_resource
from pyramid.view import view_config

from ... import audit_notes, clock, csvsafe
from ...formatting import local_time
from ...i18n import _
from ...resources.audit import AuditLog
from . import ROUTE, VIEW, Page, manage_globals, manage_url, page_number, read_day
from .labels import PAYMENT_STATE_LABELS
from .payments import SOURCE_LABELS

TEMPLATE = 'canonportal:templates/manage/audit.pt'
FILTERS = ('actor', 'action', 'target', 'since', 'until')
CSV_HEADER = ('Fecha (Ciudad de México)', 'Actor', 'Acción', 'Objeto', 'Antes', 'Después',
              'Nota')
#: Rows written to the CSV's spool at a time.
CSV_CHUNK = 500
#: The CSV stays in memory up to this size, then goes to a temporary file.
SPOOL_BYTES = 4 * 1024 * 1024

#: Actions the log holds, offered as suggestions in the filter (any text may be typed).
KNOWN_ACTIONS = (
    'payment.transition', 'staff.login', 'staff.logout', 'staff.create', 'staff.role',
    'staff.disable', 'staff.enable', 'staff.unlock', 'staff.password', 'erp.import',
    'erp.export',
)


class AuditFilters:
    """The filters of one request, validated; ``errors`` maps a field to a message."""

    def __init__(self, params):
        self.values = {name: (params.get(name) or '').strip() for name in FILTERS}
        self.errors = {}
        self.since = self.until = None
        since_day = read_day(self.errors, 'since', self.values['since'])
        until_day = read_day(self.errors, 'until', self.values['until'])
        if since_day and until_day and until_day < since_day:
            self.errors['until'] = _('La fecha final es anterior a la inicial.')
        if since_day:
            self.since = clock.mexico_day_start(since_day)
        if until_day:
            self.until = clock.mexico_day_start(until_day + datetime.timedelta(days=1))

    @property
    def active(self):
        return any(self.values.values())

    def query(self):
        return {name: value for name, value in self.values.items() if value}

    def search(self, log):
        """The matching entries, newest first (a generator)."""
        return log.search(actor=self.values['actor'] or None, action=self.values['action'] or None,
                          target=self.values['target'] or None, since=self.since, until=self.until)


def target_link(request, path):
    """The management URL of an entry's target, when that object still exists."""
    if not path.startswith('/'):
        return None
    try:
        resource = find_resource(request.root, path)
    except (KeyError, TypeError, ValueError):
        return None
    return manage_url(request, resource)


@view_config(route_name=ROUTE, context=AuditLog, permission=VIEW, request_method='GET',
             renderer=TEMPLATE)
def audit_log(context, request):
    filters = AuditFilters(request.GET)
    page = None
    if filters.errors:
        request.response.status = 400
    else:
        total = None if filters.active else len(context)
        page = Page(request, filters.search(context), page_number(request), total=total)
    translate = request.localizer.translate
    rows = [SimpleNamespace(entry=entry, link=target_link(request, entry.target),
                            **shown(entry, translate))
            for entry in (page.items if page else ())]
    return manage_globals(
        request, context, page_title=_('Bitácora'), filters=filters, page=page, rows=rows,
        known_actions=KNOWN_ACTIONS,
        filter_url=lambda **values: manage_url(request, context, query=values),
        csv_url=manage_url(request, context, '@@csv', query=filters.query()),
        clear_url=manage_url(request, context))


#: Actions whose before and after are a payment's states.
PAYMENT_STATE_ACTIONS = ('payment.transition', 'payment.query-bank')


def shown(entry, translate):
    """An entry's before, after and note as the page shows them to ``translate``'s reader."""
    before, after, note = entry.before, entry.after, entry.note or ''
    if entry.action in PAYMENT_STATE_ACTIONS:
        before = translate(PAYMENT_STATE_LABELS[before]) if before in PAYMENT_STATE_LABELS \
            else before
        after = translate(PAYMENT_STATE_LABELS[after]) if after in PAYMENT_STATE_LABELS else after
    if entry.action == 'payment.transition':
        source, sep, rest = note.partition(': ')     # "return: …": where the change came from
        label = translate(SOURCE_LABELS[source]) if source in SOURCE_LABELS else source
        if sep or source in SOURCE_LABELS:
            rest = audit_notes.words(rest, translate, PAYMENT_STATE_LABELS)
            return {'before': before, 'after': after,
                    'note': f'{label}: {rest}' if rest else label}
    return {'before': before, 'after': after,
            'note': audit_notes.words(note, translate, PAYMENT_STATE_LABELS)}


@view_config(route_name=ROUTE, context=AuditLog, name='csv', permission=VIEW,
             request_method='GET')
def audit_csv(context, request):
    """The filtered entries as CSV (formula-escaped), spooled to disk when large."""
    filters = AuditFilters(request.GET)
    if filters.errors:
        message = ' '.join(request.localizer.translate(m) for m in filters.errors.values())
        return Response(message, status=400, content_type='text/plain', charset='utf-8')
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    spool.write(csvsafe.BOM.encode('utf-8'))
    rows = []
    for entry in filters.search(context):
        rows.append(csv_row(entry))
        if len(rows) >= CSV_CHUNK:
            _write(spool, rows)
            rows = []
    _write(spool, rows)
    size = spool.tell()
    spool.seek(0)
    stamp = clock.utcnow().astimezone(clock.MEXICO_CITY).strftime('%Y%m%d-%H%M%S')
    response = Response(content_type='text/csv', charset='utf-8', app_iter=FileIter(spool))
    response.content_length = size
    response.content_disposition = f'attachment; filename="bitacora-{stamp}.csv"'
    response.cache_control = 'no-store'
    return response


def csv_row(entry):
    when = local_time(entry.when).strftime('%Y-%m-%d %H:%M:%S')
    return (when, entry.actor, entry.action, entry.target, entry.before, entry.after, entry.note)


def _write(spool, rows):
    """Append ``rows`` to the spool; the header goes first, right after the BOM."""
    out = io.StringIO(newline='')
    safe = csvsafe.writer(out)
    if spool.tell() == len(csvsafe.BOM.encode('utf-8')):
        safe.writerow(CSV_HEADER)
    safe.writerows(rows)
    spool.write(out.getvalue().encode('utf-8'))
