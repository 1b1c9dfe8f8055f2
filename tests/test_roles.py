"""Role × page × action: what each person of a customer company may reach. Only what the
role allows answers 2xx; the rest is 403 (and the other customer reaches nothing)."""
import pytest

from canonportal.passwords import hash_password
from canonportal.resources.company_user import CompanyUser
from portal_support import CANON, IXTAPA, with_root
from payment_support import new_payer

PASSWORD = 'Matriz-Roles-2026!'
BASE = f'/customers/{CANON}'
PAGES = ('estados-de-cuenta', 'facturas', 'saldos', 'historial-de-pagos', 'usuarios', 'bitacora')
#: The pages each role reaches (everything else: 403).
ALLOWED_PAGES = {
    'consulta': {'estados-de-cuenta', 'facturas', 'saldos', 'historial-de-pagos'},
    'captura': {'estados-de-cuenta', 'facturas', 'saldos', 'historial-de-pagos'},
    'pago': {'estados-de-cuenta', 'facturas', 'saldos', 'historial-de-pagos'},
    'admin': set(PAGES),
}
#: The actions each role may take: the bank's confirmation page, inviting, the approval rule.
ALLOWED_ACTIONS = {
    'consulta': set(),
    'captura': {'pagar'},
    'pago': {'pagar'},
    'admin': {'pagar', 'usuarios', 'aprobacion'},
}


def person(portal, banks, role, accounts=()):
    def add(root):
        user = CompanyUser(f'{role}@example.mx', role.title(), role, accounts)
        user.__name__ = f'u{role}'
        user.password_hash = hash_password(PASSWORD)
        root.customers[CANON].add_user(user)
    with_root(portal, add)
    client = new_payer(portal, banks)
    assert client.login(f'{role}@example.mx', PASSWORD).status_int == 303
    return client


def actions(client):
    token = client.csrf()
    return {
        'pagar': (f'{BASE}/pagar', {'csrf_token': token, 'bank': 'bbva', 'pick': '6212976'}),
        'usuarios': (f'{BASE}/usuarios', {'csrf_token': token, 'email': 'x@example.mx',
                                          'name': 'X', 'role': 'consulta'}),
        'aprobacion': (f'{BASE}/@@aprobacion', {'csrf_token': token, 'politica': 'always'}),
    }


@pytest.mark.parametrize('role', ['consulta', 'captura', 'pago', 'admin'])
def test_each_role_reaches_only_what_it_allows(portal, banks, role):
    client = person(portal, banks, role)
    for name in PAGES:
        response = client.get(f'{BASE}/{name}', status='*')
        expected = 200 if name in ALLOWED_PAGES[role] else 403
        assert response.status_int == expected, (role, name, response.status_int)
    for name, (url, fields) in actions(client).items():
        response = client.post(url, fields, status='*')
        if name in ALLOWED_ACTIONS[role]:
            assert response.status_int in (200, 303), (role, name, response.status_int)
        else:
            assert response.status_int == 403, (role, name, response.status_int)
    # Nothing of the other customer, whatever the role.
    for name in PAGES:
        assert client.get(f'/customers/{IXTAPA}/{name}', status='*').status_int == 403


def test_an_account_limited_payer_cannot_pay_another_accounts_invoice(portal, banks):
    client = person(portal, banks, 'pago', accounts=('005301',))
    url, fields = actions(client)['pagar']
    refused = client.post(url, fields, status=400)          # 6212976 is of 005300
    assert '6212976' in refused.html.find(id='saldos-errors').get_text()
    fields['pick'] = '6213050'
    assert client.post(url, fields, status=200).html.find('h2', id='confirm-title') is not None
