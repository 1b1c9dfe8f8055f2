"""The backup drill: back up the portal `make run` serves while customers pay, restore into
a new folder, open it, and find every acknowledged payment, blob and audit entry (issue 11)."""
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
    time.sleep(1.1)           # repozo names backups by the second
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
