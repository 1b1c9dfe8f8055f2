"""Data evolution (canonportal-evolve) and the pshell setup, on FileStorages in tmp_path."""
import datetime
import itertools
from decimal import Decimal
from pathlib import Path

import pytest
import transaction
from pyramid.paster import bootstrap

from canonportal import clock, evolve, pshell
from canonportal.bootstrap import mexico_time
from canonportal.money import to_money
from canonportal.resources import (
    Allocation, Invoice, Payment, PortalRoot, get_root_from_connection,
)
from canonportal.resources.payment import APPROVED, DECLINED
from canonportal.scripts import evolve as evolve_script
from canonportal.scripts import init
from portal_support import CANON, saldos_order
from script_support import last_tid, on_connection


STEP_NAMES = [name for name, _ in evolve.STEPS]
UTC = datetime.timezone.utc


@pytest.fixture
def ticking_clock(monkeypatch):
    """A clock one second further on at every call, so each step has its own time."""
    start = datetime.datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
    ticks = itertools.count()
    monkeypatch.setattr(clock, 'utcnow', lambda: start + datetime.timedelta(seconds=next(ticks)))
    return start


def on_db(folder, work, commit=False):
    """Run ``work(root, zodb_root)`` on the FileStorage in ``folder``; commit if asked."""
    return on_connection(f'file://{folder}/Data.fs?blobstorage_dir={folder}/blobs',
                         lambda conn: work(get_root_from_connection(conn), conn.root()), commit)


def run(ini_path, capsys, *options):
    assert evolve_script.main([ini_path, *options]) == 0
    return capsys.readouterr().out.splitlines()


def shape(root, zodb_root=None):
    """What the evolve steps change, as plain values."""
    canon = root.customers[CANON]
    return {
        'children': sorted(name for name in ('imports', 'exports', 'audit') if name in root),
        'done': dict(getattr(root, 'evolve_done', None) or {}),
        'figures': {ref: [(a.invoice_key, a.balance_before, a.instalment) for a in p.allocations]
                    for ref, p in canon.payments.items()},
        'audit': ([(e.actor, e.action, e.target, e.after, e.when)
                   for e in reversed(list(root.audit_log.newest_first()))]
                  if 'audit' in root else None),
        'open': {rfc: None if c.open_invoices is None else list(c.open_invoices.keys())
                 for rfc, c in root.customers.items()},
    }


def scanned_open_invoices(root):
    """Each customer's payable invoices in SALDOS' order, worked out from every invoice."""
    return {rfc: saldos_order(customer) for rfc, customer in root.customers.items()}


# -- a fresh database -------------------------------------------------------------------------

def test_a_fresh_database_has_every_step_done_and_nothing_to_run(ini, tmp_path, capsys,
                                                                  ticking_clock):
    init.main([ini, '--demo'])
    capsys.readouterr()
    done = on_db(tmp_path, lambda root, _: dict(root.evolve_done))
    assert sorted(done) == sorted(STEP_NAMES) and len(STEP_NAMES) >= 2
    assert all(when >= ticking_clock for when in done.values())
    tid = last_tid(ini)
    assert run(ini, capsys) == ['nothing to do: every evolve step is done']
    assert run(ini, capsys, '--dry-run') == ['nothing to do: every evolve step is done']
    assert last_tid(ini) == tid


def test_an_empty_database_is_left_to_canonportal_init(ini, tmp_path, capsys):
    assert run(ini, capsys) == ['the database is empty: canonportal-init creates it up to date']
    assert on_db(tmp_path, lambda root, _: root) is None


# -- an old database ----------------------------------------------------------------------------

OLD_SLOTS = ('invoice_key', 'account', 'currency', 'amount_mxn', 'amount_currency', 'exchange_rate')


