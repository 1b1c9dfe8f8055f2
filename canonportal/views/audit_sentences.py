"""The company's BITÁCORA in plain words: each audit entry as one sentence with the names of
the people and links to what it is about ("Ana Compras preparó el pago 229 por $36,870.80
MXN."), in the reader's language.

The audit log keeps what happened in the system's own terms (actions, principal ids, paths,
states, notes, written by :mod:`canonportal.audit`'s callers); this module is the one place
that reads them back as words. Whatever comes from the log or from a person (names,
comments) is escaped: a sentence is HTML only for its links.
"""
import html
import re
from decimal import Decimal, InvalidOperation

from translationstring import TranslationString

from .. import gateways as gw
from ..audit_notes import CREATED as _CREATED_NOTE, REJECTED as _REJECTED_NOTE
from ..accountmail import ROLE_LABELS
from ..formatting import money
from ..i18n import _
from ..resources.customer import APPROVAL_ABOVE, APPROVAL_ALWAYS, APPROVAL_NEVER
from ..resources.payment import (
    APPLIED, APPROVED, CANCELLED, DECLINED, EXPIRED, PENDING, REQUESTED, REVIEW,
)
from .bank_reasons import EXPLANATIONS
from .history import STATE_LABELS

S = {
    'company.login': _('${who} entró al portal.'),
    'company.accept': _('${who} aceptó la invitación y entró al portal por primera vez.'),
    'company.invite': _('${who} invitó a ${person} (${email}) con el rol ${role}; puede ver '
                        '${accounts}.'),
    'company.role': _('${who} cambió el acceso de ${person}: de ${role_before} (${accounts_before}) '
                      'a ${role} (${accounts}).'),
    'company.disable': _('${who} deshabilitó a ${person}: ya no puede entrar al portal.'),
    'company.enable': _('${who} habilitó de nuevo a ${person}.'),
    'company.approval': _('${who} cambió la regla de aprobación: ${rule}.'),
    'company.fiscal': _('${who} cambió los datos fiscales de la empresa.'),
    'staff.company-user.disable': _('${company} deshabilitó a ${person}.'),
    'staff.company-user.enable': _('${company} habilitó de nuevo a ${person}.'),
    'staff.company-user.unlock': _('${company} desbloqueó el acceso de ${person}.'),
    'staff.company-user.invite': _('${company} envió de nuevo la invitación de ${person}.'),
    'customer.disable': _('${company} deshabilitó el acceso de la empresa al portal.'),
    'customer.enable': _('${company} habilitó de nuevo el acceso de la empresa al portal.'),
    'customer.unlock': _('${company} desbloqueó el acceso del administrador principal.'),
    'customer.reset-link': _('${company} envió un enlace para elegir contraseña al correo de la '
                             'empresa.'),
    'customer.invite': _('${company} envió la invitación para activar la cuenta de la empresa.'),
    'payment.query-bank': _('${company} consultó a ${bank} sobre el pago ${payment}.'),
    'spei.assigned-other-customer': _('${company} asignó a otra empresa una transferencia que '
                                      'llegó a la CLABE de esta.'),
    'statement.replace-pdf': _('${company} reemplazó el PDF del estado de cuenta ${statement}.'),
    'erp.invoice.update': _('${company} actualizó la factura ${invoice} desde su sistema.'),
    'erp.statement.update': _('${company} actualizó el estado de cuenta ${statement} desde su '
                              'sistema.'),
    'erp.customer.update': _('${company} actualizó los datos de la empresa desde su sistema.'),
    'other': _('${who} hizo un cambio en ${thing}.'),
}

#: Payment transitions: (before, after) → sentence; some depend on who or what moved it.
PREPARED = _('${who} preparó el pago ${payment} por ${amount}.')
REQUESTED_BY = _('${who} preparó el pago ${payment} por ${amount}; espera aprobación.')
APPROVED_REQUEST = _('${who} aprobó el pago ${payment}.')
REJECTED = _('${who} rechazó el pago ${payment}: «${comment}».')
REQUEST_EXPIRED = _('El pago ${payment} venció sin que nadie lo aprobara; sus facturas quedaron '
                    'libres.')
