"""The companies' fiscal data on its way to the ERP: the staff's pending changes, the
export from /manage and from ``canonportal-export --kind fiscal``, each kept and audited."""
import csv
import datetime
import io

import pytest

from canonportal import clock
from canonportal.erp.fiscal import change_fiscal
from canonportal.scripts import erp_export
from manage_support import audit_entries, staff_client
from portal_support import CANON, IXTAPA, nothing_changes, with_root
from script_support import change_root, last_tid, read_root

PAGE = '/manage/@@datos-fiscales'
PDF = b'%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n'
FACTS = {'razon_social': 'CANON MEXICANA', 'regimen': '601', 'cp': '11000', 'uso_cfdi': 'G03'}


def rows_of(data):
    return list(csv.DictReader(io.StringIO(data.decode('utf-8-sig'))))


def change(app_or_root, rfc=CANON, **fields):
    def work(root):
        change_fiscal(root, root.customers[rfc], dict(FACTS, **fields), None,
                      f'customer:{rfc}', clock.utcnow())
    return work(app_or_root) if not hasattr(app_or_root, 'registry') else with_root(
        app_or_root, work)


def save_on_the_page(client, constancia=None):
    """The company's administrator saves FACTS (and the Constancia) on DATOS FISCALES."""
    admin = client.sign_in_active()
    form = admin.get(f'/customers/{CANON}/datos-fiscales').forms['fiscal-form']
    for name, value in FACTS.items():
        form[name] = value
    if constancia is not None:
        form['constancia'] = ('constancia.pdf', constancia)
    form.submit(status=303)


def test_staff_see_a_companys_change_export_it_and_it_is_no_longer_pending(app, client):
    save_on_the_page(client)

    staff = staff_client(app)
    dashboard = staff.get('/manage/')
    assert '1 empresa cambió sus datos fiscales' in dashboard.html.find(
        id='fiscal-pending-note').get_text(' ', strip=True)
    pending = staff.get(PAGE)
    [row] = pending.html.find(id='fiscal-pending').find('tbody').find_all('tr')
    cells = [td.get_text(' ', strip=True) for td in row.find_all('td')]
    assert cells[:5] == [CANON, 'CANON MEXICANA', '601 General de Ley Personas Morales',
                         '11000', 'G03 Gastos en general']

    record_page = pending.forms['fiscal-export-form'].submit('mode', value='pending', status=303).follow()
    assert 'Se exportaron los datos fiscales de 1 empresa' in record_page.text
    assert record_page.html.find(id='export-companies').find('a').get_text() == CANON
    download = staff.get(record_page.html.find(id='export-download')['href'])
    [exported] = rows_of(download.body)
    assert {k: exported[k] for k in ('rfc', 'razon_social', 'regimen_fiscal', 'codigo_postal',
                                     'uso_cfdi')} == {
        'rfc': CANON, 'razon_social': 'CANON MEXICANA', 'regimen_fiscal': '601',
        'codigo_postal': '11000', 'uso_cfdi': 'G03'}
    [(actor, _action, _target, _before, after, note)] = audit_entries(app, 'erp.export-fiscal')
    assert (actor, after, note) == ('staff:alice', CANON, '1 empresas')

    assert staff.get(PAGE).html.find(id='fiscal-pending') is None
    assert staff.get('/manage/').html.find(id='fiscal-pending-note') is None
    with nothing_changes(app):
        refused = staff.post(PAGE, {'mode': 'pending', 'csrf_token': staff.csrf()}, status=400)
    assert 'No hay datos fiscales que exportar' in refused.html.find(id='fiscal-notice').text

    change(app, uso_cfdi='G01')          # a later change is pending again
    assert [td.get_text(strip=True) for td in staff.get(PAGE).html.find(
        id='fiscal-pending').find('tbody').find_all('td')][4].startswith('G01')