def make_old(root, zodb_root):
    """The database as the code before the ERP exchange left it."""
    for name in ('imports', 'exports', 'audit'):
        root.remove(name)
    del root.evolve_done
    canon = root.customers[CANON]
    demo = canon.payments['228']
    a = demo.allocations[0]
    demo.allocations = (Allocation(a.invoice_key, a.account, a.currency, a.amount_mxn,
                                   a.amount_currency, a.exchange_rate),)
    # A declined payment (its reservation released) and a later approved one.
    for reference, state, created, allocations in (
            ('229', DECLINED, mexico_time(2017, 10, 11, 9), [('1233074', 'USD', '37.77', '2.00')]),
            ('230', APPROVED, mexico_time(2017, 10, 12, 9), [('1233074', 'USD', '56.66', '3.00'),
                                                            ('6212976', 'MXN', '1000.00', '1000.00')])):
        payment = Payment(reference, CANON, 'bbva', [
            Allocation(key, '005300', currency, to_money(mxn), to_money(amount),
                       '18.8869' if currency == 'USD' else None)
            for key, currency, mxn, amount in allocations], created=created)
        payment.transition(state, created, 'test')
        canon.add_payment(payment)
    root.payment_counter.value = 230
    # Customers without the index of open invoices; one invoice paid, one reopened since.
    for customer in root.customers.values():
        del customer.open_invoices
        del customer.complements
    del root.complements_by_uuid
    del root.complements_due
    canon.invoices['1233075'].balance = to_money('0')
    canon.invoices['6212901'].balance = to_money('100.00')


@pytest.fixture
def old_database(ini, tmp_path, monkeypatch, capsys):
    init.main([ini, '--demo'])
    capsys.readouterr()
    # Allocations pickled as the old code did: without the two figures in their state.
    with monkeypatch.context() as patch:
        patch.setattr(Allocation, '__getstate__',
                      lambda self: {name: getattr(self, name) for name in OLD_SLOTS})
        on_db(tmp_path, make_old, commit=True)
    old = on_db(tmp_path, shape)
    assert old['children'] == [] and old['done'] == {} and old['audit'] is None
    assert set(old['open'].values()) == {None}
    assert old['figures'] == {'228': [('1233074', None, None)], '229': [('1233074', None, None)],
                              '230': [('1233074', None, None), ('6212976', None, None)]}
    return ini


def test_dry_run_lists_the_pending_steps_and_changes_nothing(old_database, tmp_path, capsys,
                                                             ticking_clock):
    tid = last_tid(old_database)
    assert run(old_database, capsys, '--dry-run') == [f'would run {name}' for name in STEP_NAMES]
    assert last_tid(old_database) == tid


def test_evolve_brings_an_old_database_up_to_date_once(old_database, tmp_path, capsys,
                                                       ticking_clock):
    assert run(old_database, capsys) == [f'ran {name}' for name in STEP_NAMES]
    after = on_db(tmp_path, shape)
    assert after['children'] == ['audit', 'exports', 'imports']
    assert on_db(tmp_path, lambda root, _: (root.imports.title, root.exports.title, len(root.exports))) == (
        'Importaciones', 'Exportaciones', 0)
    # Each step recorded with its own time, in order, and one audit entry per step.
    done = after['done']
    assert sorted(done, key=done.get) == STEP_NAMES
    assert all(when >= ticking_clock for when in done.values())
    assert [(actor, action, target, name) for actor, action, target, name, _ in after['audit']] == [
        ('console:canonportal-evolve', 'evolve.step', '/', name) for name in STEP_NAMES]
    for (*_, name, when) in after['audit']:
        assert when >= done[name]
    # The complement figures, worked out from the order of the payments on each invoice:
    # the declined 229 gets what it would have had, without taking an instalment.
    D = Decimal
    assert after['figures'] == {
        '228': [('1233074', D('160.71'), 1)],
        '229': [('1233074', D('159.71'), 2)],
        '230': [('1233074', D('159.71'), 2), ('6212976', D('27794.52'), 1)],
    }
    # Every customer's open invoices indexed, in the order of the scan they replace.
    expected = on_db(tmp_path, lambda root, _: scanned_open_invoices(root))
    assert after['open'] == expected and len(expected) == 2
    assert '6212901' in expected[CANON] and '1233075' not in expected[CANON]
    # Payment complements: the folders and indexes, payment 228 waiting for its REP.
    assert on_db(tmp_path, lambda root, _: (
        sorted(root.complements_due), len(root.complements_by_uuid),
        {rfc: len(c.complements) for rfc, c in root.customers.items()})) == (
        ['228', '230'], 0, {CANON: 0, 'DIS010203AB1': 0})
    # A second run finds nothing to do and writes nothing.
    tid = last_tid(old_database)
    assert run(old_database, capsys) == ['nothing to do: every evolve step is done']
    assert last_tid(old_database) == tid


