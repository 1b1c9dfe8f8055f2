"""What the notifier's tests share: one run of canonportal-notify on an app's database for a
day, and its mails read as a mail client reads them (both parts, headers, the PDFs)."""
import datetime
import email
import email.policy
import io
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from pyramid_mailer import get_mailer

from canonportal.notify.run import notify
from portal_support import BASE_SETTINGS, database_of

D = datetime.date


def run_notifier(app, day, **options):
    """One run of the notifier on ``app``'s database for ``day``: ``(counts, printed)``."""
    out = io.StringIO()
    counts = notify(database_of(app), app.registry.settings, get_mailer(app.registry),
                    today=day, out=out, **options)
    return counts, out.getvalue()


@dataclass
class ClientMail:
    """A mail parsed from its bytes, as a mail client shows it."""

    to: tuple
    subject: str
    text: str
    html: str
    headers: dict
    pdfs: dict          # file name -> bytes

    @property
    def ticked(self):
        """The invoices the SALDOS link ticks (``?pagar=``), in order."""
        match = re.search(r'https?://\S+/saldos\?\S+', self.text)
        return parse_qs(urlsplit(match.group(0)).query)['pagar'] if match else []

    @property
    def unsubscribe(self):
        """The path and query of the ``List-Unsubscribe`` link."""
        url = self.headers['List-Unsubscribe'].strip('<>')
        parts = urlsplit(url)
        return f'{parts.path}?{parts.query}'


def parse(raw):
    """A :class:`ClientMail` from a mail's bytes."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    text = parsed.get_body(('plain',))
    html = parsed.get_body(('html',))
    return ClientMail(
        to=tuple(address.addr_spec for address in parsed['To'].addresses),
        subject=str(parsed['Subject']),
        text=text.get_content() if text is not None else '',
        html=html.get_content() if html is not None else '',
        headers={name: str(value).strip() for name, value in parsed.items()},
        pdfs={part.get_filename(): part.get_content() for part in parsed.iter_attachments()})


def client_mails(app, since=0):
    """The mails the app's testing mailer sent (from the ``since``-th on), parsed from their
    bytes, in order."""
    mails = []
    for message in get_mailer(app.registry).outbox[since:]:
        message.sender = message.sender or BASE_SETTINGS['mail.default_sender']
        mails.append(parse(message.to_message().as_bytes()))
    return mails


def reminded(app):
    """``[(address, ticked invoices)]`` of the reminders sent so far, in order."""
    return [(mail.to[0], tuple(mail.ticked)) for mail in client_mails(app) if mail.ticked]


def days(first, last):
    day = first
    while day <= last:
        yield day
        day += datetime.timedelta(days=1)
