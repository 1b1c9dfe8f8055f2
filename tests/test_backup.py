"""The backup drill: back up the portal `make run` serves while customers pay, restore into
a new folder, open it, and find every acknowledged payment, blob and audit entry (issue 11)."""
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import ZODB
from ZODB.FileStorage import FileStorage

from portal_support import CANON, GOOD_PASSWORD
from server_support import Browser, pay, pay_at_bank

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


def run(script, *args):
    done = subprocess.run([str(BIN / script), *map(str, args)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f'{script}: {done.stdout}\n{done.stderr}'
    return done.stdout


def activation_path(server, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in server.mails():
            found = re.search(r'/activar/[\w\-]+', path.read_text('latin-1'))
            if found:
                return found.group(0)
        time.sleep(0.05)
    raise AssertionError('no activation mail')


def signed_in_customer(server):
    browser = Browser()
    first = browser.submit(browser.get(server.url('/')), {'login': CANON, 'password': CANON})
    assert first.status_code == 200, first.text[:500]
    page = browser.get(server.url(activation_path(server)))
    done = browser.submit(page, {'password': GOOD_PASSWORD, 'password_confirmation': GOOD_PASSWORD})
    assert done.status_code == 303, done.text[:500]
    return browser


def pay_one_peso(browser, server):
    """A payment approved at the sandbox Citibanamex; its reference once the portal has it."""
    started = pay(browser, server, CANON, {'6212976': '1.00'}, bank='banamex')
    assert started.status_code == 303, started.text[:500]
    back = pay_at_bank(browser, 'banamex', started.headers['location'])
    while back.status_code in (302, 303):
        location = back.headers['location']
        if re.search(r'/payments/\d+/?$', urlsplit(location).path):
            return re.search(r'/payments/(\d+)', location).group(1)
        back = browser.get(location if location.startswith('http') else server.url(location))
    raise AssertionError(back.text[:500])


def read_database(folder):
    storage = FileStorage(str(folder / 'Data.fs'), blob_dir=str(folder / 'blobs'), read_only=True)
    db = ZODB.DB(storage)
    try:
        with db.transaction() as conn:
            root = conn.root()['app_root']
            customer = root.customers[CANON]
            blobs = {}
            for key, invoice in customer.invoices.items():
                for name in ('cfdi_xml', 'pdf'):
                    blob = getattr(invoice, name)
                    if blob is not None:
                        with blob.open('r') as handle:
                            blobs[(key, name)] = len(handle.read())
            return {'payments': {ref: p.state for ref, p in customer.payments.items()},
                    'audit': len(list(root.audit_log.search())),
                    'blobs': blobs}
    finally:
        db.close()


@pytest.fixture
def served(tmp_path):
    from devserver_support import start_dev_server
    server = start_dev_server(tmp_path / 'portal')
    yield server
    server.stop()


def test_backup_while_serving_restore_and_find_everything(served, tmp_path):
    customer = signed_in_customer(served)
    acknowledged, failures = [], []
    backups = tmp_path / 'backups'

    def customers_paying():
        try:
            for _ in range(4):
                acknowledged.append(pay_one_peso(customer, served))
        except Exception as error:  # noqa: BLE001 - reported by the test
            failures.append(error)

    payer = threading.Thread(target=customers_paying)
    payer.start()
    first = run('canonportal-backup', served.ini, backups, f'http_port={served.port}')
    payer.join(timeout=120)
    assert not failures, failures
    assert 'full' in first
    acknowledged.append(pay_one_peso(customer, served))
    second = run('canonportal-backup', served.ini, backups, f'http_port={served.port}')
    assert 'incremental' in second, second

    # Restored while the portal still serves: the backup is all it needs.
    run('canonportal-restore', backups, tmp_path / 'restored')
    restored = read_database(tmp_path / 'restored')
    assert set(acknowledged) <= set(restored['payments'])
    assert all(restored['payments'][ref] == 'approved' for ref in acknowledged)
    assert len(restored['blobs']) >= 10 and all(restored['blobs'].values())

    served.stop()
    live = read_database(served.folder / 'var')
    assert restored == live          # nothing acknowledged before the last backup is missing
    assert restored['audit'] > 0

    # The first backup, taken during the writes, restores to a consistent database too.
    stamp = re.search(r'\((\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)\)', first).group(1)
    run('canonportal-restore', backups, tmp_path / 'earlier', '--date', stamp)
    earlier = read_database(tmp_path / 'earlier')
    assert set(earlier['payments']) <= set(live['payments'])
    assert earlier['blobs'] == live['blobs']


def test_pack_asks_the_serving_portal_and_keeps_the_current_data(served, tmp_path):
    customer = signed_in_customer(served)
    reference = pay_one_peso(customer, served)
    before = (served.folder / 'var' / 'Data.fs').stat().st_size
    output = run('canonportal-pack', served.ini, f'http_port={served.port}', '--days', '0')
    assert 'asking it' in output and 'packed' in output
    assert (served.folder / 'var' / 'Data.fs').stat().st_size < before
    # The portal goes on serving the same data.
    page = customer.get(served.url(f'/customers/{CANON}/payments/{reference}'))
    assert page.status_code == 200 and 'Pago aprobado' in page.text
    # Without the token the server refuses.
    assert Browser().post(served.url('/empaquetar'), {'days': '0'}).status_code == 403
    # A backup after the pack is a full one, and restores.
    assert 'full' in run('canonportal-backup', served.ini, tmp_path / 'b', f'http_port={served.port}')
    run('canonportal-restore', tmp_path / 'b', tmp_path / 'r')
    assert reference in read_database(tmp_path / 'r')['payments']


def test_reconcile_asks_the_serving_portal_on_its_waitress_address(served):
    """The proxy does not pass /reconciliar on: the script asks waitress itself."""
    output = run('canonportal-reconcile', served.ini, f'http_port={served.port}')
    assert 'asking it: http://localhost:' in output and 'reconciled' in output


# -- owner-only files, a second of its own, the command line (issue 20) ----------------------

def modes_under(folder):
    """{path: permission bits} of ``folder`` and of everything in it."""
    found = {folder: folder.stat().st_mode & 0o777}
    for path in folder.rglob('*'):
        found[path] = path.stat().st_mode & 0o777
    return found


def others_may_read(folder):
    return {str(path): oct(mode) for path, mode in modes_under(folder).items() if mode & 0o077}


@pytest.fixture
def umask_022():
    """The usual umask of a shell, whatever the test runner's is."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_the_units_write_the_database_owner_only():
    """Every service of deploy/systemd runs with UMask=0077: what the portal and the
    scripts create (Data.fs, blobs, backups) is the service user's alone."""
    units = sorted((ROOT / 'deploy' / 'systemd').glob('*.service'))
    assert len(units) == 6          # the portal (2), reconcile, notify, backup, pack
    for unit in units:
        service = unit.read_text().split('[Service]', 1)[1].split('\n[', 1)[0]
        assert 'UMask=0077' in service.splitlines(), unit.name


def test_with_the_units_umask_a_new_database_is_owner_only(tmp_path):
    from canonportal.scripts import init
    from script_support import write_ini
    folder = tmp_path / 'var'
    folder.mkdir(mode=0o700)
    before = os.umask(0o077)
    try:
        assert init.main([write_ini(folder), '--demo']) == 0
    finally:
        os.umask(before)
    assert (folder / 'Data.fs').stat().st_mode & 0o777 == 0o600
    assert any((folder / 'blobs').rglob('*.blob'))
    assert others_may_read(folder) == {}


def test_backups_and_restores_are_the_owners_alone(demo_ini, tmp_path, umask_022):
    from canonportal.scripts import backup, restore
    target = tmp_path / 'backups'
    target.mkdir(mode=0o755)            # made by hand, or by an older version
    assert backup.main([demo_ini, str(target)]) == 0
    assert {p.name for p in target.iterdir()} == {'datafs', 'blobs', 'manifests'}
    assert any((target / 'blobs').rglob('*.blob'))
    assert others_may_read(target) == {}
    modes = modes_under(target)
    assert {mode for path, mode in modes.items() if path.is_dir()} == {0o700}
    assert {mode for path, mode in modes.items() if path.is_file()} == {0o600}

    restored = tmp_path / 'restored'
    assert restore.main([str(target), str(restored)]) == 0
    assert (restored / 'Data.fs').stat().st_mode & 0o777 == 0o600
    assert any((restored / 'blobs').rglob('*.blob'))
    assert others_may_read(restored) == {}


class SteppedClock:
    """The clock of the backup: it moves only when the backup waits. ``lag``: how far
    time.gmtime() (C's time(), a coarse clock on Linux) is behind time.time()."""

    def __init__(self, now):
        self.now = now
        self.slept = 0.0
        self.lag = 0.0

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.slept += seconds
        self.now += seconds


@pytest.fixture
def stepped_clock(monkeypatch):
    """2026-12-01 02:30:00.25 UTC, for the backup and for repozo (which names its files by
    time.gmtime())."""
    clock = SteppedClock(1796092200.25)
    real_gmtime = time.gmtime
    monkeypatch.setattr(time, 'gmtime', lambda seconds=None: real_gmtime(
        clock.now - clock.lag if seconds is None else seconds))
    return clock


def _first_rfc_email(ini, email=None):
    """Read (or, with ``email``, change and commit) the first customer's contact email."""
    from canonportal.scripts.common import open_database, run_in_transaction

    def work(root):
        customer = root.customers[sorted(root.customers.keys())[0]]
        if email is not None:
            customer.contact_email = email
        return customer.contact_email
    db, _ = open_database(ini)
    try:
        return run_in_transaction(db, work)
    finally:
        db.close()


def _restored_email(folder):
    storage = FileStorage(str(folder / 'Data.fs'), read_only=True)
    db = ZODB.DB(storage)
    try:
        with db.transaction() as conn:
            customers = conn.root()['app_root'].customers
            return customers[sorted(customers.keys())[0]].contact_email
    finally:
        db.close()


@pytest.mark.parametrize('second_is_full', [False, True])
def test_a_second_backup_in_the_same_second_gets_a_second_of_its_own(
        demo_ini, tmp_path, stepped_clock, second_is_full):
    import io

    from canonportal.scripts import backup, restore
    from canonportal.scripts.common import ini_settings
    data_fs, blob_dir = backup.file_storage_paths(ini_settings(demo_ini))
    target = tmp_path / 'backups'
    run = dict(out=io.StringIO(), clock=stepped_clock.time, sleep=stepped_clock.sleep)
    first = backup.backup(data_fs, blob_dir, target, **run)
    assert first == '2026-12-01-02-30-00' and stepped_clock.slept == 0
    kept = {p.name: p.read_bytes() for p in (target / 'datafs').iterdir() if p.suffix != '.dat'}
    _first_rfc_email(demo_ini, 'pagos-nuevo@example.mx')      # written within the same second

    second = backup.backup(data_fs, blob_dir, target, full=second_is_full, **run)
    assert second == '2026-12-01-02-30-01'
    assert 0 < stepped_clock.slept <= 1
    assert {name: (target / 'datafs' / name).read_bytes() for name in kept} == kept
    assert restore.restore(target, tmp_path / 'restored', out=io.StringIO()) == second
    assert _restored_email(tmp_path / 'restored') == 'pagos-nuevo@example.mx'


def test_a_second_backup_waits_for_the_second_repozo_names_it_by(demo_ini, tmp_path, stepped_clock):
    """time.gmtime(), repozo's clock, enters a second a kernel tick after time.time(): a wait
    that trusted time.time() alone let repozo name the incremental after the full backup,
    so the backup said "no change" and every restore left the change out."""
    import io

    from canonportal.scripts import backup, restore
    from canonportal.scripts.common import ini_settings
    data_fs, blob_dir = backup.file_storage_paths(ini_settings(demo_ini))
    target = tmp_path / 'backups'
    stepped_clock.lag = 0.004                                  # one tick at 250 Hz
    run = dict(clock=stepped_clock.time, sleep=stepped_clock.sleep)
    first = backup.backup(data_fs, blob_dir, target, out=io.StringIO(), **run)
    assert first == '2026-12-01-02-30-00'
    _first_rfc_email(demo_ini, 'pagos-nuevo@example.mx')      # written within the same second

    printed = io.StringIO()
    second = backup.backup(data_fs, blob_dir, target, out=printed, **run)
    assert 'Data.fs: incremental (2026-12-01-02-30-01)' in printed.getvalue()
    assert second == '2026-12-01-02-30-01'
    assert sorted(backup.data_files(target / 'datafs')) == [
        '2026-12-01-02-30-00.fsz', '2026-12-01-02-30-01.deltafsz']
    assert 0.754 <= stepped_clock.slept < 0.76                # to :01 and then a tick more
    assert restore.restore(target, tmp_path / 'restored', out=io.StringIO()) == second
    assert _restored_email(tmp_path / 'restored') == 'pagos-nuevo@example.mx'


def test_an_incremental_named_after_the_full_backup_is_followed_by_a_full_one(
        demo_ini, tmp_path, stepped_clock, monkeypatch):
    """Should repozo still write an incremental in the second of an older backup (here: the
    first wait is skipped), the backup takes a full one in the next second instead of
    reporting "no change"."""
    import io

    from canonportal.scripts import backup, restore
    from canonportal.scripts.common import ini_settings
    data_fs, blob_dir = backup.file_storage_paths(ini_settings(demo_ini))
    target = tmp_path / 'backups'
    run = dict(clock=stepped_clock.time, sleep=stepped_clock.sleep)
    backup.backup(data_fs, blob_dir, target, out=io.StringIO(), **run)
    _first_rfc_email(demo_ini, 'pagos-nuevo@example.mx')      # written within the same second
    real_wait, waits = backup.wait_for_a_new_second, []

    def first_wait_skipped(*args):
        waits.append(args)
        if len(waits) > 1:
            real_wait(*args)
    monkeypatch.setattr(backup, 'wait_for_a_new_second', first_wait_skipped)

    printed = io.StringIO()
    second = backup.backup(data_fs, blob_dir, target, out=printed, **run)
    assert len(waits) == 2
    assert '2026-12-01-02-30-00.deltafsz has the name of an older backup' in printed.getvalue()
    assert 'Data.fs: full (2026-12-01-02-30-01)' in printed.getvalue()
    assert 'no change' not in printed.getvalue()
    assert second == '2026-12-01-02-30-01'
    assert restore.restore(target, tmp_path / 'restored', out=io.StringIO()) == second
    assert _restored_email(tmp_path / 'restored') == 'pagos-nuevo@example.mx'


def test_a_backup_newer_than_the_clock_stops_the_next_one(demo_ini, tmp_path, stepped_clock):
    import io

    from canonportal.scripts import backup
    from canonportal.scripts.common import ini_settings
    data_fs, blob_dir = backup.file_storage_paths(ini_settings(demo_ini))
    target = tmp_path / 'backups'
    run = dict(out=io.StringIO(), clock=stepped_clock.time, sleep=stepped_clock.sleep)
    backup.backup(data_fs, blob_dir, target, **run)
    before = sorted(p.name for p in (target / 'datafs').iterdir())
    stepped_clock.now -= 3600                                  # the clock went back an hour
    _first_rfc_email(demo_ini, 'pagos-nuevo@example.mx')
    with pytest.raises(SystemExit, match='is the clock right'):
        backup.backup(data_fs, blob_dir, target, **run)
    assert sorted(p.name for p in (target / 'datafs').iterdir()) == before
    assert stepped_clock.slept == 0


def _ini_with_a_server(folder):
    """The scripts' ini file with a [server:main] on %(http_port)s, as production.ini has."""
    from script_support import write_ini
    path = Path(write_ini(folder))
    path.write_text(path.read_text() + '\n[server:main]\nuse = egg:waitress#main\n'
                                       'listen = 127.0.0.1:%(http_port)s\n')
    return str(path)


@pytest.mark.parametrize('where', ['after the options', 'between', 'before the ini file'])
def test_pack_takes_http_port_anywhere_on_the_command_line(tmp_path, capsys, where):
    """While a server holds the FileStorage, canonportal-pack asks the waitress of the ini's
    [server:main] at http_port=N, wherever N is given (like the other scripts)."""
    from pyramid_zodbconn import db_from_uri

    from canonportal.scripts import init, pack
    from canonportal.scripts.common import ini_settings
    from server_support import free_port
    ini = _ini_with_a_server(tmp_path)
    assert init.main([ini]) == 0
    port = free_port()                          # nobody listens there: the script says so
    argv = {'after the options': [ini, '--days', '30', f'http_port={port}'],
            'between': [ini, f'http_port={port}', '--days', '30'],
            'before the ini file': [f'http_port={port}', ini, '--days', '30']}[where]
    held = db_from_uri(ini_settings(ini)['zodbconn.uri'], 'unnamed', {})   # the "server"
    try:
        capsys.readouterr()
        assert pack.main(argv) == 1
    finally:
        held.close()
    printed = capsys.readouterr()
    assert f'asking it: http://127.0.0.1:{port}/empaquetar' in printed.out
    assert 'could not reach the portal' in printed.err


def test_a_stray_word_on_the_command_line_is_refused(tmp_path, capsys):
    from canonportal.scripts import pack
    with pytest.raises(SystemExit) as refused:
        pack.main([_ini_with_a_server(tmp_path), '--days', '30', 'http_port'])
    assert refused.value.code == 2
    assert "expected NAME=VALUE, got 'http_port'" in capsys.readouterr().err
