"""canonportal-notify: which reminders and statements go to whom, on a fixed clock across a
month; never twice; one notifier at a time (the lease); a dry run; the console script."""
import datetime
import io
import threading
from collections import Counter
from pathlib import Path

import pytest
import transaction
from pyramid_mailer import get_mailer
from pypdf import PdfReader
from ZODB.POSException import ConflictError

from canonportal.money import to_money
from canonportal.notify.jobs import JOBS, reminders
from canonportal.notify.run import take_lease
from canonportal.resources import Allocation, Payment
from canonportal.resources.company_user import CONSULTA, PAGO, CompanyUser
from canonportal.resources.notices import LEASE_DURATION, REMINDERS, STATEMENTS
from canonportal.resources.payment import REQUESTED
from canonportal.scripts import notify as script
from manage_support import staff_client
from notify_support import D, client_mails, days, parse, reminded, run_notifier
from portal_support import CANON, IXTAPA, database_of, nothing_changes, with_root
from script_support import last_tid, read_root

ANA = 'compras@example.com'          # the demo's Captura colleague of Canon Mexicana
IXTAPA_ERP = 'pagos@example.com'     # Ixtapa has nobody signed up: the ERP's address
STEPS = (-5, 0, 7, 15, 30)
#: The demo's open invoices: (who is reminded, folio, due date).
DEMO_DUE = [(ANA, folio, D(2017, 11, 4)) for folio in (
    '1232081', '1233074', '1233075', '1233076', '1233077', '1233080', '1233081')] + [
    (ANA, '6212976', D(2017, 11, 5)), (ANA, '6213050', D(2017, 11, 8)),
    (IXTAPA_ERP, '7100501', D(2017, 11, 2)), (IXTAPA_ERP, '7100502', D(2017, 11, 6))]


def sent_by_day(app, first, last):
    """Run the reminders every day from ``first`` to ``last``: ``{(address, folio): [days]}``."""
    sent = {}
    for day in days(first, last):
        before = len(get_mailer(app.registry).outbox)
        run_notifier(app, day, jobs=[reminders])
        for mail in client_mails(app, since=before):
            for folio in mail.ticked:
                sent.setdefault((mail.to[0], folio), []).append(day)
    return sent


def test_every_open_invoice_is_reminded_once_at_each_step_across_a_month(app):
    sent = sent_by_day(app, D(2017, 10, 25), D(2017, 12, 10))
    assert sent == {(address, folio): [due + datetime.timedelta(days=step) for step in STEPS]
                    for address, folio, due in DEMO_DUE}
    # The paid invoices of the demo (6212901, 1233001) never: they are not in the above.
    again = len(client_mails(app))
    counts, printed = run_notifier(app, D(2017, 12, 10), jobs=[reminders])
    assert len(client_mails(app)) == again and printed.strip() == 'notified: nothing to send'


def test_a_day_the_notifier_did_not_run_is_caught_up_with_the_latest_step_only(app):
    run_notifier(app, D(2017, 11, 10))
    assert sorted(reminded(app)) == [
        (ANA, ('1232081', '1233074', '1233075', '1233076', '1233077', '1233080', '1233081',
               '6212976', '6213050')),
        (IXTAPA_ERP, ('7100501',)),              # 8 days late: step 7
        (IXTAPA_ERP, ('7100502',))]              # 4 days late: step 0
    mail = next(m for m in client_mails(app) if m.to == (ANA,) and m.ticked)
    assert 'vencida hace 6 días' in mail.text and 'vencida hace 2 días' in mail.text
    run_notifier(app, D(2017, 11, 11))       # 1233074 … reach step 7: a mail of their own
    assert reminded(app)[-1] == (ANA, ('1232081', '1233074', '1233075', '1233076', '1233077',
                                       '1233080', '1233081'))