BANK_APPROVED = _('${bank} confirmó el pago ${payment}.')
TRANSFER_ARRIVED = _('Llegó la transferencia SPEI del pago ${payment}.')
BANK_DECLINED = _('${bank} rechazó el pago ${payment}: ${reason}')
CANCELLED_BY = _('${who} canceló el pago ${payment}; sus facturas quedaron libres.')
CANCELLED_AT_BANK = _('El pago ${payment} se canceló en la página de ${bank}.')
CANCELLED_UNSTARTED = _('El pago ${payment} se canceló: ${bank} no lo recibió.')
EXPIRED_AT_BANK = _('El pago ${payment} expiró sin confirmación de ${bank}; sus facturas '
                    'quedaron libres.')
EXPIRED_TRANSFER = _('El pago ${payment} expiró sin recibir la transferencia SPEI; sus facturas '
                     'quedaron libres.')
APPLIED_BY = _('${company} aplicó el pago ${payment} a sus facturas.')
TO_REVIEW = _('El pago ${payment} pasó a revisión de ${company}.')
RESOLVED = _('${company} resolvió la revisión del pago ${payment}: ${state}.')
MOVED = _('El pago ${payment} quedó «${state}».')

RULES = {
    APPROVAL_NEVER: _('los pagos que prepara una persona con rol Captura no esperan aprobación'),
    APPROVAL_ALWAYS: _('todo pago que prepara una persona con rol Captura espera aprobación'),
    APPROVAL_ABOVE: _('los pagos que prepara una persona con rol Captura por más de ${amount} '
                      'esperan aprobación'),
}
ALL_ACCOUNTS = _('todas las cuentas')
SOMEONE_GONE = _('una persona que ya no está en la empresa')
THE_PORTAL = _('El portal')

_INVITE_NOTE = re.compile(r'^(?P<email>\S+) accounts=(?P<accounts>.*)$')


class Markup(str):
    """Text that is already HTML (Chameleon inserts it as it is)."""

    def __html__(self):
        return self


class Link:
    """A part of a sentence that links to ``url``."""

    def __init__(self, url, text):
        self.url, self.text = url, text


