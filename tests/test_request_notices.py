"""Everyone told what happened to a colleague's payment request: who prepared it reads the
approver's decision by mail (approved, and the receipt once paid; rejected with the
comment; expired when nobody decided), and the request's page shows the decision to the
preparer and the approvers alike."""
import datetime
from urllib.parse import urlsplit

from pyramid_mailer import get_mailer

from canonportal.bootstrap import DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD
from canonportal.payments.reconciliation import reconcile
from portal_support import CANON, mails_to, nothing_changes, with_root
from payment_support import FIRST, new_payer, state_of

RESULT = f'/customers/{CANON}/payments/{FIRST}/'
COMPANY = 'Canon Mexicana SA de CV'
ANA = DEMO_CAPTURA_EMAIL


def captura(portal, banks):
    client = new_payer(portal, banks)
    assert client.login(DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD).status_int == 303
    return client


def prepare(client, *folios):
    answer = client.pay('bbva', *folios)
    assert answer.status_int == 303, answer.text[:300]
    return client.get(urlsplit(answer.location).path)


def form_of(page, name):
    return next(f for f in page.forms.values() if f.action.endswith(name))


def decision_text(page):
    box = page.html.find(id='request-decision')
    return ' '.join(box.get_text(' ').split()) if box else None


def test_ana_reads_the_approval_then_the_receipt_and_both_pages_show_who_approved(
        payer, portal, banks, portal_mailer):
    ana = captura(portal, banks)
    prepare(ana, '6212976')                                 # $27,794.52: waits for an approver
    assert mails_to(portal_mailer, ANA) == []
    [asked] = mails_to(portal_mailer, f'{CANON.lower()}@example.mx')
    assert asked.subject == f'Pago {FIRST} por aprobar'
    assert 'espera su aprobación hasta el martes 01/12/2026 a las 11:59 p.m.;' in ' '.join(asked.text.split())
    form = form_of(payer.get(RESULT), '@@aprobar')
    form['amount-6212976'] = '20000.00'
    payer.at_bank(form.submit())
    banks.wait_for_deliveries()
    assert state_of(portal) == 'approved'
    approved, receipt = mails_to(portal_mailer, ANA)
    assert approved.subject == f'Solicitud de pago {FIRST} aprobada'
    assert approved.text.startswith('Hola Ana Compras,\n\n')
    assert (f'{COMPANY} aprobó el 29/11/2026' in approved.text
            and f'su solicitud de pago {FIRST} por $20,000.00 MXN (usted pidió $27,794.52 MXN).'
            in ' '.join(approved.text.split()))
    assert f'https://portal.example.mx{RESULT}' in approved.text
    # Paid: Ana gets the receipt as the company's address does, PDF and all.
    assert receipt.subject == f'Recibo de pago {FIRST}'
    assert receipt.attachments == (f'recibo-{CANON}-{FIRST}.pdf',)
    [company_receipt] = [m for m in mails_to(portal_mailer, f'{CANON.lower()}@example.mx')
                         if m.subject == receipt.subject]
    assert company_receipt.text == receipt.text
    for reader in (ana, payer):
        shown = decision_text(reader.get(RESULT))
        assert shown.startswith(f'{COMPANY} aprobó esta solicitud el 29/11/2026')
        assert 'Aprobó $20,000.00 MXN de los $27,794.52 MXN que se pidieron.' in shown


