"""Every date a form or query accepts is bounded: the edges that gave HTTP 500 (issue 11)."""
import pytest

from canonportal import dates
from portal_support import CANON, GOOD_PASSWORD, add_staff_user


@pytest.mark.parametrize('text', ['0001-01-01', '0003-01-01', '9999-12-31', '1999-12-31',
                                  '2101-01-01', '01/01/0001'])
def test_dates_outside_the_range_are_refused(text):
    with pytest.raises(dates.DateOutOfRange):
        dates.parse(text)


@pytest.mark.parametrize('text', ['', 'mañana', '2017-13-01', '2017-10-06' * 100, '１２-１０-2017'])
def test_what_is_not_a_date_is_refused(text):
    with pytest.raises(dates.BadDate):
        dates.parse(text)


def test_the_edges_themselves_are_dates():
    assert dates.parse('2000-01-01') == dates.EARLIEST
    assert dates.parse('31/12/2100') == dates.LATEST


def test_the_customer_pages_answer_a_clear_400(client):
    client.sign_in_active()
    pdf = client.get(f'/customers/{CANON}/estado-de-cuenta.pdf',
                     {'cuenta': '005300', 'desde': '0001-01-01', 'hasta': '0003-01-01'}, status=400)
    assert '01/01/2000' in pdf.text and pdf.headers['Content-Security-Policy']
    facturas = client.get(f'/customers/{CANON}/facturas', {'desde': '0001-01-01',
                                                           'hasta': '9999-12-31'}, status='*')
    assert facturas.status_int in (200, 400) and '01/01/2000' in facturas.text


def test_the_staff_filters_and_downloads_answer_a_clear_400(app, client):
    add_staff_user(app, 'alice', role='admin')
    client.login('alice', GOOD_PASSWORD)
    for url, query in (('/manage/audit', {'since': '0001-01-01', 'until': '9999-12-31'}),
                       ('/manage/audit/@@csv', {'since': '0001-01-01'})):
        answer = client.get(url, query, status='*')
        assert answer.status_int in (200, 400), (url, answer.status_int)
        assert '01/01/2000' in answer.text, url
    export = client.post('/manage/@@exportar', {'until': '9999-12-31', 'since': '2017-01-01', 'mode': 'range',
                                                'csrf_token': client.csrf('/manage/@@exportar')},
                         status='*')
    assert export.status_int == 400 and '01/01/2000' in export.text
