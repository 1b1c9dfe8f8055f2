"""DATOS FISCALES: a company's administrators keep the data its CFDIs are stamped with,
checked against the SAT's catalogues; changes are audited and wait for the ERP export."""
import json

import pytest

from canonportal import sat_catalogs
from canonportal.bootstrap import DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD
from portal_support import CANON, IXTAPA, nothing_changes, with_root
from manage_support import audit_entries

FISCAL = f'/customers/{CANON}/datos-fiscales'
PDF = b'%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n'


@pytest.fixture
def admin(client):
    return client.sign_in_active()


def fiscal_of(app, rfc=CANON):
    def read(root):
        c = root.customers[rfc]
        return (c.fiscal_name, c.fiscal_regime, c.fiscal_zip, c.cfdi_use, c.fiscal_pending)
    return with_root(app, read)


def submit(admin, status, upload=None, **fields):
    page = admin.get(FISCAL)
    form = page.forms['fiscal-form']
    values = {'razon_social': 'CANON MEXICANA', 'regimen': '601', 'cp': '11000',
              'uso_cfdi': 'G03'}
    values.update(fields)
    for name, value in values.items():
        form[name] = value
    if upload is not None:
        form['constancia'] = upload
    return form.submit(status=status)


def error_of(page, field_id):
    error = page.html.find(id=f'{field_id}-error')
    return error.get_text(' ', strip=True) if error else None


def test_an_incompatible_uso_is_refused_next_to_the_field_then_a_compatible_one_is_saved(
        admin, app):
    assert 'DATOS FISCALES' in admin.get(f'/customers/{CANON}/usuarios').text
    with nothing_changes(app):
        # A resident abroad without a permanent establishment (610) may only ask S01 or CP01.
        page = submit(admin, 400, regimen='610')
    assert 'El SAT no acepta el uso de CFDI G03 para el régimen 610' in error_of(page, 'fiscal-use')
    summary = page.html.find(id='fiscal-errors')      # above the form, in sight on arrival
    assert 'El SAT no acepta el uso de CFDI G03' in summary.get_text()
    assert summary.find('a')['href'] == '#fiscal-use'
    form = page.forms['fiscal-form']
    assert (form['razon_social'].value, form['regimen'].value, form['cp'].value,
            form['uso_cfdi'].value) == ('CANON MEXICANA', '610', '11000', 'G03')
    assert fiscal_of(app) == (None, None, None, None, False)

    page = submit(admin, 303).follow()
    assert 'Se guardaron los datos fiscales' in page.text
    assert page.html.find(id='fiscal-pending') is not None
    assert fiscal_of(app) == ('CANON MEXICANA', '601', '11000', 'G03', True)
    [(actor, _action, target, before, after, _note)] = audit_entries(app, 'company.fiscal')
    assert (actor, target) == (f'customer:{CANON}', f'/customers/{CANON}')
    assert json.loads(before)['uso_cfdi'] == '' and json.loads(after) == {
        'razon_social': 'CANON MEXICANA', 'regimen': '601', 'cp': '11000', 'uso_cfdi': 'G03'}
    log = admin.get(f'/customers/{CANON}/bitacora')
    assert 'cambió los datos fiscales' in log.html.find(id='company-audit').get_text()


def test_the_regimes_offered_are_those_of_the_rfcs_person_type(admin):
    page = admin.get(FISCAL)
    offered = [o for o, *_rest in page.forms['fiscal-form']['regimen'].options if o]
    assert '601' in offered and '612' not in offered      # 612: personas físicas only


@pytest.mark.parametrize('fields, field_id, message', [
    ({'cp': '1100'}, 'fiscal-zip', 'El código postal tiene 5 dígitos'),
    ({'cp': '11OOO'}, 'fiscal-zip', 'El código postal tiene 5 dígitos'),
    ({'cp': '00000'}, 'fiscal-zip', 'El código postal 00000 no está en el catálogo del SAT'),
    ({'cp': '１１０００'}, 'fiscal-zip', 'El código postal tiene 5 dígitos'),
    ({'razon_social': 'A' * 255}, 'fiscal-name', 'como máximo 254 caracteres'),
    ({'razon_social': '   '}, 'fiscal-name', 'Constancia de Situación Fiscal'),
])
def test_bad_data_is_refused_and_changes_nothing(admin, app, fields, field_id, message):
    page = admin.get(FISCAL)
    form = page.forms['fiscal-form']
    values = {'razon_social': 'CANON MEXICANA', 'regimen': '601', 'cp': '11000',
              'uso_cfdi': 'G03'}
    values.update(fields)
    with nothing_changes(app):
        page = admin.post(FISCAL, dict(values, csrf_token=admin.csrf()), status=400)
    assert message in error_of(page, field_id)
    assert fiscal_of(app) == (None, None, None, None, False)


