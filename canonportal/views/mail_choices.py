"""Which of the portal's own mails a person receives (due-date reminders, the monthly
statement) and in which language: each person's page "Mis correos", and the company's
default that its administrators choose on USUARIOS (a person who never chose follows it).
The unsubscribe link of those mails is :mod:`.unsubscribe`.
"""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..i18n import _
from ..resources import Customer
from ..resources.notices import KINDS, MAIL_LANGUAGES, REMINDERS, STATEMENTS, choose, wants
from .customer import page

VIEW_NAME = 'correos'
COMPANY_VIEW = 'correos-empresa'
TEMPLATE = 'canonportal:templates/mail_choices.pt'

#: What each kind of mail is called on the pages.
KIND_LABELS = {
    REMINDERS: _('Recordatorios de vencimiento de facturas'),
    STATEMENTS: _('Estado de cuenta mensual (PDF)'),
}
LANGUAGE_LABELS = {'es': _('Español'), 'en': _('Inglés')}
#: A person's choice as the form says it.
FOLLOW, YES, NO = 'empresa', 'si', 'no'
CHOICE_VALUES = {YES: True, NO: False, FOLLOW: None}


def person_of(request):
    return request.identity.user


def choices_values(context, request):
    person = person_of(request)
    own = person.mail_choices or {}
    rows = [{'kind': kind, 'label': KIND_LABELS[kind],
             'choice': FOLLOW if own.get(kind) is None else YES if own[kind] else NO,
             'company': (context.mail_defaults or {}).get(kind, True),
             'receives': wants(person, kind, context)} for kind in KINDS]
    return page(context, request, VIEW_NAME, _('Mis correos'), rows=rows,
                language=person.language or request.locale_name, languages=MAIL_LANGUAGES,
                language_labels=LANGUAGE_LABELS, address=getattr(person, 'email', None))


@view_config(context=Customer, name=VIEW_NAME, permission='view', request_method='GET',
             renderer=TEMPLATE)
def choices_page(context, request):
    return choices_values(context, request)


@view_config(context=Customer, name=VIEW_NAME, permission='view', request_method='POST',
             renderer=TEMPLATE)
def save_choices(context, request):
    """The signed-in person's own choices; anything but the offered values is a 400."""
    person = person_of(request)
    wanted = {kind: request.POST.get(kind, '') for kind in KINDS}
    language = request.POST.get('idioma', '')
    if any(value not in CHOICE_VALUES for value in wanted.values()) or \
            language not in MAIL_LANGUAGES:
        request.response.status = 400
        values = choices_values(context, request)
        values['error'] = _('Elija una opción de la lista.')
        return values
    for kind, value in wanted.items():
        if (person.mail_choices or {}).get(kind) != CHOICE_VALUES[value]:
            choose(person, kind, CHOICE_VALUES[value])
    if person.language != language:
        person.language = language
    request.session.flash(request.localizer.translate(_('Se guardaron sus preferencias de correo.')))
    return HTTPSeeOther(request.resource_url(context, VIEW_NAME))


@view_config(context=Customer, name=COMPANY_VIEW, permission='manage-company',
             request_method='POST')
def save_company_defaults(context, request):
    """The company's default for each kind (its administrators; USUARIOS): a box per kind,
    ticked means yes."""
    defaults = {kind: request.POST.get(kind) == YES for kind in KINDS}
    if defaults != {kind: (context.mail_defaults or {}).get(kind, True) for kind in KINDS}:
        context.mail_defaults = defaults
    request.session.flash(request.localizer.translate(
        _('Se guardó lo que reciben por omisión las personas de la empresa.')))
    return HTTPSeeOther(request.resource_url(context, 'usuarios'))
