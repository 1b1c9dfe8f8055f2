"""The dashboard at /manage: today's and the last 30 days' payments, what needs a look.

Counting must stay cheap with a million invoices: payments are found through
``root.payments_by_reference``, walking back from the newest reference (the
payment counter) until a payment older than the window shows up, so the cost
grows with the payments of the last 30 days, not with all of them. The
references are increasing numbers kept as strings (``'1000' < '228'`` in
the BTree's order), hence the walk by number rather than by key order.
"""
import datetime
import itertools
from types import SimpleNamespace

from pyramid.view import view_config

from ... import clock
from ... import gateways as gw
from ...erp.fiscal import pending_count
from ...charts import stacked_bars
from ...complements import deadline_day, missing_complements
from ...i18n import _, ngettext
from ...money import ZERO
from ...payments.service import minutes, pending_older_than
from ...resources import PortalRoot
from ...payments.transfers import SPEI
from ...resources.folder import TOP, keys_descending
from ...resources.payment import (
    APPLIED, APPROVED, CANCELLED, DECLINED, EXPIRED, PENDING, REFUND_NEEDED, REVIEW)
from . import ROUTE, VIEW, manage_globals, manage_url
from .labels import PAYMENT_STATE_LABELS

#: Every payment state as staff read it, in the order the charts stack them.
STATE_LABELS = {state: PAYMENT_STATE_LABELS[state] for state in (
    APPROVED, APPLIED, PENDING, REVIEW, DECLINED, CANCELLED, EXPIRED, REFUND_NEEDED)}

#: Chart colours: each one keeps white text readable (contrast ≥ 4.5).
STATE_COLOURS = {
    APPROVED: '#2e7d32',
    APPLIED: '#1565c0',
    PENDING: '#8a5a00',
    REVIEW: '#c62828',
    DECLINED: '#5f6368',
    CANCELLED: '#455a64',
    EXPIRED: '#6d4c41',
    REFUND_NEEDED: '#6a1b9a',
}

WINDOW_DAYS = 30
DEFAULT_PENDING_ALERT_MINUTES = 30
#: The walk stops after this many references, whatever it found (a bound, not a target).
MAX_SCAN = 100_000
#: Payments are created in reference order, but two transactions may commit a
#: little out of order; the walk goes on this far past the window's start.
SLACK = datetime.timedelta(hours=1)
RECORDS_SHOWN = 5


class RecentPayments:
    """The payments created since ``since``, newest first, found by walking back the references.

    ``truncated`` says the walk stopped at ``limit`` references before
    reaching ``since``.
    """

    def __init__(self, root, since, limit=MAX_SCAN):
        self.since = since
        self.truncated = False
        self.payments = []
        for payment in itertools.islice(root.payments_newest_first(), limit):
            if payment is None:
                continue
            if payment.created < since:
                if payment.created < since - SLACK:
                    break
                continue
            self.payments.append(payment)
        else:
            self.truncated = root.payment_counter.value > limit


#: The dashboard's line about fiscal data the ERP has not received yet.
FISCAL_WAITING = ngettext('${count} empresa cambió sus datos fiscales sin exportarlos al ERP.',
                          '${count} empresas cambiaron sus datos fiscales sin exportarlos al ERP.')

def tally(payments, since=None):
    """``{(bank, state): count}`` and ``{bank: MXN total}`` of the payments since ``since``."""
    counts, totals = {}, {}
    for payment in payments:
        if since is not None and payment.created < since:
            continue
        key = (payment.bank, payment.state)
        counts[key] = counts.get(key, 0) + 1
        totals[payment.bank] = totals.get(payment.bank, ZERO) + payment.total_mxn
    return counts, totals


def payments_in_review(root, recent):
    """The payments waiting for a staff decision, oldest first.

    A ``root.review_payments`` index (reference → payment), when the database
    has one, lists them all; without it only the recent walk is looked at.
    """
    index = getattr(root, 'review_payments', None)
    if index is not None:
        found = [p for p in index.values() if p.state == REVIEW]
    else:
        found = [p for p in recent.payments if p.state == REVIEW]
    return sorted(found, key=lambda p: p.created)


def pending_alert_age(settings):
    try:
        return minutes(settings.get('canonportal.pending_alert_minutes',
                                    DEFAULT_PENDING_ALERT_MINUTES))
    except (TypeError, ValueError):
        return minutes(DEFAULT_PENDING_ALERT_MINUTES)


def newest_records(folder, count=RECORDS_SHOWN):
    """The newest ``count`` import or export records of ``folder``, newest first.

    Their names start with their UTC time, so the folder's last names are the
    newest (read from the end, a few buckets, by :func:`.contents.keys_descending`).
    """
    return [folder[name] for name in itertools.islice(keys_descending(folder.data), count)]


def record_time(record):
    """When an import or export record was made (None if it does not say)."""
    return getattr(record, 'when', None) or getattr(record, 'created', None)


