"""Outgoing mail through pyramid_mailer, joined to the request's transaction.

With ``mail.queue_path`` set (development) mails are written to that Maildir
on commit; otherwise they go out by SMTP on commit. A rolled-back request
sends nothing either way.
"""
import os

from pyramid_mailer.message import Message
from pyramid_mailer.mailer import DummyMailer

_ENV_OVERRIDES = {
    'CANONPORTAL_SMTP_HOST': 'mail.host',
    'CANONPORTAL_SMTP_PORT': 'mail.port',
    'CANONPORTAL_SMTP_USERNAME': 'mail.username',
    'CANONPORTAL_SMTP_PASSWORD': 'mail.password',
}


def send(request, to, subject, body, attachments=()):
    """Queue a plain-text mail to ``to``; it leaves only if the transaction commits."""
    return deliver(request.mailer, request.registry.settings, to, subject, body, attachments)


def deliver(mailer, settings, to, subject, body, attachments=()):
    """Send through ``mailer`` (bound to a transaction manager); for scripts and views."""
    message = Message(subject=subject, recipients=[to], body=body)
    for attachment in attachments:
        message.attach(attachment)
    if settings.get('mail.queue_path'):
        mailer.send_to_queue(message)
    else:
        mailer.send(message)
    return message


class _DeliverOnCommit:
    """A transaction data manager that files one message in an outbox on commit."""

    def __init__(self, outbox, message, manager):
        self.outbox = outbox
        self.message = message
        self.transaction_manager = manager

    def sortKey(self):
        return f'canonportal.mail:{id(self)}'

    def tpc_finish(self, transaction):
        self.outbox.append(self.message)

    def abort(self, transaction):
        pass

    tpc_begin = commit = tpc_vote = tpc_abort = abort


class TransactionalDummyMailer(DummyMailer):
    """pyramid_mailer's testing mailer, joined to the transaction like the real ones.

    A message reaches ``outbox`` (or ``queue``) only when the transaction that
    sent it commits, so tests see what production would send: nothing from a
    rolled-back or retried attempt.
    """

    def __init__(self):
        super().__init__()
        self._manager = None

    def bind(self, transaction_manager=None, **kw):
        bound = TransactionalDummyMailer.__new__(TransactionalDummyMailer)
        bound.outbox, bound.queue = self.outbox, self.queue
        bound._manager = transaction_manager
        return bound

    def _join(self, box, message):
        manager = self._manager
        if manager is None:
            box.append(message)
            return
        manager.get().join(_DeliverOnCommit(box, message, manager))

    def send(self, message):
        self._join(self.outbox, message)

    def send_to_queue(self, message):
        self._join(self.queue, message)


def includeme(config):
    settings = config.get_settings()
    for variable, key in _ENV_OVERRIDES.items():
        if os.environ.get(variable):
            settings[key] = os.environ[variable]
    if settings.get('mail.queue_path'):
        # A Maildir (cur/, new/, tmp/): each mail lands as a file in new/ on commit.
        for folder in ('cur', 'new', 'tmp'):
            os.makedirs(os.path.join(settings['mail.queue_path'], folder), exist_ok=True)
    if settings.get('canonportal.testing_mailer'):
        from pyramid_mailer import _set_mailer
        _set_mailer(config, TransactionalDummyMailer())
    else:
        config.include('pyramid_mailer')
