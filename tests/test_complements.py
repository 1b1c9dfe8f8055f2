"""When a payment complement (REP) is due, and which received payments still lack one."""
import datetime

import pytest

from canonportal import complements
from canonportal.complements import deadline_day, missing_complements, rep_deadline
from canonportal.demo_complements import example_228
from erp_samples import import_committed
from portal_support import CANON, with_root

D = datetime.date
UTC = datetime.timezone.utc


@pytest.mark.parametrize('paid, day, due', [
    (D(2017, 1, 31), 5, D(2017, 2, 5)),
    (D(2017, 12, 31), 5, D(2018, 1, 5)),
    (D(2017, 10, 10), 5, D(2017, 11, 5)),
    (D(2017, 1, 31), 10, D(2017, 2, 10)),
    (D(2017, 12, 1), 10, D(2018, 1, 10)),
    # 21:00 of 31 October in Mexico City is already 1 November in UTC: Mexico City's day counts.
    (datetime.datetime(2017, 11, 1, 3, 0, tzinfo=UTC), 5, D(2017, 11, 5)),
    (datetime.datetime(2018, 1, 1, 5, 59, tzinfo=UTC), 5, D(2018, 1, 5)),
])
def test_the_rep_is_due_by_day_n_of_the_next_month_in_mexico_city(paid, day, due):
    assert rep_deadline(paid, day) == due


@pytest.mark.parametrize('settings, day', [
    ({}, 5), ({'canonportal.rep_deadline_day': '10'}, 10),
    ({'canonportal.rep_deadline_day': ' 5 '}, 5), ({'canonportal.rep_deadline_day': ''}, 5),
])
def test_the_day_is_the_ini_setting_five_by_default(settings, day):
    assert deadline_day(settings) == day


@pytest.mark.parametrize('text', ['0', '29', 'cinco', '-1', '5.5'])
def test_a_day_that_is_not_in_every_month_stops_the_start(text):
    with pytest.raises(ValueError, match='rep_deadline_day'):
        deadline_day({'canonportal.rep_deadline_day': text})


def missing(app, today, day=5):
    return with_root(app, lambda root: [
        (row.payment.reference, row.customer.rfc, row.paid_on, row.deadline, row.overdue,
         row.invoice_keys) for row in missing_complements(root, today, day)])


def test_payment_228_lacks_its_rep_until_it_comes(app):
    assert missing(app, D(2017, 11, 5)) == [
        ('228', CANON, D(2017, 10, 10), D(2017, 11, 5), False, ('1233074',))]
    assert missing(app, D(2017, 11, 6))[0][4] is True
    assert missing(app, D(2017, 11, 6), day=10)[0][3:5] == (D(2017, 11, 10), False)
    import_committed(app, {'REP-228.xml': example_228()})
    assert missing(app, D(2017, 11, 6)) == []


def test_a_pue_invoice_needs_no_rep(app):
    def pue(root):
        invoice = root.customers[CANON].invoices['1233074']
        invoice.metodo_pago = 'PUE'
    with_root(app, pue)
    assert missing(app, D(2017, 11, 6)) == []
    assert complements.needs_complement(None) is True
