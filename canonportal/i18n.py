"""Language: Spanish (es-MX) by default, English on request, remembered in a cookie."""
from pyramid.i18n import TranslationStringFactory

_ = TranslationStringFactory('canonportal')

LANGUAGES = ('es', 'en')
LANGUAGE_COOKIE = 'lang'


def locale_negotiator(request):
    choice = request.cookies.get(LANGUAGE_COOKIE)
    if choice in LANGUAGES:
        return choice
    return request.registry.settings.get('pyramid.default_locale_name', 'es')


def includeme(config):
    config.add_translation_dirs('canonportal:locale/')
    config.set_locale_negotiator(locale_negotiator)