class Sentences:
    """Turns one company's audit entries into sentences for ``request``'s reader."""

    def __init__(self, request, customer, company_name):
        self.request = request
        self.customer = customer
        self.company = company_name
        self.path = request.resource_path(customer).rstrip('/')
        self.locale = request.locale_name
        self.translate = request.localizer.translate

    # --- the parts ------------------------------------------------------------------

    def words(self, message, **parts):
        """``message`` translated, its parts escaped (a :class:`Link` as a link)."""
        markers = {name: f'\x00{name}\x00' for name in parts}
        text = html.escape(self.translate(TranslationString(message, mapping=markers)))
        for name, value in parts.items():
            if isinstance(value, Link):
                shown = (f'<a href="{html.escape(value.url)}">'
                         f'{html.escape(self.text(value.text))}</a>')
            else:
                shown = html.escape(self.text(value))
            text = text.replace(markers[name], shown)
        return Markup(text)

    def text(self, value):
        return self.translate(value) if hasattr(value, 'interpolate') else str(value)

    def who(self, actor):
        """Who acted, as the company knows them."""
        kind, _sep, rest = actor.partition(':')
        if kind in ('customer', 'customer-user') and rest == self.customer.rfc:
            return self.customer.display_name
        if kind == 'company-user':
            user = self.user(rest.rsplit(':', 1)[-1])
            return user.name if user is not None else SOMEONE_GONE
        if kind == 'bank':
            return gw.bank_label(rest)
        if kind == 'system':
            return THE_PORTAL
        return self.company          # staff and the console act as the company, unnamed

    def user(self, user_id):
        users = self.customer.users
        return users.get(user_id) if users is not None else None

    def person(self, user_id):
        user = self.user(user_id)
        if user is None:
            return SOMEONE_GONE
        return Link(self.request.resource_url(self.customer, 'usuarios',
                                              anchor=f'user-{user_id}'), user.name)

    def payment(self, reference):
        payment = self.customer.payments.get(reference)
        if payment is None or not self.request.has_permission('view', payment):
            return reference
        return Link(self.request.resource_url(payment), reference)

    def invoice(self, key):
        invoice = self.customer.invoices.get(key)
        if invoice is None or not self.request.has_permission('view', invoice):
            return key
        return Link(self.request.resource_url(invoice), key)

    def accounts(self, text):
        return ALL_ACCOUNTS if text in ('', 'all') else text.replace(',', ', ')

    def role(self, role):
        return ROLE_LABELS.get(role, role)

    def amount(self, text):
        try:
            return money(Decimal(text), 'MXN', self.locale)
        except (InvalidOperation, TypeError):
            return text

    # --- one entry ------------------------------------------------------------------

    def describe(self, entry):
        """The sentence of one audit entry of this company."""
        relative = entry.target[len(self.path):].strip('/').split('/')
        kind, name = (relative + [''])[:2]
        who = self.who(entry.actor)
        if entry.action == 'payment.transition' and kind == 'payments':
            return self.transition(entry, who, name)
        if entry.action == 'company.invite':
            match = _INVITE_NOTE.match(entry.note)
            email, accounts = (match.group('email'), match.group('accounts')) if match else ('', '')
            return self.words(S['company.invite'], who=who, person=self.person(name), email=email,
                              role=self.role(entry.after), accounts=self.accounts(accounts))
        if entry.action == 'company.role':
            before, after = (entry.before + ' ').split(' ', 1), (entry.after + ' ').split(' ', 1)
            return self.words(S['company.role'], who=who, person=self.person(name),
                              role_before=self.role(before[0]),
                              accounts_before=self.accounts(before[1].strip()),
                              role=self.role(after[0]), accounts=self.accounts(after[1].strip()))
        if entry.action == 'company.approval':
            policy, _sep, threshold = entry.after.partition(' ')
            rule = RULES.get(policy, policy)
            if policy == APPROVAL_ABOVE:
                rule = TranslationString(rule, mapping={'amount': self.amount(threshold)})
            return self.words(S['company.approval'], who=who, rule=rule)
        message = S.get(entry.action)
        if message is None:
            return self.words(S['other'], who=who, thing=self.thing(kind, name))
        return self.words(message, who=who, company=self.company, person=self.person(name),
                          payment=self.payment(name), invoice=self.invoice(name),
                          statement=name, bank=self.bank_of(name))

    def thing(self, kind, name):
        if kind == 'payments':
            return self.words(_('el pago ${payment}'), payment=self.payment(name))
        if kind == 'invoices':
            return self.words(_('la factura ${invoice}'), invoice=self.invoice(name))
        if kind == 'users':
            return self.person(name)
        return _('la cuenta de la empresa')

    def bank_of(self, reference):
        payment = self.customer.payments.get(reference)
        return gw.bank_label(payment.bank) if payment is not None else ''

    def transition(self, entry, who, reference):
        """A payment's move from one state to another, as what happened to it."""
        payment = self.customer.payments.get(reference)
        bank = payment.bank if payment is not None else ''
        parts = {'who': who, 'payment': self.payment(reference), 'company': self.company,
                 'bank': gw.bank_label(bank) if bank else ''}
        before, after, note = entry.before, entry.after, entry.note
        by_bank = entry.actor.startswith('bank:')
        if not before and after in (PENDING, REQUESTED):
            created = _CREATED_NOTE.match(note)
            amount = (self.amount(created.group('amount')) if created
                      else money(payment.total_mxn, 'MXN', self.locale) if payment else '')
            return self.words(PREPARED if after == PENDING else REQUESTED_BY,
                              amount=amount, **parts)
        if before == REQUESTED:
            if after == PENDING:
                return self.words(APPROVED_REQUEST, **parts)
            if after == CANCELLED:
                comment = payment.rejection_comment if payment is not None else ''
                if not comment:
                    match = _REJECTED_NOTE.match(note)
                    comment = match.group('comment') if match else ''
                return self.words(REJECTED, comment=comment, **parts)
            if after == EXPIRED:
                return self.words(REQUEST_EXPIRED, **parts)
        if after == APPROVED and before == PENDING:
            return self.words(TRANSFER_ARRIVED if bank == 'spei' else BANK_APPROVED, **parts)
        if after == DECLINED and before == PENDING:
            reason, _code = gw.decline_reason(bank, payment.bank_data if payment else None)
            return self.words(BANK_DECLINED, reason=EXPLANATIONS[reason][0], **parts)
        if after == CANCELLED and before == PENDING:
            if by_bank:
                return self.words(CANCELLED_AT_BANK, **parts)
            if note.endswith('cancelled by the customer'):
                return self.words(CANCELLED_BY, **parts)
            return self.words(CANCELLED_UNSTARTED, **parts)
        if after == EXPIRED:
            return self.words(EXPIRED_TRANSFER if bank == 'spei' else EXPIRED_AT_BANK, **parts)
        if after == APPLIED:
            return self.words(APPLIED_BY, **parts)
        if after == REVIEW:
            return self.words(TO_REVIEW, **parts)
        state = STATE_LABELS.get(after, after)
        if before == REVIEW:
            return self.words(RESOLVED, state=state, **parts)
        return self.words(MOVED, state=state, **parts)