def bank_categories(request, counts):
    """``[(bank, label)]``: the configured banks, then any other bank seen in the counts."""
    banks = [(name, gw.bank_label(name)) for name in getattr(request.registry, 'gateways', {})]
    known = {name for name, _ in banks}
    for bank in sorted({bank for bank, _ in counts}):
        if bank not in known:
            banks.append((bank, gw.bank_label(bank)))
            known.add(bank)
    return banks


def chart_and_table(request, chart_id, title, counts, totals, empty_text):
    """The SVG chart and the same numbers as table rows for one window."""
    translate = request.localizer.translate
    banks = bank_categories(request, counts)
    states = [(state, translate(label), STATE_COLOURS[state])
              for state, label in STATE_LABELS.items()]
    shown_states = [s for s in states if any(counts.get((b, s[0])) for b, _ in banks)]
    described = '; '.join(
        f'{label}: ' + ', '.join(f'{s_label} {counts[(bank, s_key)]}'
                                 for s_key, s_label, _ in shown_states if counts.get((bank, s_key)))
        for bank, label in banks if any(counts.get((bank, s[0])) for s in shown_states))
    svg = stacked_bars(chart_id, translate(title), banks, states, counts,
                       description=described or translate(empty_text),
                       empty_text=translate(empty_text), heading=False)
    rows = [SimpleNamespace(bank=bank, label=label,
                            counts=[counts.get((bank, s[0]), 0) for s in shown_states],
                            count=sum(counts.get((bank, s[0]), 0) for s in states),
                            total=totals.get(bank, ZERO)) for bank, label in banks]
    return SimpleNamespace(id=chart_id, title=title, svg=svg, states=shown_states, rows=rows,
                           count=sum(row.count for row in rows),
                           total=sum((row.total for row in rows), ZERO))


def spei_figures(request, root, today, recent):
    """SPEI at a glance: transfers of today, the queue, CEPs awaited, instructions waiting
    and expired in the window; None when SPEI is not configured."""
    transfers = root.transfers
    if SPEI not in getattr(request.registry, 'gateways', {}) or transfers is None:
        return None
    prefix = today.strftime('%Y%m%d-')
    return SimpleNamespace(
        today=sum(1 for _key in transfers.data.keys(min=prefix, max=prefix + TOP)),
        unmatched=len(transfers.unmatched),
        cep_pending=len(root.cep_pending) if root.cep_pending is not None else 0,
        waiting=sum(1 for p in root.pending_payments.values() if p.bank == SPEI),
        expired=sum(1 for p in recent.payments if p.bank == SPEI and p.state == EXPIRED),
        url=manage_url(request, transfers))


@view_config(route_name=ROUTE, context=PortalRoot, permission=VIEW, request_method='GET',
             renderer='canonportal:templates/manage/dashboard.pt')
def dashboard(context, request):
    now = clock.utcnow()
    fiscal_waiting = pending_count(context)
    today = clock.mexico_today(now)
    today_start = clock.mexico_day_start(today)
    window_start = clock.mexico_day_start(today - datetime.timedelta(days=WINDOW_DAYS - 1))
    recent = RecentPayments(context, window_start)
    today_counts, today_totals = tally(recent.payments, today_start)
    window_counts, window_totals = tally(recent.payments)
    alert_age = pending_alert_age(request.registry.settings)
    # A SPEI payment waits days for its transfer by design: not an alert.
    stale = sorted((p for p in pending_older_than(context, now, alert_age)
                    if p.bank != SPEI and p.state == PENDING),
                   key=lambda p: p.created)
    return manage_globals(
        request, context,
        page_title=_('Panel del personal'),
        today=today,
        window_start_day=today - datetime.timedelta(days=WINDOW_DAYS - 1),
        charts=[
            chart_and_table(request, 'chart-today', _('Pagos de hoy por banco y estado'),
                            today_counts, today_totals, _('Ningún pago hoy.')),
            chart_and_table(request, 'chart-30-days',
                            _('Pagos de los últimos 30 días por banco y estado'),
                            window_counts, window_totals, _('Ningún pago en 30 días.')),
        ],
        truncated=recent.truncated,
        review=payments_in_review(context, recent),
        review_is_complete=getattr(context, 'review_payments', None) is not None,
        stale=stale,
        stale_minutes=int(alert_age.total_seconds() // 60),
        now=now,
        state_labels=STATE_LABELS,
        bank_labels=gw.LABELS,
        imports=newest_records(context['imports']),
        exports=newest_records(context['exports']),
        record_time=record_time,
        spei=spei_figures(request, context, today, recent),
        # Approved payments still without their REP, the oldest deadline first.
        missing=missing_complements(context, today, deadline_day(request.registry.settings)),
        import_url=manage_url(request, context, '@@importar'),
        export_url=manage_url(request, context, '@@exportar'),
        fiscal_pending=fiscal_waiting,
        fiscal_pending_text=FISCAL_WAITING.format(request, fiscal_waiting),
        fiscal_url=manage_url(request, context, '@@datos-fiscales'),
    )

