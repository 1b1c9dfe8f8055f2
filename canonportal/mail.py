"""Outgoing mail through pyramid_mailer, joined to the request's transaction.

With ``mail.queue_path`` set (development) mails are written to that Maildir
on commit; otherwise they go out by SMTP on commit. A rolled-back request
sends nothing either way.
"""
import os

from pyramid_mailer.message import Message

_ENV_OVERRIDES = {
    'CANONPORTAL_SMTP_HOST': 'mail.host',
    'CANONPORTAL_SMTP_PORT': 'mail.port',
    'CANONPORTAL_SMTP_USERNAME': 'mail.username',
    'CANONPORTAL_SMTP_PASSWORD': 'mail.password',
}


def send(request, to, subject, body):
    """Queue a plain-text mail to ``to``; it leaves only if the transaction commits."""
    message = Message(subject=subject, recipients=[to], body=body)
    mailer = request.mailer
    if request.registry.settings.get('mail.queue_path'):
        mailer.send_to_queue(message)
    else:
        mailer.send(message)
    return message


def includeme(config):
    settings = config.get_settings()
    for variable, key in _ENV_OVERRIDES.items():
        if os.environ.get(variable):
            settings[key] = os.environ[variable]
    if settings.get('mail.queue_path'):
        os.makedirs(settings['mail.queue_path'], exist_ok=True)
    if settings.get('canonportal.testing_mailer'):
        config.include('pyramid_mailer.testing')
    else:
        config.include('pyramid_mailer')