def _hold(root):
    """1233075 wholly in transit, 1233076 reserved by a request awaiting approval, 1233077
    paid, 1233080 partly in transit."""
    canon = root.customers[CANON]
    invoices = canon.invoices
    invoices['1233075'].reserve('901', invoices['1233075'].left_to_pay)
    request = Payment('902', CANON, 'banamex', [Allocation(
        '1233076', '005300', 'USD', to_money('100'), to_money('5.00'), '18.8869')],
        created=datetime.datetime(2017, 11, 3, tzinfo=datetime.timezone.utc))
    request.state = REQUESTED
    canon.add_payment(request)
    canon.track_payment(request)
    invoices['1233076'].reserve('902', '5.00')
    invoices['1233077'].set_balance(0)
    invoices['1233080'].reserve('903', '100.00')


def test_nothing_for_paid_invoices_nor_for_those_in_transit_or_awaiting_approval(app):
    with_root(app, _hold)
    run_notifier(app, D(2017, 11, 4))
    assert (ANA, ('1232081', '1233074', '1233080', '1233081')) in reminded(app)    # step 0
    mail = next(m for m in client_mails(app) if '1233080' in m.ticked)
    assert '$212.62 USD' in mail.text            # what is left of it, not its balance

    def reject(root):          # the approver said no: the reservation is let go
        canon = root.customers[CANON]
        canon.invoices['1233076'].release('902')
        canon.payments['902'].state = 'cancelled'
        canon.track_payment(canon.payments['902'])
    with_root(app, reject)
    run_notifier(app, D(2017, 11, 5))
    assert reminded(app)[-1] == (ANA, ('1233076', '6212976'))


def _person(root, email, name, role=PAGO, accounts=(), accepted=True, **choices):
    canon = root.customers[CANON]
    user = CompanyUser(email, name, role, accounts)
    user.__name__ = 'u' + name.lower()
    user.password_hash = 'accepted' if accepted else None
    user.mail_choices = choices or None
    canon.add_user(user)
    return user


def _people(root):
    _person(root, 'bea@example.com', 'Bea', CONSULTA, accounts=('005301',))
    _person(root, 'carlos@example.com', 'Carlos', **{REMINDERS: False})
    _person(root, 'dora@example.com', 'Dora', **{STATEMENTS: True})
    _person(root, 'elena@example.com', 'Elena', accounts=('005301',), **{STATEMENTS: True})
    _person(root, 'fer@example.com', 'Fer').disabled = True
    _person(root, 'gil@example.com', 'Gil', accepted=False)
    root.customers[CANON].mail_defaults = {REMINDERS: True, STATEMENTS: False}


def test_each_person_gets_what_they_chose_of_the_accounts_they_may_see(app):
    with_root(app, _people)
    run_notifier(app, D(2017, 10, 30))          # step -5 of the invoices of 005300
    assert {address for address, _ in reminded(app)} == {ANA, 'dora@example.com', IXTAPA_ERP}
    run_notifier(app, D(2017, 11, 1))           # October's statements
    statements = {m.to[0]: sorted(m.pdfs) for m in client_mails(app) if m.pdfs}
    assert statements == {
        'dora@example.com': [f'estado-de-cuenta-{CANON}-005300-2017-10.pdf',
                             f'estado-de-cuenta-{CANON}-005301-2017-10.pdf'],
        'elena@example.com': [f'estado-de-cuenta-{CANON}-005301-2017-10.pdf'],
        IXTAPA_ERP: [f'estado-de-cuenta-{IXTAPA}-007100-2017-10.pdf']}
    before = len(reminded(app))
    run_notifier(app, D(2017, 11, 3))           # step -5 of 6213050, account 005301
    assert sorted(reminded(app)[before:]) == sorted([
        (ANA, ('6213050',)), ('bea@example.com', ('6213050',)), ('dora@example.com', ('6213050',)),
        ('elena@example.com', ('6213050',)), (IXTAPA_ERP, ('7100501',))])


def test_the_erp_address_only_until_the_company_has_someone_signed_up(app):
    run_notifier(app, D(2017, 10, 28))
    assert reminded(app) == [(IXTAPA_ERP, ('7100501',))]

    def activate(root):
        ixtapa = root.customers[IXTAPA]
        ixtapa.state = 'active'
        ixtapa.email = 'tesoreria@ixtapa.example'
    with_root(app, activate)
    run_notifier(app, D(2017, 11, 2))
    assert {sent for sent in reminded(app) if sent[0] != ANA} == {
        (IXTAPA_ERP, ('7100501',)),                    # step -5, before
        ('tesoreria@ixtapa.example', ('7100501',)),    # step 0
        ('tesoreria@ixtapa.example', ('7100502',))}    # step -5


