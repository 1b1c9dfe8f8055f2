"""BITÁCORA reads as sentences: who did what, with names and links, in the reader's
language; never the system's words (states, principal ids, paths, English notes)."""
import re
from urllib.parse import urlsplit

from canonportal.bootstrap import DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD
from portal_support import CANON, Client, last_form, mails_to, with_root
from payment_support import accept, confirmation, new_payer

AUDIT = f'/customers/{CANON}/bitacora'
USERS = f'/customers/{CANON}/usuarios'
COMPANY = 'Canon Mexicana SA de CV'
PASSWORD = 'Colega-Canon-2026!'
#: What the log stores and no reader should see.
SYSTEM_WORDS = re.compile(r'→|accounts=|/users/|company\.|payment\.|pending|requested|approved|'
                          r'declined|rejected by|customer-user:|company-user:|bank:|system:')


def sentences(client, path=AUDIT):
    page = client.get(path)
    return [' '.join(td.get_text().split()) for td in page.html.select('#company-audit td.sentence')], page


def link_of(page, text):
    return page.html.find('td', class_='sentence').find_parent('tbody').find('a', string=text)['href']


def invite(admin, email, name, role, accounts=()):
    form = next(f for f in admin.get(USERS).forms.values() if f.action.endswith('/usuarios'))
    form['email'], form['name'], form['role'] = email, name, role
    for box in form.fields.get('accounts', []):
        box.checked = box._value in accounts  # noqa: SLF001
    form.submit(status=303)


def test_the_bitacora_tells_what_people_did_and_what_became_of_the_payments(
        payer, portal, banks, portal_mailer):
    invite(payer, 'luis@example.mx', 'Luis Ruiz', 'consulta', accounts=('005301',))
    luis = Client(portal, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    [mail] = mails_to(portal_mailer, 'luis@example.mx')
    form = last_form(luis.get(urlsplit(mail.link('/bienvenida')).path))
    form['password'] = form['password_confirmation'] = PASSWORD
    form.submit(status=303)
    user_id = with_root(portal, lambda root: root.customers[CANON].user_with_email('luis@example.mx').__name__)
    form = next(f for f in payer.get(USERS).forms.values() if f.action.endswith(f'{user_id}/@@cambiar'))
    form['role'] = 'pago'
    for box in form.fields.get('accounts', []):
        box.checked = False
    form.submit(status=303)
    # Ana's request above the threshold, rejected; then a card her bank declines.
    ana = new_payer(portal, banks)
    assert ana.login(DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD).status_int == 303
    assert ana.pay('bbva', '6212976').status_int == 303                  # 229, a request
    form = next(f for f in payer.get(f'/customers/{CANON}/payments/229/').forms.values()
                if f.action.endswith('@@rechazar'))
    form['comentario'] = 'Esperemos la nota <b>de crédito</b>'
    form.submit(status=303)
    ana.at_bank(accept(confirmation(ana, 'bbva', {'1233080': None})), expiry='05/39')   # 230
    banks.wait_for_deliveries()
    payer.at_bank(accept(confirmation(payer, 'bbva', {'1233080': None})))               # 231
    banks.wait_for_deliveries()

    shown, page = sentences(payer)
    expected = [
        f'{COMPANY} invitó a Luis Ruiz (luis@example.mx) con el rol Consulta; puede ver 005301.',
        'Luis Ruiz aceptó la invitación y entró al portal por primera vez.',
        f'{COMPANY} cambió el acceso de Luis Ruiz: de Consulta (005301) a Pago (todas las cuentas).',
        'Ana Compras preparó el pago 229 por $27,794.52 MXN; espera aprobación.',
        f'{COMPANY} rechazó el pago 229: «Esperemos la nota <b>de crédito</b>».',
        'Ana Compras preparó el pago 230 por $5,904.42 MXN.',
        'BBVA Bancomer rechazó el pago 230: El banco que emitió la tarjeta no autorizó el cargo y '
        'no dijo por qué.',
        f'{COMPANY} preparó el pago 231 por $5,904.42 MXN.',
        'BBVA Bancomer confirmó el pago 231.',
    ]
    in_order = [line for line in reversed(shown) if line in expected]
    assert in_order == expected, shown
    assert not [line for line in shown if SYSTEM_WORDS.search(line)], shown
    assert 'Ana Compras entró al portal.' in shown
    # Names and payments link to where they are; a comment is text, never markup.
    assert link_of(page, '229').endswith(f'/customers/{CANON}/payments/229/')
    assert link_of(page, 'Luis Ruiz').endswith(f'/customers/{CANON}/usuarios#user-{user_id}')
    assert page.html.find('b') is None and '&lt;b&gt;' in page.text
    # In English, the same sentences in English.
    payer.set_cookie('lang', 'en')
    english, _page = sentences(payer)
    assert 'Ana Compras prepared payment 229 for $27,794.52 MXN; it awaits approval.' in english
    assert 'BBVA Bancomer confirmed payment 231.' in english
    assert not [line for line in english if 'preparó' in line or 'pago ' in line]


def test_the_approval_rule_and_a_disabled_person_read_as_sentences(payer, portal):
    form = next(f for f in payer.get(USERS).forms.values() if f.action.endswith('@@aprobacion'))
    form['politica'] = 'above'
    form['monto'] = '25000'
    form.submit(status=303)
    user_id = with_root(portal, lambda root: root.customers[CANON].user_with_email(DEMO_CAPTURA_EMAIL).__name__)
    form = next(f for f in payer.get(USERS).forms.values() if f.action.endswith(f'{user_id}/@@deshabilitar'))
    form.submit(status=303)
    shown, _page = sentences(payer)
    assert shown[:2] == [
        f'{COMPANY} deshabilitó a Ana Compras: ya no puede entrar al portal.',
        f'{COMPANY} cambió la regla de aprobación: los pagos que prepara una persona con rol '
        'Captura por más de $25,000.00 MXN esperan aprobación.']


def test_only_administrators_read_the_bitacora(portal, banks):
    ana = new_payer(portal, banks)
    assert ana.login(DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD).status_int == 303
    ana.get(AUDIT, status=403)