def test_an_auditor_sees_the_pending_changes_but_cannot_export(app):
    change(app)
    auditor = staff_client(app, 'ana', role='auditor')
    assert CANON in auditor.get(PAGE).html.find(id='fiscal-pending').text
    with nothing_changes(app):
        auditor.post(PAGE, {'mode': 'pending', 'csrf_token': auditor.csrf()}, status=403)


def test_every_spelling_of_the_page_is_the_same_and_customers_never_reach_it(app, client):
    change(app)
    client.sign_in_active()
    with nothing_changes(app):
        for path in (PAGE, '/manage/datos-fiscales', '/manage/datos-fiscales/'):
            assert client.get(path, expect_errors=True).status_int in (302, 303, 403, 404)
    staff = staff_client(app)
    for path in ('/manage/datos-fiscales', '/manage/@@datos-fiscales/'):
        assert CANON in staff.get(path).html.find(id='fiscal-pending').text


def test_the_console_exports_the_pending_changes_once_and_all_on_purpose(
        demo_ini, tmp_path, capsys):
    change_root(demo_ini, lambda root: change(root, rfc=CANON))
    change_root(demo_ini, lambda root: change(root, rfc=IXTAPA, razon_social='=1+1 IXTAPA'))
    out = tmp_path / 'fiscal.csv'
    assert erp_export.main([demo_ini, '--kind', 'fiscal', '-o', str(out)]) == 0
    rows = rows_of(out.read_bytes())
    # By RFC; a name starting like a formula is escaped for spreadsheets.
    assert [(r['rfc'], r['razon_social']) for r in rows] == sorted([
        (CANON, 'CANON MEXICANA'), (IXTAPA, "'=1+1 IXTAPA")])
    assert '2 companies' in capsys.readouterr().err
    kinds = read_root(demo_ini, lambda root: [(r.kind, r.references)
                                              for r in root.exports.values()])
    assert kinds == [('fiscal', tuple(sorted([CANON, IXTAPA])))]

    tid = last_tid(demo_ini)
    assert erp_export.main([demo_ini, '--kind', 'fiscal', '-o', str(tmp_path / 'n.csv')]) == 0
    assert 'no fiscal changes to export' in capsys.readouterr().err
    assert not (tmp_path / 'n.csv').exists() and last_tid(demo_ini) == tid

    stdout = io.BytesIO()
    assert erp_export.main([demo_ini, '--kind', 'fiscal', '--all'], stdout=stdout) == 0
    assert len(rows_of(stdout.getvalue())) == 2


@pytest.mark.parametrize('arguments', [['--since', '2017-10-01'], ['--new-only']])
def test_the_fiscal_export_takes_no_dates(demo_ini, arguments):
    tid = last_tid(demo_ini)
    with pytest.raises(SystemExit) as refused:
        erp_export.main([demo_ini, '--kind', 'fiscal', *arguments])
    assert refused.value.code == 2 and last_tid(demo_ini) == tid


def test_the_evolve_step_notes_companies_that_kept_fiscal_data(app):
    from canonportal import evolve

    def work(root):
        change(root)
        root.fiscal_changes = None
        evolve.fiscal_changes(root)
        return dict(root.fiscal_changes)
    noted = with_root(app, work)
    assert list(noted) == [CANON] and isinstance(noted[CANON], datetime.datetime)


def test_the_staffs_customer_page_shows_the_fiscal_data_and_its_constancia(app, client):
    save_on_the_page(client, constancia=PDF)
    staff = staff_client(app, 'ana', role='auditor')
    customer = staff.get(f'/manage/customers/{CANON}')
    text = customer.html.find('main').get_text(' ', strip=True)
    assert 'CANON MEXICANA · Régimen 601 · C.P. 11000 · CFDI G03 · sin exportar al ERP' in text
    pdf = staff.get(f'/manage/customers/{CANON}/@@constancia-fiscal.pdf')
    assert pdf.content_type == 'application/pdf' and pdf.body == PDF
    staff.get(f'/manage/customers/{IXTAPA}/@@constancia-fiscal.pdf', status=404)