def test_staff_turn_a_customers_reminders_off_and_on_and_see_what_was_mailed(staff_app):
    alice = staff_client(staff_app, 'alicia')
    page = alice.get(f'/manage/customers/{CANON}')
    assert 'Ningún recordatorio ni estado de cuenta enviado todavía.' in page.text
    form = next(f for f in page.forms.values() if f.action.endswith('@@recordatorios'))
    form.submit().follow()
    run_notifier(staff_app, D(2017, 11, 4))
    assert {address for address, _ in reminded(staff_app)} == {IXTAPA_ERP}
    page = alice.get(f'/manage/customers/{CANON}')
    assert 'Estado de cuenta de Canon Mexicana SA de CV, 10/2017' in page.text   # statements go on
    assert ANA in page.html.find(id='sent-mails').text
    with nothing_changes(staff_app):          # asking for what already is
        alice.post(f'/manage/customers/{CANON}/@@recordatorios',
                   {'accion': 'apagar', 'csrf_token': alice.csrf()}, status=400)
    form = next(f for f in page.forms.values() if f.action.endswith('@@recordatorios'))
    form.submit().follow()
    run_notifier(staff_app, D(2017, 11, 5))
    assert reminded(staff_app)[-1][0] == ANA


def test_the_statement_of_the_month_before_goes_out_on_the_first_once(app):
    run_notifier(app, D(2017, 11, 1))
    pdfs = {name: data for mail in client_mails(app) for name, data in mail.pdfs.items()}
    assert sorted(pdfs) == [f'estado-de-cuenta-{CANON}-005300-2017-10.pdf',
                            f'estado-de-cuenta-{CANON}-005301-2017-10.pdf',
                            f'estado-de-cuenta-{IXTAPA}-007100-2017-10.pdf']
    for name, data in pdfs.items():
        assert data.startswith(b'%PDF')
        text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
        assert name.split('-')[-3] in text and '01-10-2017' in text and '31-10-2017' in text
    count = len(client_mails(app))
    run_notifier(app, D(2017, 11, 2))
    assert not any(mail.pdfs for mail in client_mails(app)[count:])
    run_notifier(app, D(2017, 12, 11))          # past the 10th: November's are not caught up
    assert not any(mail.pdfs for mail in client_mails(app)[count:])
    run_notifier(app, D(2018, 1, 2))
    assert sorted(name for m in client_mails(app)[count:] for name in m.pdfs)[0].endswith(
        '005300-2017-12.pdf')


def test_a_dry_run_sends_and_records_nothing(app):
    with nothing_changes(app):
        counts, printed = run_notifier(app, D(2017, 11, 6), dry_run=True)
    assert f'would send to {ANA}: Facturas vencidas de Canon Mexicana SA de CV' in printed
    assert printed.strip().endswith('reminder mails: 3, statement mails: 2')
    assert printed.splitlines()[-1].startswith('dry run, nothing sent: ')
    counts, _ = run_notifier(app, D(2017, 11, 6))
    assert (counts['reminder mails'], counts['statement mails']) == (3, 2)


def test_while_another_notifier_holds_the_lease_nothing_is_sent(app):
    def held(root):
        root.notify_lease.take('other-server:42', datetime.datetime.now(datetime.timezone.utc),
                               LEASE_DURATION)
    with_root(app, held)
    with nothing_changes(app):
        counts, printed = run_notifier(app, D(2017, 11, 6))
    assert counts == Counter({'lease held': 1}) and 'other-server:42' in printed


def test_a_lease_left_by_a_notifier_that_died_expires(app):
    def left(root):
        root.notify_lease.take('dead-server:1', datetime.datetime(
            2017, 1, 1, tzinfo=datetime.timezone.utc), LEASE_DURATION)
    with_root(app, left)
    counts, _ = run_notifier(app, D(2017, 11, 6))
    assert counts['reminder mails'] == 3
    assert with_root(app, lambda root: root.notify_lease.holder) is None


