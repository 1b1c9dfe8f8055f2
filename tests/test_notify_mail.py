"""The notifier's mails as their readers see them: both parts, the SALDOS link that ticks the
invoices, each person's language, and the one-click unsubscribe link (RFC 8058) that only
works as it was issued; "Mis correos" and the company's default."""
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from canonportal.bootstrap import DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD
from canonportal.resources.notices import REMINDERS, STATEMENTS
from notify_support import D, client_mails, reminded, run_notifier
from portal_support import CANON, Client, nothing_changes, with_root

ANA = DEMO_CAPTURA_EMAIL
ANA_ID = f'company-user:{CANON}:u0demo0captura'


@pytest.fixture
def ana(app, frozen_clock):
    """Canon's Captura colleague signed in, pages in Spanish."""
    client = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    client.set_cookie('lang', 'es')
    assert client.login(ANA, DEMO_CAPTURA_PASSWORD).status_int == 303
    return client


def overdue_mail(app):
    return next(m for m in client_mails(app) if m.to == (ANA,) and 'vencidas' in m.subject)


def ana_choices(app):
    return with_root(app, lambda root: dict(
        root.find_principal(ANA_ID).mail_choices or {}))


def test_a_reminder_has_both_parts_and_its_link_ticks_the_invoices_in_saldos(app, ana):
    run_notifier(app, D(2017, 11, 6))
    mail = overdue_mail(app)
    assert mail.subject == 'Facturas vencidas de Canon Mexicana SA de CV'
    for part in (mail.text, mail.html):
        assert '6212976' in part and '05-11-2017' in part and '$27,794.52 MXN' in part
        assert 'vencida hace 1 día' in part and 'vencida hace 2 días' in part
        assert 'itportalsupport@cusa.canon.com' in part
    assert '<table' in mail.html and 'Hola Ana Compras,' in mail.text
    assert mail.headers['List-Unsubscribe-Post'] == 'List-Unsubscribe=One-Click'
    assert mail.headers['List-Unsubscribe'].startswith('<https://portal.example.mx/baja?')
    link = urlsplit(next(word for word in mail.text.split() if '/saldos?' in word))
    page = ana.get(f'{link.path}?{link.query}')
    ticked = [box['value'] for box in page.html.select('input[name=pick][checked]')]
    assert ticked == mail.ticked == ['1232081', '1233074', '1233075', '1233076', '1233077',
                                     '1233080', '1233081', '6212976']


def test_saldos_ticks_only_the_persons_own_payable_invoices_and_reads_a_bounded_number(
        app, ana):
    keys = ['6212976', '7100501', 'no-such', '6212901', '6212976', 'x' * 500] + ['1'] * 200
    page = ana.get(f'/customers/{CANON}/saldos?' + urlencode([('pagar', k) for k in keys]))
    assert [box['value'] for box in page.html.select('input[name=pick][checked]')] == ['6212976']

    def limit(root):
        root.find_principal(ANA_ID).accounts = ('005301',)
    with_root(app, limit)
    page = ana.get(f'/customers/{CANON}/saldos?pagar=6212976&pagar=6213050')
    assert [box['value'] for box in page.html.select('input[name=pick][checked]')] == ['6213050']


def test_the_unsubscribe_link_asks_then_turns_that_kind_off_for_that_person(app, frozen_clock):
    run_notifier(app, D(2017, 11, 6))
    link = overdue_mail(app).unsubscribe
    browser = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    with nothing_changes(app):                         # a GET only asks
        page = browser.get(link)
    assert 'Recordatorios de vencimiento de facturas' in page.text and ANA in page.text
    done = page.forms[len(page.forms) - 1].submit()
    assert 'Listo: ya no recibirá este correo' in done.text
    assert ana_choices(app) == {REMINDERS: False}
    # What a mail client does: POST the link itself, no session, no CSRF token; again.
    for spelling in (link, link.replace('/baja', '/@@baja'), link.replace('/baja', '/baja/')):
        answer = browser.post(spelling, {'List-Unsubscribe': 'One-Click'})
        assert answer.status_int == 200 and 'Listo' in answer.text
    before = len(reminded(app))
    run_notifier(app, D(2017, 11, 13))                 # step 7 of 1233074 …: not for Ana
    assert ANA not in {address for address, _ in reminded(app)[before:]}
    run_notifier(app, D(2017, 12, 1))                  # statements still come
    assert any(m.to == (ANA,) and m.pdfs for m in client_mails(app))


def _edited(link, **changes):
    parts = urlsplit(link)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    query.update(changes)
    return f'{parts.path}?{urlencode(query)}'


def test_an_edited_expired_or_other_persons_link_is_refused_and_changes_nothing(
        app, frozen_clock):
    run_notifier(app, D(2017, 11, 6))
    link = overdue_mail(app).unsubscribe
    token = parse_qs(urlsplit(link).query)['t'][0]
    browser = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    refused = [
        _edited(link, t=token[:-1] + ('A' if token[-1] != 'A' else 'B')),   # tampered
        _edited(link, u=f'customer-user:{CANON}'),       # another person of the company
        _edited(link, u='customer-user:DIS010203AB1'),   # another company
        _edited(link, k=STATEMENTS),                     # another kind of mail
        _edited(link, k='x' * 50), _edited(link, t='x' * 5000), '/baja', '/baja?k=&u=&t=']
    with nothing_changes(app):
        for path in refused:
            for method in (browser.get, browser.post):
                answer = method(path, status=400)
                assert 'El enlace no es válido o ya expiró' in answer.text, path
        frozen_clock.advance(days=121)                   # the link expired
        answer = browser.post(link, {'List-Unsubscribe': 'One-Click'}, status=400)
    assert 'El enlace no es válido' in answer.text
    assert ana_choices(app) == {}


def test_each_person_chooses_on_mis_correos_and_reads_in_their_language(app, ana):
    page = ana.get(f'/customers/{CANON}/correos')
    form = page.forms['mail-choices']
    form[REMINDERS], form[STATEMENTS], form['idioma'] = 'no', 'si', 'en'
    form.submit().follow()
    assert ana_choices(app) == {REMINDERS: False, STATEMENTS: True}
    run_notifier(app, D(2017, 11, 6))
    mails = [m for m in client_mails(app) if m.to == (ANA,)]
    assert [m.subject for m in mails] == ['Account statement of Canon Mexicana SA de CV, 10/2017']
    assert 'Hello Ana Compras,' in mails[0].text and '2017-10-01 – 2017-10-31' in mails[0].text
    with nothing_changes(app):
        answer = ana.post(f'/customers/{CANON}/correos',
                          {REMINDERS: 'tal vez', STATEMENTS: 'si', 'idioma': 'en',
                           'csrf_token': ana.csrf(f'/customers/{CANON}/correos')}, status=400)
    assert 'Elija una opción de la lista.' in answer.text


def test_administrators_choose_the_companys_default(app, canon):
    page = canon.get(f'/customers/{CANON}/usuarios')
    form = page.forms['mail-defaults-form']
    form[STATEMENTS] = False
    form.submit().follow()
    run_notifier(app, D(2017, 11, 6))
    # Ana follows the company: reminders yes, statements no; the administrator's own the same.
    assert {m.to[0] for m in client_mails(app) if m.pdfs} == {'pagos@example.com'}
    assert ANA in {address for address, _ in reminded(app)}