def test_the_portal_refuses_to_start_on_a_database_that_misses_steps(old_database, tmp_path,
                                                                     capsys):
    from pyramid.paster import get_app
    from canonportal.configure import DatabaseBehind
    tid = last_tid(old_database)
    with pytest.raises(DatabaseBehind) as refused:
        get_app(old_database)
    assert last_tid(old_database) == tid
    assert 'open-invoices-index' in str(refused.value)
    assert 'run canonportal-evolve' in str(refused.value)
    run(old_database, capsys)
    app = get_app(old_database)       # evolved: it starts
    app.registry._zodb_databases[''].close()


def test_the_open_invoices_step_writes_savepoints_on_a_big_database(old_database, tmp_path,
                                                                      capsys, monkeypatch):
    def add_invoices(root, _):
        canon = root.customers[CANON]
        for number in range(40):
            canon.add_invoice(Invoice(f'9{number:04d}', '005300', datetime.date(2026, 11, 1),
                                      datetime.date(2026, 12, 1 + number % 5), 'MXN', '10.00',
                                      balance='0' if number % 3 == 0 else None))
        return sum(len(customer.invoices) for customer in root.customers.values())
    invoices = on_db(tmp_path, add_invoices, commit=True)
    savepoints = []
    real = transaction.Transaction.savepoint

    def counted(self, optimistic=False):
        savepoints.append(optimistic)
        return real(self, optimistic)
    monkeypatch.setattr(transaction.Transaction, 'savepoint', counted)
    monkeypatch.setattr(evolve, 'INVOICES_PER_SAVEPOINT', 7)
    run(old_database, capsys)
    assert invoices > 50 and len(savepoints) == invoices // 7 and all(savepoints)
    after = on_db(tmp_path, shape)['open']
    assert after == on_db(tmp_path, lambda root, _: scanned_open_invoices(root))
    assert len([key for key in after[CANON] if key.startswith('9')]) == 26


def test_an_interrupted_run_keeps_the_steps_done_and_resumes_at_the_failed_one(
        old_database, tmp_path, capsys, monkeypatch, ticking_clock):
    calls = []

    def flaky(root):
        root.customers[CANON].name = 'half done'
        calls.append('flaky')
        if len(calls) == 1:
            raise RuntimeError('disk full')

    monkeypatch.setattr(evolve, 'STEPS', list(evolve.STEPS) + [('flaky-step', flaky)])
    with pytest.raises(RuntimeError):
        evolve_script.main([old_database])
    interrupted = on_db(tmp_path, lambda root, _: (sorted(root.evolve_done),
                                                   root.customers[CANON].name))
    assert interrupted == (sorted(STEP_NAMES), 'Canon Mexicana SA de CV')
    capsys.readouterr()
    assert run(old_database, capsys) == ['ran flaky-step']
    assert on_db(tmp_path, lambda root, _: root.customers[CANON].name) == 'half done'


def test_evolve_steps_have_unique_names():
    with pytest.raises(ValueError):
        evolve.step(STEP_NAMES[0])(lambda root: None)
    assert [name for name, _ in evolve.STEPS] == STEP_NAMES


