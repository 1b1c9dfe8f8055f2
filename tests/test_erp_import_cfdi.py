"""Reading CFDI 4.0 invoices and the cells of ERP files."""
import datetime
from decimal import Decimal

import pytest

from canonportal.erp import cfdi, fields
from canonportal.erp.fields import FieldError
from canonportal.i18n import spanish
from erp_samples import a_uuid, cfdi_xml


def test_a_stamped_income_cfdi_gives_the_fields_the_portal_keeps():
    uuid = a_uuid('read-me')
    doc = cfdi.parse(cfdi_xml('4501', serie='F', uuid=uuid, fecha='2026-11-03T17:45:12',
                              moneda='USD', tipo_cambio='18.886900', total='1234.50',
                              metodo='PPD', receptor='DIS010203AB1', condiciones='Crédito 45 días',
                              no_identificacion='CTA-007100'))
    assert (doc.uuid, doc.serie, doc.folio, doc.key) == (uuid, 'F', '4501', 'F-4501')
    assert doc.issued == datetime.date(2026, 11, 3)
    assert (doc.currency, doc.exchange_rate, doc.total) == ('USD', Decimal('18.8869'),
                                                           Decimal('1234.50'))
    assert (doc.method, doc.receptor_rfc, doc.emisor_rfc) == ('PPD', 'DIS010203AB1',
                                                              'CMX800101AB1')
    assert doc.terms_days == 45
    assert doc.account_hints == ('007100',)
    assert doc.warnings == ()


def test_the_uuid_is_read_from_the_timbre_and_uppercased():
    doc = cfdi.parse(cfdi_xml('1', uuid=a_uuid('x').lower()))
    assert doc.uuid == a_uuid('x')


def test_an_addenda_account_comes_before_the_product_code_account():
    doc = cfdi.parse(cfdi_xml('2', account='005301', no_identificacion='CTA-005300'))
    assert doc.account_hints == ('005301', '005300')


@pytest.mark.parametrize('terms, days', [
    ('30 días', 30), ('Crédito 60 dias', 60), ('NETO 15', 15), ('Contado', None), ('', None),
])
def test_credit_days_from_condiciones_de_pago(terms, days):
    assert cfdi.parse(cfdi_xml('3', condiciones=terms)).terms_days == days


def test_a_rate_with_six_decimals_is_rounded_to_four_with_a_warning():
    doc = cfdi.parse(cfdi_xml('4', moneda='USD', tipo_cambio='18.886951', total='10.00'))
    assert doc.exchange_rate == Decimal('18.8870')
    assert 'redondeó' in spanish(doc.warnings[0][1])


@pytest.mark.parametrize('options, reason', [
    ({'stamped': False}, 'no está timbrado'),
    ({'moneda': 'USD'}, 'no trae TipoCambio'),
    ({'moneda': 'EUR'}, 'no se admite'),
    ({'version': '3.3'}, 'se espera 4.0'),
    ({'total': '-5.00'}, 'negativo'),
    ({'total': 'mil'}, 'no es un importe'),
    ({'fecha': '2026-13-01T10:00:00'}, 'no es válida'),
    ({'receptor': 'NO-ES-RFC'}, 'no tiene un formato válido'),
    ({'folio': ''}, 'Falta el folio'),
    ({'metodo': 'PAGO'}, 'PUE o PPD'),
    ({'namespace': 'http://www.sat.gob.mx/cfd/3'}, 'CFDI 3.3'),
])
def test_documents_the_portal_cannot_take_say_why(options, reason):
    options.setdefault('folio', '5')
    with pytest.raises(cfdi.CfdiError) as refused:
        cfdi.parse(cfdi_xml(**options))
    assert reason in spanish(refused.value.reason)
    assert refused.value.line is not None


def test_a_credit_note_is_not_an_invoice():
    with pytest.raises(cfdi.NotAnInvoice) as skipped:
        cfdi.parse(cfdi_xml('6', tipo='E'))
    assert 'tipo E' in spanish(skipped.value.reason)


def test_broken_xml_and_other_xml_are_refused_with_their_line():
    with pytest.raises(cfdi.CfdiError) as broken:
        cfdi.parse(b'<?xml version="1.0"?>\n<a>\n<b></a>')
    assert 'no está bien formado' in spanish(broken.value.reason)
    assert broken.value.line == 3
    with pytest.raises(cfdi.CfdiError) as other:
        cfdi.parse(b'<factura folio="1"/>')
    assert 'falta cfdi:Comprobante' in spanish(other.value.reason)


