"""The ERP import of payment complements (REP): the checks, the matching to portal payments
and to payments made outside the portal, duplicates, replacements, and hostile XML."""
import datetime
from decimal import Decimal

import pytest

from canonportal.bootstrap import demo_uuid
from canonportal.demo_complements import (
    EXAMPLE_UUID, document, example_228, example_228_pdf, payment, rep_xml,
)
from canonportal.erp import rep as rep_module
from canonportal.erp.imports import detect_kind, run_import
from canonportal.i18n import spanish
from erp_samples import a_uuid, named_files, pdf_bytes
from portal_support import CANON, IXTAPA, nothing_changes, with_root

ACTOR = 'staff:alice'
NOW = datetime.datetime(2026, 11, 30, 7, 15, tzinfo=datetime.timezone.utc)
INVOICE_228 = demo_uuid('1233074')
EQUIVALENCE = (Decimal(1) / Decimal('18.31')).quantize(Decimal('1e-10'))


def run(app, files, kind=None):
    """Import ``files`` ({name: bytes}) in one transaction, committed when the import is
    good; returns the report with its text in Spanish (``lines``)."""
    def work(root):
        report = run_import(root, named_files(files), ACTOR, kind=kind, now=NOW,
                            settings=app.registry.settings)
        report.lines = report.text()
        if not report.ok:
            raise Refused(report)
        return report
    try:
        return with_root(app, work)
    except Refused as refusal:
        return refusal.report


class Refused(Exception):
    """A refused import: its transaction is aborted, as the callers abort it."""

    def __init__(self, report):
        super().__init__(report.text())
        self.report = report


def refused(app, files, kind=None, settings=None):
    """The reasons a refused import gives (Spanish, one text), after checking that it
    changed nothing."""
    def work(root):
        report = run_import(root, named_files(files), ACTOR, kind=kind, now=NOW,
                            settings=app.registry.settings if settings is None else settings)
        raise Refused(report)
    with nothing_changes(app):
        with pytest.raises(Refused) as refusal:
            with_root(app, work)
    report = refusal.value.report
    assert not report.ok
    return ' | '.join(f'{source}:{line}: {spanish(reason)}'
                      for source, line, reason in report.errors)


def outside(uuid, instalment=1, before='27794.52', paid='10000.00', day='2017-10-20T12:00:00',
            operation='ERP-TRANSF-1', invoice='6212976', after=None, replaces=()):
    """A REP for a payment of an MXN invoice the ERP applied outside the portal."""
    doc = document(demo_uuid(invoice), paid, before, instalment, 'MXN', folio=invoice,
                   after=after)
    return rep_xml(uuid, CANON, 'CANON MEXICANA', [payment(day, paid, [doc], operation)],
                   '2017-10-21T09:00:00', replaces=replaces)


def rep_228(uuid=a_uuid('rep-228'), day='2017-10-10T08:34:00', amount='18.31', paid='1.00',
            before='160.71', instalment=1, operation='BC-Banamex 063197', replaces=(),
            invoice=INVOICE_228, receptor=CANON, **options):
    doc = document(invoice, paid, before, instalment, 'USD', equivalence=EQUIVALENCE,
                   folio='1233074')
    return rep_xml(uuid, receptor, 'CANON MEXICANA', [payment(day, amount, [doc], operation)],
                   '2017-11-02T10:00:00', replaces=replaces, **options)


def stored(app, uuid):
    def read(root):
        complement = root.complements_by_uuid.get(uuid)
        if complement is None:
            return None
        canon = root.customers[complement.customer_rfc]
        return {
            'references': [p.reference for p in complement.payments],
            'invoices': complement.invoice_keys, 'accounts': complement.accounts,
            'xml': complement.xml.open('r').read() if complement.xml else None,
            'pdf': complement.pdf is not None, 'replaced_by': complement.replaced_by,
            'replaces': complement.replaces,
            'on_payment': {ref: canon.payments[ref].complements
                           for ref in complement.references},
            'on_invoices': {key: canon.invoices[key].complements
                            for key in complement.invoice_keys},
        }
    return with_root(app, read)


def test_the_example_rep_of_payment_228_is_kept_on_the_payment_and_its_invoice(app):
    xml = example_228()
    report = run(app, {'REP-228.xml': xml, 'REP-228.pdf': example_228_pdf()})
    assert report.ok, report.lines
    assert (report.kind, report.created, report.updated, report.unchanged) == (
        'complements', 1, 0, 0)
    assert 'Complementos de pago nuevos: 1 (pagos fuera del portal: 0' in report.lines
    kept = stored(app, EXAMPLE_UUID)
    assert kept['references'] == ['228'] and kept['invoices'] == ('1233074',)
    assert kept['accounts'] == ('005300',) and kept['xml'] == xml and kept['pdf']
    assert kept['on_payment'] == {'228': (EXAMPLE_UUID,)}
    assert kept['on_invoices'] == {'1233074': (EXAMPLE_UUID,)}
    assert with_root(app, lambda root: root.imports[report.record.__name__].kind) == 'complements'