def test_a_root_made_by_the_code_needs_no_step(ticking_clock):
    root = PortalRoot()
    assert [name for name, _ in evolve.pending_steps(root)] == STEP_NAMES
    evolve.mark_all_done(root)
    assert evolve.pending_steps(root) == [] and evolve.done_steps(root) == STEP_NAMES


# -- pshell ------------------------------------------------------------------------------------

def test_pshell_setup_gives_the_root_and_a_ready_transaction_manager(ini, tmp_path):
    init.main([ini, '--demo'])
    env = bootstrap(ini)
    try:
        pshell.setup(env)
        root, tm = env['root'], env['tm']
        assert isinstance(root, PortalRoot)
        assert tm is env['request'].tm
        assert root.payments_by_reference['228'].bank_reference == 'BC-Banamex 063197'
        # Changes are written with tm.commit(); commit() and abort() start the next transaction.
        root.customers[CANON].contact_email = 'tesoreria@example.mx'
        env['commit']()
        root.customers[CANON].contact_email = 'dropped@example.mx'
        env['abort']()
        assert root.customers[CANON].contact_email == 'tesoreria@example.mx'
        root.staff.title = 'Personal de tesorería'
        tm.commit()
    finally:
        env['closer']()
        env['registry']._zodb_databases[''].close()
    assert on_db(tmp_path, lambda root, _: (root.customers[CANON].contact_email, root.staff.title)) == (
        'tesoreria@example.mx', 'Personal de tesorería')


# -- SPEI transfers keyed by date and clave alone --------------------------------------------

OLD_TRANSFERS = {
    # old key: (ordering bank, ordering account, amount, state)
    '20261130-BNET0100261130000001': ('40012', '012180001234567899', '27794.52', 'matched'),
    '20261130-BNET0100261130000002': ('', '014180655012345674', '10.00', 'unmatched'),
    '20261130-BNET0100261130000003': ('', '', '20.00', 'unmatched'),
}


def make_old_transfers(root, zodb_root):
    """Transfers as the code before issue 20 kept them: under date and clave de rastreo."""
    from canonportal.resources.incoming_transfer import IncomingTransfer
    from canonportal.spei.credit import Transfer
    received = datetime.datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    for key, (bank, account, amount, state) in OLD_TRANSFERS.items():
        transfer = Transfer(key.split('-')[1], datetime.date(2026, 11, 30), Decimal(amount),
                            '646180157000000004', ordering_bank=bank, ordering_account=account,
                            source='camt053')
        record = IncomingTransfer(key, transfer.as_dict(), received, 'camt053')
        record.state = state
        if state == 'matched':
            record.payment_reference = '228'
            root.payments_by_reference['228'].events += (key,)
        root.transfers.add_transfer(record)
    del root.evolve_done['spei-transfer-keys']


