"""Language: Spanish (es-MX) by default, English on request, remembered in a cookie."""
import os

from pyramid import i18n
from pyramid.events import ApplicationCreated
from pyramid.interfaces import ILocalizer, ITranslationDirectories

_ = i18n.TranslationStringFactory('canonportal')

LANGUAGES = ('es', 'en')


def spanish(message):
    """A translation string read in its source language (Spanish), placeholders filled: the
    ``translate`` of text made without a request (console scripts)."""
    interpolate = getattr(message, 'interpolate', None)
    return interpolate() if interpolate is not None else str(message)


_LOCALIZERS = {}


def localizer_for(language):
    """The portal's localizer for ``language`` without a request: the mails a console script
    writes in each person's language (``canonportal.notify``)."""
    found = _LOCALIZERS.get(language)
    if found is None:
        directory = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'locale')
        found = _LOCALIZERS[language] = i18n.make_localizer(language, [directory])
    return found


class Plural:
    """A message with a singular and a plural form, chosen by a count through the
    catalog's plural rule ("1 factura", "3 facturas"). ``${count}`` stands for the count."""

    def __init__(self, singular, plural):
        self.singular = singular
        self.plural = plural

    def format(self, request, number, shown=None, **mapping):
        """The form for ``number`` in the request's language, ``${count}`` filled in
        with ``shown`` (default: the number itself) and the other placeholders from ``mapping``."""
        mapping['count'] = number if shown is None else shown
        return request.localizer.pluralize(
            self.singular, self.plural, number, domain='canonportal', mapping=mapping)


def ngettext(singular, plural):
    """Mark a plural message for the catalog (lingua extracts ``ngettext`` calls)."""
    return Plural(singular, plural)
LANGUAGE_COOKIE = 'lang'


def locale_negotiator(request):
    choice = request.cookies.get(LANGUAGE_COOKIE)
    if choice in LANGUAGES:
        return choice
    return request.registry.settings.get('pyramid.default_locale_name', 'es')


class Localizer(i18n.Localizer):
    """Pyramid's localizer, remembering the messages it translated without values.

    Every page translates the same few dozen labels (menus, headings, column
    names); a message with a mapping is translated each time, as its values change.
    """

    #: More distinct messages than the catalog could hold means text built at run
    #: time is being translated: those are not kept.
    MAX_REMEMBERED = 5000

    def __init__(self, locale_name, translations):
        super().__init__(locale_name, translations)
        self._remembered = {}

    def translate(self, tstring, domain=None, mapping=None):
        if mapping or getattr(tstring, 'mapping', None):
            return super().translate(tstring, domain, mapping)
        key = (str(tstring), domain, getattr(tstring, 'domain', None),
               getattr(tstring, 'default', None), getattr(tstring, 'context', None))
        text = self._remembered.get(key)
        if text is None:
            text = super().translate(tstring, domain, mapping)
            if len(self._remembered) < self.MAX_REMEMBERED:
                self._remembered[key] = text
        return text


def register_localizers(event):
    """One remembering localizer per language, where Pyramid looks for it."""
    registry = event.app.registry
    directories = registry.queryUtility(ITranslationDirectories, default=[])
    names = set(LANGUAGES) | {registry.settings.get('pyramid.default_locale_name', 'es')}
    for name in names:
        translations = i18n.make_localizer(name, directories).translations
        registry.registerUtility(Localizer(name, translations), ILocalizer, name=name)


def includeme(config):
    config.add_translation_dirs('canonportal:locale/')
    config.set_locale_negotiator(locale_negotiator)
    config.add_subscriber(register_localizers, ApplicationCreated)