def test_ana_reads_the_rejection_with_its_comment_on_her_mail_and_both_pages(
        payer, portal, banks, portal_mailer):
    ana = captura(portal, banks)
    prepare(ana, '6212976')
    form = form_of(payer.get(RESULT), '@@rechazar')
    form['comentario'] = 'Esperemos a la nota de crédito <b>'
    form.submit(status=303)
    assert state_of(portal) == 'cancelled'
    [mail] = mails_to(portal_mailer, ANA)
    assert mail.subject == f'Solicitud de pago {FIRST} rechazada'
    assert f'{COMPANY} rechazó el 29/11/2026' in mail.text
    assert '  «Esperemos a la nota de crédito <b>»\n' in mail.text
    assert f'https://portal.example.mx/customers/{CANON}/saldos' in mail.text
    for reader in (ana, payer):
        page = reader.get(RESULT)
        assert page.html.find('h2').get_text(strip=True) == 'Solicitud de pago rechazada'
        assert decision_text(page).startswith(f'{COMPANY} rechazó esta solicitud el 29/11/2026')
        assert page.html.select_one('#request-decision blockquote').get_text() == \
            'Esperemos a la nota de crédito <b>'


def test_a_refused_decision_tells_ana_nothing_and_changes_nothing(
        payer, portal, banks, portal_mailer):
    ana = captura(portal, banks)
    prepare(ana, '6212976')
    portal_mailer.outbox.clear()
    # A rejection without a comment, an approval raising the amount, Ana deciding her own:
    # each comes back as the request's page, nothing written, nobody mailed.
    rejection = form_of(payer.get(RESULT), '@@rechazar')
    rejection['comentario'] = '   '
    approval = form_of(payer.get(RESULT), '@@aprobar')
    approval['amount-6212976'] = '99999.00'
    token = ana.csrf()
    with nothing_changes(portal):
        rejection.submit(status=400)
        approval.submit(status=400)
        ana.post(f'{RESULT}@@rechazar', {'csrf_token': token, 'comentario': 'no'}, status=403)
    assert state_of(portal) == 'requested'
    assert portal_mailer.outbox == []
    assert decision_text(payer.get(RESULT)) is None


def test_ana_reads_that_nobody_decided_and_the_page_says_when_it_expired(
        payer, portal, banks, portal_mailer):
    ana = captura(portal, banks)
    page = prepare(ana, '6212976')
    # Prepared on Sunday 29 November: two business days, Monday and Tuesday.
    waiting = ' '.join(page.html.find('section', class_='payment-result').get_text(' ').split())
    assert 'Vence: martes 01/12/2026 a las 11:59 p.m.' in waiting and 'a.m..' not in waiting
    deadline = with_root(portal, lambda root: root.payments_by_reference[FIRST].expires_at)
    counts = reconcile(portal.registry._zodb_databases[''], portal.registry.settings,
                       portal.registry.gateways, get_mailer(portal.registry),
                       now=deadline + datetime.timedelta(minutes=1))
    assert counts == {'request expired': 1}
    [mail] = mails_to(portal_mailer, ANA)
    assert mail.subject == f'Solicitud de pago {FIRST} vencida sin aprobación'
    assert 'la fecha límite era el martes 01/12/2026 a las 11:59 p.m.' in mail.text
    # A second run finds nothing to expire and mails nothing more.
    reconcile(portal.registry._zodb_databases[''], portal.registry.settings,
              portal.registry.gateways, get_mailer(portal.registry),
              now=deadline + datetime.timedelta(minutes=2))
    assert len(mails_to(portal_mailer, ANA)) == 1
    for reader in (ana, payer):
        page = reader.get(RESULT)
        assert page.html.find('h2').get_text(strip=True) == \
            'La solicitud de pago venció sin aprobación'
        assert decision_text(page) == ('Nadie la aprobó ni la rechazó antes de la fecha límite, '
                                       'el martes 01/12/2026 a las 11:59 p.m.')


def test_a_disabled_preparer_is_not_mailed(payer, portal, banks, portal_mailer):
    prepare(captura(portal, banks), '6212976')

    def disable(root):
        root.customers.find_user_by_email(ANA).disabled = True
    with_root(portal, disable)
    form = form_of(payer.get(RESULT), '@@rechazar')
    form['comentario'] = 'no'
    form.submit(status=303)
    assert state_of(portal) == 'cancelled' and mails_to(portal_mailer, ANA) == []