def test_transfers_keyed_the_old_way_get_their_ordering_institution(ini, tmp_path, capsys,
                                                                     ticking_clock):
    from canonportal.payments import transfers as spei_payments
    from canonportal.spei.credit import Transfer
    init.main([ini, '--demo'])
    capsys.readouterr()
    on_db(tmp_path, make_old_transfers, commit=True)
    assert on_db(tmp_path, lambda root, _: sorted(root.transfers.unmatched)) == [
        '20261130-BNET0100261130000002', '20261130-BNET0100261130000003']
    assert run(ini, capsys) == ['ran spei-transfer-keys']

    def keys(root, _):
        return (sorted(root.transfers.keys()), sorted(root.transfers.unmatched),
                [e for e in root.payments_by_reference['228'].events if e.startswith('2026')],
                sorted((e.before, e.after, e.target) for e in root.audit_log.newest_first()
                       if e.action == 'spei.rekeyed'))
    new = ['20261130-BNET0100261130000001-40012', '20261130-BNET0100261130000002-40014',
           '20261130-BNET0100261130000003-ND']
    assert on_db(tmp_path, keys) == (
        new, new[1:], [new[0]],
        [(old, key, f'/transfers/{key}') for old, key in zip(OLD_TRANSFERS, new)])

    def receive_again(root, _):
        """The bank's statement again, and another transfer under the first one's key."""
        now = datetime.datetime(2026, 12, 1, tzinfo=UTC)
        copy = Transfer('BNET0100261130000001', datetime.date(2026, 11, 30), Decimal('27794.52'),
                        '646180157000000004', ordering_bank='40012', source='mt940')
        other = Transfer('BNET0100261130000001', datetime.date(2026, 11, 30), Decimal('1.00'),
                         '646180157000000004', ordering_bank='40012', source='abono')
        return [(r.key, r.state, r.duplicate) for r in (
            spei_payments.receive(root, None, copy, now, 'test'),
            spei_payments.receive(root, None, other, now, 'test'))]
    assert on_db(tmp_path, receive_again, commit=True) == [
        (new[0], 'matched', True), (new[0] + '-2', 'same-key', False)]
    assert run(ini, capsys) == ['nothing to do: every evolve step is done']


def make_old_rejection(root, zodb_root):
    """A colleague's request rejected before the decision was kept on the payment."""
    created = datetime.datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    rejected = created + datetime.timedelta(hours=2)
    canon = root.customers[CANON]
    payment = Payment('229', CANON, 'bbva', [Allocation('6212976', '005300', 'MXN', to_money('100'),
                                                        to_money('100'))], created=created)
    payment.state = 'requested'
    payment.history = ((created, None, 'requested', 'portal', 'created'),)
    payment.prepared_by = (f'company-user:{CANON}:u1', 'Ana Compras')
    payment.transition('cancelled', rejected, 'portal', 'rejected by Juan Pagos: esperemos: al lunes')
    canon.add_payment(payment)
    del root.evolve_done['request-decisions']


def test_a_request_rejected_the_old_way_keeps_who_when_and_why(ini, tmp_path, capsys,
                                                               ticking_clock):
    init.main([ini, '--demo'])
    capsys.readouterr()
    on_db(tmp_path, make_old_rejection, commit=True)
    assert run(ini, capsys) == ['ran request-decisions']

    def decision(root, _):
        payment = root.payments_by_reference['229']
        return payment.rejected_by, payment.rejected_at, payment.rejection_comment
    assert on_db(tmp_path, decision) == (
        ('', 'Juan Pagos'), datetime.datetime(2026, 11, 30, 20, 0, tzinfo=UTC), 'esperemos: al lunes')
    assert run(ini, capsys) == ['nothing to do: every evolve step is done']


def make_without_in_progress_indexes(root, _zodb_root):
    """The database as the code before each customer kept its payments in progress: a
    pending payment of Canon's, a request of Ixtapa's, and a declined one the root's index
    no longer lists, all in the root's ``pending_payments`` as that code kept it."""
    from canonportal.resources.payment import REQUESTED
    created = datetime.datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    ixtapa = next(rfc for rfc in root.customers.keys() if rfc != CANON)
    for reference, rfc, state in (('229', CANON, 'pending'), ('230', ixtapa, REQUESTED),
                                  ('231', CANON, DECLINED)):
        customer = root.customers[rfc]
        payment = Payment(reference, rfc, 'bbva', [Allocation(
            'X-1', customer.accounts[0], 'MXN', to_money('10'), to_money('10'))], created=created)
        payment.state = state
        customer.add_payment(payment)
        if state != DECLINED:
            root.pending_payments[reference] = payment
    for customer in root.customers.values():
        del customer.in_progress
    del root.evolve_done['payments-in-progress']
    return ixtapa


