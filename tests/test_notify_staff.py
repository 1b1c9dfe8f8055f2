"""The staff's daily mail about late payment complements (REP): once a day while any payment
is past its deadline, to the operators and administrators with an address; audited."""
from pyramid_mailer import get_mailer

from canonportal.notify.staff_alerts import ACTION, complements_overdue
from manage_support import audit_entries
from notify_support import D, client_mails, run_notifier
from portal_support import add_staff_user, nothing_changes, with_root

OPERATOR_MAIL = 'operaciones@canon.example'
ADMIN_MAIL = 'jefa@canon.example'


def staff_with_addresses(app):
    add_staff_user(app, 'opera', role='operator')
    add_staff_user(app, 'jefa', role='admin')
    add_staff_user(app, 'revisa', role='auditor')

    def addresses(root):
        root.staff['opera'].email = OPERATOR_MAIL
        root.staff['jefa'].email = ADMIN_MAIL
        root.staff['revisa'].email = 'auditoria@canon.example'
    with_root(app, addresses)


def staff_mails(app, since=0):
    return [m for m in client_mails(app, since) if m.to[0].endswith('@canon.example')]


def test_payment_228s_late_rep_is_mailed_to_operators_and_admins_once_a_day(app):
    staff_with_addresses(app)
    # Paid on 10 October 2017: its REP was due on 5 November.
    counts, _printed = run_notifier(app, D(2017, 11, 5), jobs=[complements_overdue])
    assert staff_mails(app) == [] and not counts['complement alert mails']
    counts, printed = run_notifier(app, D(2017, 11, 6), jobs=[complements_overdue])
    mails = staff_mails(app)
    assert sorted(m.to[0] for m in mails) == sorted([OPERATOR_MAIL, ADMIN_MAIL])
    mail = mails[0]
    assert mail.subject == '1 pago sin complemento de pago (REP) pasó su fecha límite'
    assert '228' in mail.text and '05-11-2017' in mail.text and '1233074' in mail.text
    assert '228' in mail.html and '/manage/' in mail.text
    assert counts['complement alert mails'] == 2 and counts['complements overdue'] == 1
    [(actor, _action, _target, _before, after, note)] = audit_entries(app, ACTION)
    assert (actor, after) == ('console:canonportal-notify', '228')

    # The same day again (another app server): no mail, no audit entry (only the lease moves).
    counts, _printed = run_notifier(app, D(2017, 11, 6), jobs=[complements_overdue])
    assert len(staff_mails(app)) == 2 and not counts['complement alert mails']
    assert len(audit_entries(app, ACTION)) == 1
    run_notifier(app, D(2017, 11, 7), jobs=[complements_overdue])    # still late: next day
    assert len(staff_mails(app)) == 4


def test_a_dry_run_says_it_and_sends_nothing(app):
    staff_with_addresses(app)
    with nothing_changes(app):
        counts, printed = run_notifier(app, D(2017, 11, 6), jobs=[complements_overdue],
                                       dry_run=True)
    assert f'would send to {OPERATOR_MAIL}' in printed
    assert get_mailer(app.registry).outbox == []
