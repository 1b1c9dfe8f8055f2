"""Outgoing mail through pyramid_mailer, handed over once the request's transaction
has committed.

With ``mail.queue_path`` set (development) mails are written to that Maildir;
otherwise they go out by SMTP. A rolled-back request sends nothing either way.
"""
import logging
import os
import queue
import threading

import transaction
from pyramid_mailer import get_mailer, mailer_factory_from_settings
from pyramid_mailer.interfaces import IMailer
from pyramid_mailer.mailer import DummyMailer
from pyramid_mailer.message import Message

log = logging.getLogger(__name__)

_ENV_OVERRIDES = {
    'CANONPORTAL_SMTP_HOST': 'mail.host',
    'CANONPORTAL_SMTP_PORT': 'mail.port',
    'CANONPORTAL_SMTP_USERNAME': 'mail.username',
    'CANONPORTAL_SMTP_PASSWORD': 'mail.password',
}


def send(request, to, subject, body, attachments=()):
    """Queue a plain-text mail to ``to``; it leaves only if the transaction commits.

    It is handed over by an after-commit hook, in a transaction of its own, so the
    mail never takes part in the request's two-phase commit: when a conflict makes
    pyramid_retry run the request again there is nothing of it to abort
    (repoze.sendmail's data manager raised TPC_InProgress from ``abort()`` there,
    and every ordinary retry logged a traceback).
    """
    message = _message(to, subject, body, attachments)
    mailer = get_mailer(request.registry)
    settings = request.registry.settings

    def hand_over(committed):
        if committed:
            deliver_message(mailer, settings, message)

    request.tm.get().addAfterCommitHook(hand_over)
    return message


def _message(to, subject, body, attachments=(), html=None, headers=None):
    message = Message(subject=subject, recipients=[to], body=body, html=html,
                      extra_headers=dict(headers or {}))
    for attachment in attachments:
        message.attach(attachment)
    return message


def deliver_message(mailer, settings, message):
    """Send ``message`` now, in a transaction of its own (the Maildir or SMTP delivery of
    pyramid_mailer is transactional)."""
    manager = transaction.TransactionManager()
    bound = mailer.bind(transaction_manager=manager)
    with manager:
        if settings.get('mail.queue_path'):
            bound.send_to_queue(message)
        else:
            bound.send(message)


def deliver(mailer, settings, to, subject, body, attachments=(), html=None, headers=None):
    """Send through ``mailer``, joined to the transaction it is bound to (the scripts); with
    ``html`` the mail has an HTML part beside the text, ``headers`` are added as they are."""
    message = _message(to, subject, body, attachments, html, headers)
    if settings.get('mail.queue_path'):
        mailer.send_to_queue(message)
    else:
        mailer.send(message)
    return message


def send_after_commit(request, to, subject, body):
    """Like :func:`send`, but delivered by a background thread once the request's
    transaction has committed: for the mails whose sending must not show in the
    answer's timing (activation, password reset), since answering whether an RFC
    exists by how long SMTP took would undo the identical answers."""
    message = _message(to, subject, body)
    mailer = get_mailer(request.registry)
    settings = request.registry.settings

    def hand_over(committed):
        if not committed:
            return
        if isinstance(mailer, DummyMailer):
            deliver_message(mailer, settings, message)    # tests: at once, still only on commit
        else:
            _background().put((mailer, settings, message))

    request.tm.get().addAfterCommitHook(hand_over)
    return message


class _Postman(threading.Thread):
    """One daemon thread delivering queued mails, each in its own transaction."""

    def __init__(self):
        super().__init__(name='canonportal-mail', daemon=True)
        self.pending = queue.Queue(maxsize=1000)

    def put(self, item):
        try:
            self.pending.put(item, timeout=5)
        except queue.Full:
            log.error('mail not sent: the delivery queue is full')

    def run(self):
        while True:
            mailer, settings, message = self.pending.get()
            try:
                deliver_message(mailer, settings, message)
            except Exception:  # noqa: BLE001 - one bad mail must not stop the others
                log.exception('mail to one recipient failed')
            finally:
                self.pending.task_done()


_postman = None
_postman_lock = threading.Lock()


def _background():
    global _postman
    with _postman_lock:
        if _postman is None or not _postman.is_alive():
            _postman = _Postman()
            _postman.start()
    return _postman


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
    # Registered as the utility pyramid_mailer's get_mailer() reads, without its
    # ``request.mailer`` property (see canonportal.request): nothing here reads it.
    mailer = (TransactionalDummyMailer() if settings.get('canonportal.testing_mailer')
              else mailer_factory_from_settings(settings))
    config.registry.registerUtility(mailer, IMailer)