def test_each_customer_gets_its_index_of_payments_in_progress(ini, tmp_path, capsys,
                                                              ticking_clock):
    init.main([ini, '--demo'])
    capsys.readouterr()
    ixtapa = on_db(tmp_path, make_without_in_progress_indexes, commit=True)
    assert on_db(tmp_path, lambda root, _: {c.in_progress for c in root.customers.values()}) == {None}
    assert run(ini, capsys) == ['ran payments-in-progress']

    def indexes(root, _):
        return {rfc: {ref: p is root.pending_payments[ref] for ref, p in c.in_progress.items()}
                for rfc, c in root.customers.items()}
    assert on_db(tmp_path, indexes) == {CANON: {'229': True}, ixtapa: {'230': True}}
    assert run(ini, capsys) == ['nothing to do: every evolve step is done']


def test_each_customer_gets_its_history_index(ini, tmp_path, capsys, ticking_clock):
    init.main([ini, '--demo'])
    capsys.readouterr()

    def without(root, _):
        for customer in root.customers.values():
            del customer.history
        del root.evolve_done['payment-history']
    on_db(tmp_path, without, commit=True)
    assert on_db(tmp_path, lambda root, _: {c.history for c in root.customers.values()}) == {None}
    assert run(ini, capsys) == ['ran payment-history']

    def listed(root, _):
        return {rfc: [entry.payment.reference for entry in c.history.entries()]
                for rfc, c in root.customers.items()}
    indexes = on_db(tmp_path, listed)
    assert indexes[CANON] == ['228'] and all(v == [] for k, v in indexes.items() if k != CANON)
    assert run(ini, capsys) == ['nothing to do: every evolve step is done']


def test_each_customer_gets_its_record_of_mails_and_the_root_the_notifiers_lease(
        ini, tmp_path, capsys, ticking_clock):
    init.main([ini, '--demo'])
    capsys.readouterr()

    def without(root, _):
        for customer in root.customers.values():
            del customer.notices
        del root.notify_lease
        del root.evolve_done['mail-notices']
    on_db(tmp_path, without, commit=True)
    assert run(ini, capsys) == ['ran mail-notices']

    def records(root, _):
        return ({c.notices.statement_sent('005300', '2017-10') for c in root.customers.values()},
                root.notify_lease.holder)
    assert on_db(tmp_path, records) == ({False}, None)
    assert run(ini, capsys) == ['nothing to do: every evolve step is done']


def test_each_history_index_gets_its_tally(ini, tmp_path, capsys, ticking_clock):
    """An index written before its tally is counted once from its entries; HISTORIAL then
    counts and totals from the tally."""
    init.main([ini, '--demo'])
    capsys.readouterr()

    def without(root, _):
        for customer in root.customers.values():
            del customer.history.tally
        del root.evolve_done['payment-history-tally']
    on_db(tmp_path, without, commit=True)
    assert on_db(tmp_path, lambda root, _: {c.history.tally for c in root.customers.values()}) == {None}
    assert run(ini, capsys) == ['ran payment-history-tally']
    tallies = on_db(tmp_path, lambda root, _: {rfc: c.history.tally.by_state
                                               for rfc, c in root.customers.items()})
    assert tallies[CANON] == {'approved': (1, 1, Decimal('18.31'))}
    assert all(v == {} for k, v in tallies.items() if k != CANON)
    assert run(ini, capsys) == ['nothing to do: every evolve step is done']


def test_evolve_takes_the_ini_files_values_as_pserve_does(ini, tmp_path, capsys, ticking_clock):
    """``canonportal-evolve INI db=…``: the benchmark evolves each database it reuses so."""
    init.main([ini, '--demo'])
    capsys.readouterr()
    on_db(tmp_path, lambda root, _: root.evolve_done.pop('payment-history-tally'), commit=True)
    template = tmp_path / 'variables.ini'
    template.write_text(Path(ini).read_text().replace(str(tmp_path), '%(db)s'))
    assert '%(db)s' in template.read_text()
    assert run(str(template), capsys, f'db={tmp_path}') == ['ran payment-history-tally']