def test_a_uso_or_regime_outside_what_the_page_offers_is_refused(admin, app):
    with nothing_changes(app):
        page = admin.post(FISCAL, {'razon_social': 'CANON MEXICANA', 'regimen': '601',
                                   'cp': '11000', 'uso_cfdi': 'D01',   # personas físicas only
                                   'csrf_token': admin.csrf()}, status=400)
    assert 'El SAT no acepta el uso de CFDI D01' in error_of(page, 'fiscal-use')


def test_a_regime_of_the_other_person_type_is_refused(admin, app):
    with nothing_changes(app):
        page = admin.post(FISCAL, {'razon_social': 'CANON MEXICANA', 'regimen': '612',
                                   'cp': '11000', 'uso_cfdi': 'G03',
                                   'csrf_token': admin.csrf()}, status=400)
    assert 'Elija un régimen fiscal de la lista' in error_of(page, 'fiscal-regime')


@pytest.mark.parametrize('upload, message', [
    (('constancia.pdf', b'GIF89a not a pdf'), 'debe ser un archivo PDF'),
    (('constancia.pdf', b'%PDF-1.4\n' + b'0' * (512 * 1024)), 'pasa del límite de 512 KB'),
])
def test_a_bad_constancia_is_refused_and_changes_nothing(admin, app, upload, message):
    with nothing_changes(app):
        page = submit(admin, 400, upload=upload)
    assert message in error_of(page, 'fiscal-constancia')
    assert fiscal_of(app) == (None, None, None, None, False)


def test_the_constancia_is_kept_and_downloaded_by_the_administrators(admin, app):
    page = submit(admin, 303, upload=('constancia.pdf', PDF)).follow()
    link = page.html.find('a', string='Descargar la Constancia guardada')['href']
    download = admin.get(link)
    assert download.content_type == 'application/pdf' and download.body == PDF
    [entry] = audit_entries(app, 'company.fiscal')
    assert 'constancia_sha256' in json.loads(entry[4])


@pytest.mark.parametrize('role', ['consulta', 'captura'])
def test_a_consulta_or_captura_colleague_gets_403(client, app, role):
    def set_role(root):
        [user] = [u for u in root.customers[CANON].users.values()
                  if u.email == DEMO_CAPTURA_EMAIL]
        user.role = role
    with_root(app, set_role)
    client.login(DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD)
    assert 'DATOS FISCALES' not in client.get(f'/customers/{CANON}/estados-de-cuenta').text
    with nothing_changes(app):
        client.get(FISCAL, status=403)
        client.post(FISCAL, {'razon_social': 'X', 'regimen': '601', 'cp': '11000',
                             'uso_cfdi': 'G03', 'csrf_token': client.csrf()}, status=403)
        client.get(f'/customers/{CANON}/constancia-fiscal.pdf', status=403)


def test_another_company_cannot_reach_it(admin, app, other_client):
    submit(admin, 303, upload=('constancia.pdf', PDF))
    other_client.sign_in_active(rfc=IXTAPA)
    with nothing_changes(app):
        for path in (FISCAL, f'/{FISCAL.strip("/")}/', f'/customers/{CANON}/@@datos-fiscales',
                     f'/customers/{CANON}/constancia-fiscal.pdf'):
            assert other_client.get(path, expect_errors=True).status_int in (403, 404)
        other_client.post(FISCAL, {'razon_social': 'X', 'regimen': '601', 'cp': '11000',
                                   'uso_cfdi': 'G03', 'csrf_token': other_client.csrf()},
                          expect_errors=True)
    assert fiscal_of(app)[0] == 'CANON MEXICANA'


@pytest.mark.parametrize('code, known', [('11000', True), ('06600', True), ('20000', True),
                                         ('99999', True), ('00999', False), ('00000', False), ('1100', False),
                                         ('１１０００', False), ('', False)])
def test_postal_codes_are_those_of_the_sats_catalogue(code, known):
    assert sat_catalogs.zip_exists(code) is known
