"""Mail as development writes it: a Maildir under var/mail, joined to the transaction."""
import email
import email.policy
import pathlib
import time

import pytest
from pyramid.config import Configurator

from canonportal import mail
from canonportal.bootstrap import add_demo_data
from portal_support import BASE_SETTINGS, CANON, GOOD_PASSWORD, Client, file_storage_uri, with_root
from canonportal import main


@pytest.fixture
def maildir_app(tmp_path):
    settings = dict(BASE_SETTINGS)
    del settings['canonportal.testing_mailer']
    settings['zodbconn.uri'] = file_storage_uri(tmp_path)
    settings['mail.queue_path'] = str(tmp_path / 'mail')
    app = main({}, **settings)
    with_root(app, add_demo_data)
    return app, tmp_path / 'mail'


def mails_in(folder):
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted((folder / 'new').iterdir())]


def wait_for_mails(folder, count=1, timeout=10):
    """The activation mail leaves after the answer, from a background thread."""
    deadline = time.monotonic() + timeout
    while len(list((folder / 'new').iterdir())) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return mails_in(folder)


def test_the_activation_mail_is_a_file_whose_link_works(maildir_app):
    app, folder = maildir_app
    with_root(app, lambda root: setattr(root.customers[CANON], 'contact_email', 'cxp@example.mx'))
    client = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    assert 'c***@example.mx' in client.login(CANON, CANON).text
    [message] = wait_for_mails(folder)
    assert message['To'] == 'cxp@example.mx'
    raw = next((folder / 'new').iterdir()).read_text('latin-1')
    # The link is readable as is in the raw file, not split by the transfer encoding.
    link = next(line for line in raw.splitlines() if '/activar/' in line)
    assert link.startswith('https://portal.example.mx/activar/')
    page = client.get(link.replace('https://portal.example.mx', ''))
    assert 'c***@example.mx' in page.text
    form = page.forms[len(page.forms) - 1]
    form['password'] = form['password_confirmation'] = GOOD_PASSWORD
    assert form.submit().status_int == 303
    assert with_root(app, lambda root: root.customers[CANON].email) == 'cxp@example.mx'


def test_a_rolled_back_request_sends_nothing(tmp_path):
    config = Configurator(settings={'mail.queue_path': str(tmp_path / 'q'),
                                    'mail.default_sender': 'portal@example.mx'})
    config.include('canonportal.mail')
    config.commit()
    import transaction
    from pyramid.scripting import prepare
    manager = transaction.TransactionManager(explicit=True)
    env = prepare(registry=config.registry)
    request = env['request']
    request.tm = manager
    with manager:
        mail.send(request, 'a@example.mx', 'kept', 'sent on commit')
    manager.begin()
    mail.send(request, 'b@example.mx', 'lost', 'never sent')
    manager.abort()
    subjects = [m['Subject'] for m in mails_in(tmp_path / 'q')]
    assert subjects == ['kept']
    assert pathlib.Path(tmp_path / 'q' / 'new').is_dir()
    env['closer']()


class _ConflictOnFirstVote:
    """A resource manager whose first vote fails as a ZODB write conflict would."""

    votes = 0

    def __init__(self, manager):
        self.transaction_manager = manager

    def sortKey(self):
        return '/ZODB first, as a FileStorage path sorts'

    def tpc_vote(self, txn):
        type(self).votes += 1
        if type(self).votes == 1:
            from ZODB.POSException import ConflictError
            raise ConflictError('forced at vote')

    def abort(self, txn):
        pass

    tpc_begin = commit = tpc_finish = tpc_abort = abort


def test_a_retried_conflict_logs_no_traceback_and_mails_once(tmp_path, caplog):
    """Before, repoze.sendmail's data manager raised TPC_InProgress from abort() on every
    ordinary retry: 'Error in abort()' with a traceback (issue 11)."""
    import logging

    import webtest
    from pyramid.response import Response

    config = Configurator(settings={'mail.queue_path': str(tmp_path / 'q'),
                                    'mail.default_sender': 'portal@example.mx',
                                    'tm.manager_hook': 'pyramid_tm.explicit_manager',
                                    'retry.attempts': '3'})
    config.include('pyramid_tm')
    config.include('pyramid_retry')
    config.include('canonportal.mail')

    def view(request):
        mail.send(request, 'a@example.mx', 'Recibo', 'uno')
        request.tm.get().join(_ConflictOnFirstVote(request.tm))
        return Response('ok')

    config.add_route('send', '/send')
    config.add_view(view, route_name='send')
    _ConflictOnFirstVote.votes = 0
    with caplog.at_level(logging.DEBUG):
        assert webtest.TestApp(config.make_wsgi_app()).get('/send').text == 'ok'
    assert _ConflictOnFirstVote.votes == 2
    assert [m['Subject'] for m in mails_in(tmp_path / 'q')] == ['Recibo']
    assert not [r for r in caplog.records if r.exc_info or 'Error in abort' in r.getMessage()]
