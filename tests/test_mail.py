"""Mail as development writes it: a Maildir under var/mail, joined to the transaction."""
import email
import email.policy
import pathlib

import pytest
from pyramid.config import Configurator

from canonportal import mail
from canonportal.bootstrap import add_demo_data
from conftest import BASE_SETTINGS, CANON, Client, file_storage_uri, with_root
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


def test_the_confirmation_mail_is_a_file_whose_link_works(maildir_app):
    app, folder = maildir_app
    client = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'})
    client.sign_in_active(email='cxp@example.mx')
    [message] = mails_in(folder)
    assert message['To'] == 'cxp@example.mx'
    raw = next((folder / 'new').iterdir()).read_text('latin-1')
    # The link is readable as is in the raw file, not split by the transfer encoding.
    link = next(line for line in raw.splitlines() if '/confirmar-correo/' in line)
    assert link.startswith('https://portal.example.mx/confirmar-correo/')
    page = client.get(link.replace('https://portal.example.mx', ''))
    assert 'cxp@example.mx' in page.text
    done = page.forms[len(page.forms) - 1].submit()
    assert 'quedó confirmado' in done.text
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