def test_the_same_file_twice_changes_nothing_and_says_so(app):
    files = {'REP-228.xml': example_228()}
    assert run(app, files).created == 1
    before = stored(app, EXAMPLE_UUID)
    again = run(app, files)
    assert again.ok and (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert f'El complemento {EXAMPLE_UUID} ya estaba importado' in again.lines
    assert stored(app, EXAMPLE_UUID) == before
    # The PDF it lacked comes later: only that is added.
    late = run(app, {'REP-228.xml': example_228(), f'{EXAMPLE_UUID}.pdf': pdf_bytes('REP')})
    assert (late.created, late.updated) == (0, 1)
    assert stored(app, EXAMPLE_UUID)['pdf'] is True


def test_without_numoperacion_the_payment_is_found_by_day_amount_and_invoice(app):
    report = run(app, {'rep.xml': rep_228(operation='')})
    assert report.ok, report.lines
    assert stored(app, a_uuid('rep-228'))['references'] == ['228']


def test_a_rep_the_kind_of_which_is_detected_from_the_xml():
    import io
    assert detect_kind([('x.xml', io.BytesIO(example_228()), True)]) == 'complements'


@pytest.mark.parametrize('options, reason', [
    ({'emisor_rfc': 'AAA010101AAA'}, 'El emisor AAA010101AAA no es la empresa (CMX800101AB1)'),
    ({'receptor': 'GODE561231GR8'}, 'El receptor GODE561231GR8 no es cliente del portal'),
    ({'invoice': a_uuid('nobody')}, 'no es ninguna factura del portal'),
    ({'invoice': demo_uuid('7100501')}, f'no es del cliente {CANON}'),
    ({'instalment': 2}, 'NumParcialidad 2 de la factura 1233074; el pago 228 es la parcialidad 1'),
    ({'before': '150.00'}, 'La parcialidad 1 de la factura 1233074 parte de su total 160.71'),
    ({'amount': '20.00'}, 'no coincide con la suma de ImpPagado / EquivalenciaDR'),
    ({'total': Decimal('99.00')}, 'MontoTotalPagos 99.00 no coincide'),
    ({'day': '2017-10-11T08:00:00'}, 'FechaPago 2017-10-11, pero el pago 228 se cobró el 2017-10-10'),
    ({'paid': '2.00', 'amount': '36.62'}, 'ImpPagado 2.00 de la factura 1233074; el pago 228 pagó 1.00'),
    ({'tipo': 'I'}, 'parece de facturas, no de complementos de pago'),
    ({'pagos_version': '1.0'}, 'se espera 2.0'),
    ({'moneda': 'MXN'}, 'Moneda XXX'),
])
def test_a_rep_that_disagrees_is_refused_and_changes_nothing(app, options, reason):
    kind = 'complements' if options.get('tipo') else None
    text = refused(app, {'rep.xml': rep_228(**options)}, kind=kind)
    assert reason in text, text


def test_balances_that_do_not_add_up_are_refused(app):
    doc = document(INVOICE_228, '1.00', '160.71', 1, 'USD', equivalence=EQUIVALENCE,
                   after='150.00')
    xml = rep_xml(a_uuid('bad'), CANON, 'CANON MEXICANA',
                  [payment('2017-10-10T08:34:00', '18.31', [doc])], '2017-11-02T10:00:00')
    assert 'no da ImpSaldoInsoluto 150.00' in refused(app, {'rep.xml': xml})


def test_without_the_company_rfc_in_the_settings_nothing_is_imported(app):
    assert 'Falta el RFC de la empresa emisora' in refused(app, {'rep.xml': example_228()},
                                                           settings={})


def test_a_payment_made_outside_the_portal_is_kept_on_its_invoice_and_instalments_follow(app):
    first = run(app, {'a.xml': outside(a_uuid('out-1'))})
    assert first.ok, first.lines
    assert 'pagos fuera del portal: 1' in first.lines
    kept = stored(app, a_uuid('out-1'))
    assert kept['references'] == [None] and kept['on_invoices'] == {'6212976': (a_uuid('out-1'),)}
    # The same instalment again, a balance that does not follow, a number skipped: refused.
    assert 'La parcialidad 1 de la factura 6212976 ya la documenta' in refused(
        app, {'b.xml': outside(a_uuid('out-2'))})
    assert 'no es el saldo insoluto 17794.52 de la parcialidad anterior' in refused(
        app, {'b.xml': outside(a_uuid('out-2'), 2, before='27794.52', paid='1000.00')})
    assert 'salta números: la última documentada es la 1' in refused(
        app, {'b.xml': outside(a_uuid('out-2'), 3, before='17794.52', paid='1000.00')})
    second = run(app, {'b.xml': outside(a_uuid('out-2'), 2, before='17794.52', paid='794.52',
                                        day='2017-10-25T12:00:00')})
    assert second.ok, second.lines
    assert stored(app, a_uuid('out-1'))['on_invoices'] == {
        '6212976': (a_uuid('out-1'), a_uuid('out-2'))}


def test_a_replacement_supersedes_the_rep_it_names_visibly(app):
    assert run(app, {'old.xml': rep_228(uuid=a_uuid('old'))}).ok
    report = run(app, {'new.xml': rep_228(uuid=a_uuid('new'), replaces=(a_uuid('old'),))})
    assert report.ok, report.lines
    old, new = stored(app, a_uuid('old')), stored(app, a_uuid('new'))
    assert old['replaced_by'] == a_uuid('new') and new['replaces'] == a_uuid('old')
    assert new['on_payment'] == {'228': (a_uuid('old'), a_uuid('new'))}
    # Replaced once: a second replacement of the same old one is refused.
    assert f'ya fue sustituido por {a_uuid("new")}' in refused(
        app, {'x.xml': rep_228(uuid=a_uuid('third'), replaces=(a_uuid('old'),))})
    # Without TipoRelacion 04 a second REP of the same instalment is refused.
    assert 'La parcialidad 1 de la factura 1233074 ya la documenta el complemento' in refused(
        app, {'y.xml': rep_228(uuid=a_uuid('fourth'))})
    entries = with_root(app, lambda root: [
        (e.action, e.after) for e in root.audit_log.search(action='erp.complement.replace')])
    assert entries == [('erp.complement.replace', f'replaced_by={a_uuid("new")}')]


def test_a_replacement_of_an_unknown_rep_is_kept_with_a_warning(app):
    report = run(app, {'new.xml': rep_228(uuid=a_uuid('new'), replaces=(a_uuid('ghost'),))})
    assert report.ok and f'Sustituye al complemento {a_uuid("ghost")}' in report.lines


def test_two_files_with_one_uuid_and_csv_files_are_refused(app):
    text = refused(app, {'a.xml': example_228(), 'b.xml': example_228()})
    assert f'El complemento {EXAMPLE_UUID} también está en a.xml' in text
    text = refused(app, {'a.xml': example_228(), 'x.csv': b'a,b\n1,2\n'}, kind='complements')
    assert text.startswith('x.csv:1: ') and EXAMPLE_UUID not in text


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<cfdi:Comprobante xmlns:cfdi="http://www.sat.gob.mx/cfd/4" Version="4.0"
 TipoDeComprobante="P" Moneda="XXX">&lol3;</cfdi:Comprobante>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<cfdi:Comprobante xmlns:cfdi="http://www.sat.gob.mx/cfd/4" Version="4.0"
 TipoDeComprobante="P" Moneda="XXX"><cfdi:Emisor Nombre="x">&xxe;</cfdi:Emisor>
</cfdi:Comprobante>"""


@pytest.mark.parametrize('xml', [BILLION_LAUGHS, XXE], ids=['billion-laughs', 'xxe'])
def test_entities_are_never_expanded_nor_files_read(app, xml):
    text = refused(app, {'evil.xml': xml}, kind='complements')
    assert 'DOCTYPE' in text and 'root:' not in text and 'lollol' not in text


def test_oversized_files_and_too_many_documents_are_refused_before_reading(app, monkeypatch):
    big = example_228().replace(b'</cfdi:Comprobante>',
                                b'<!--' + b'x' * rep_module.MAX_REP_BYTES + b'--></cfdi:Comprobante>')
    assert 'pesa más de 2 MB' in refused(app, {'big.xml': big}, kind='complements')
    monkeypatch.setattr(rep_module, 'MAX_DOCUMENTS', 0)
    assert 'el portal acepta hasta 500 y 0' in refused(app, {'rep.xml': example_228()})


def test_an_invoice_file_named_as_complements_and_a_rep_as_invoices_are_refused(app):
    assert 'parece de complementos de pago, no de facturas' in refused(
        app, {'rep.xml': example_228()}, kind='invoices')