def test_two_notifiers_taking_the_lease_at_once_one_wins(app):
    db = database_of(app)
    now = datetime.datetime.now(datetime.timezone.utc)
    managers = [transaction.TransactionManager(explicit=True) for _ in range(2)]
    connections = [db.open(transaction_manager=manager) for manager in managers]
    try:
        for manager in managers:
            manager.begin()
        taken = [c.root()['app_root'].notify_lease.take(name, now, LEASE_DURATION)
                 for c, name in zip(connections, ('first', 'second'))]
        assert taken == [True, True]           # neither sees the other's yet
        managers[0].commit()
        with pytest.raises(ConflictError):
            managers[1].commit()
        managers[1].abort()
        # The loser, trying again, finds the winner.
        assert take_lease(managers[1], lambda: connections[1].root()['app_root'], 'second',
                          now) == 'first'
    finally:
        for connection in connections:
            connection.close()


def test_two_notifiers_at_once_send_each_mail_once(app):
    """The first holds the lease while the second starts, on another connection and thread."""
    holding, second_done = threading.Event(), threading.Event()
    results = {}

    def wait_for_the_other(run):
        holding.set()
        assert second_done.wait(30)
        return Counter()

    def first():
        results['first'] = run_notifier(app, D(2017, 11, 6), jobs=[wait_for_the_other, *JOBS])

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert holding.wait(30)
        results['second'] = run_notifier(app, D(2017, 11, 6))
    finally:
        second_done.set()
        thread.join(30)
    assert results['second'][0] == Counter({'lease held': 1})
    assert results['first'][0]['reminder mails'] == 3
    sent = [(m.to, m.subject) for m in client_mails(app)]
    assert len(sent) == 5 == len(set(sent))


# -- the console script ------------------------------------------------------------------------

@pytest.fixture
def notify_ini(demo_ini):
    """The demo's ini with its mails written as files (Maildir) beside it."""
    path = Path(demo_ini)
    text = path.read_text().replace('canonportal.testing_mailer = true\n',
                                    f'mail.queue_path = {path.parent}/mail\n')
    path.write_text(text)
    return demo_ini


def maildir(ini):
    folder = Path(ini).parent / 'mail' / 'new'
    return sorted(folder.iterdir()) if folder.exists() else []


def test_the_script_writes_the_days_mails_once(notify_ini, capsys):
    assert script.main([notify_ini, '--today', '2017-11-06']) == 0
    printed = capsys.readouterr().out
    assert 'customers: 2' in printed and 'reminder mails: 3' in printed
    mails = [parse(path.read_bytes()) for path in maildir(notify_ini)]
    assert len(mails) == 5
    for mail in mails:
        assert mail.text and mail.html and 'List-Unsubscribe=One-Click' in mail.headers[
            'List-Unsubscribe-Post']
        assert mail.headers['List-Unsubscribe'].startswith('<http://localhost:6543/baja?')
    assert sum(len(mail.pdfs) for mail in mails) == 3
    tid = last_tid(notify_ini)
    assert script.main([notify_ini, '--today', '2017-11-06']) == 0
    assert len(maildir(notify_ini)) == 5
    assert 'nothing to send' in capsys.readouterr().out
    assert read_root(notify_ini, lambda root: len(root.customers[CANON].notices.mails)) == 3
    assert last_tid(notify_ini) != tid          # the lease was taken and given back


def test_the_scripts_dry_run_and_a_bad_day_change_nothing(notify_ini, capsys):
    tid = last_tid(notify_ini)
    assert script.main([notify_ini, '--today', '2017-11-06', '--dry-run']) == 0
    assert 'would send to' in capsys.readouterr().out
    for bad in ('2017-02-30', '06/11/2017', '1999-12-31'):
        with pytest.raises(SystemExit):
            script.main([notify_ini, '--today', bad])
    assert maildir(notify_ini) == [] and last_tid(notify_ini) == tid