def test_entities_are_not_expanded_and_nothing_is_fetched(tmp_path):
    from lxml import etree
    secret = tmp_path / 'secret.txt'
    secret.write_text('TOP-SECRET')
    xml = cfdi_xml('7').replace(
        b"<?xml version='1.0' encoding='UTF-8'?>",
        b"<?xml version='1.0' encoding='UTF-8'?>\n<!DOCTYPE x [<!ENTITY s SYSTEM 'file://"
        + str(secret).encode() + b"'>]>").replace(b'RegimenFiscal="601"/>',
                                                   b'RegimenFiscal="601">&s;</cfdi:Emisor>', 1)
    assert b'&s;</cfdi:Emisor>' in xml
    assert b'TOP-SECRET' not in etree.tostring(etree.fromstring(xml, cfdi._PARSER))
    assert cfdi.parse(xml).folio == '7'


# --- cells -------------------------------------------------------------------------------

def test_rfc_format_is_required_and_a_bad_check_digit_only_warns():
    assert fields.rfc(' cme930812pw3 ') == ('CME930812PW3', None)
    value, warning = fields.rfc('CME930812PW4')
    assert value == 'CME930812PW4' and 'dígito verificador' in spanish(warning)
    for generic in ('XAXX010101000', 'XEXX010101000'):
        assert fields.rfc(generic) == (generic, None)
    for bad in ('CME931312PW3', 'ABC', '', 'CME930812PW'):
        with pytest.raises(FieldError):
            fields.rfc(bad)


@pytest.mark.parametrize('text, value', [
    ('1234.5', Decimal('1234.50')), ('1,234.50', Decimal('1234.50')),
    ('$1,234.50', Decimal('1234.50')), ('1234.500000', Decimal('1234.50')), ('0', Decimal('0.00')),
])
def test_amounts_as_erps_write_them(text, value):
    assert fields.amount(text, 'Total') == value


@pytest.mark.parametrize('text, reason', [
    ('-5', 'negativo'), ('(5.00)', 'negativo'), ('12,34', 'no es un importe'),
    ('1e3', 'no es un importe'), ('NaN', 'no es un importe'), ('1.234', 'más de 2 decimales'),
    ('', 'Falta'),
])
def test_bad_amounts(text, reason):
    with pytest.raises(FieldError) as refused:
        fields.amount(text, 'Total')
    assert reason in spanish(refused.value.reason)


def test_dates_are_read_day_first_and_times_in_mexico_city():
    for text in ('2017-10-06', '06/10/2017', '06-10-2017', '2017-10-06T10:30:00'):
        assert fields.day(text, 'Fecha') == datetime.date(2017, 10, 6)
    for bad in ('2017-02-30', '10/32/2017', '6 oct 2017'):
        with pytest.raises(FieldError):
            fields.day(bad, 'Fecha')
    utc = datetime.timezone.utc
    expected = datetime.datetime(2017, 10, 1, 18, 3, 1, tzinfo=utc)   # 13:03:01 in CDMX (UTC-5)
    assert fields.moment('2017-10-01 13:03:01', 'Fecha') == expected
    assert fields.moment('01/10/2017 01:03:01 p.m.', 'Fecha') == expected
    assert fields.moment('2017-10-01T18:03:01Z', 'Fecha') == expected


def test_rates_keep_banxicos_four_decimals():
    assert fields.rate('18.8869') == (Decimal('18.8869'), False)
    assert fields.rate('18.886900') == (Decimal('18.8869'), False)
    with pytest.raises(FieldError):
        fields.rate('18.88691')
    assert fields.rate('18.88691', strict=False) == (Decimal('18.8869'), True)
    for bad in ('0', '-18.5', 'dieciocho'):
        with pytest.raises(FieldError):
            fields.rate(bad)


def test_accounts_and_emails():
    assert fields.accounts('005300; 005301 |005302,005300') == ('005300', '005301', '005302')
    assert fields.email(' CxP@Example.MX ') == 'cxp@example.mx'
    assert fields.email('') is None
    with pytest.raises(FieldError):
        fields.email('no-es-correo')
    with pytest.raises(FieldError):
        fields.accounts('')
