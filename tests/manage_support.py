"""What the staff-page tests do and read: a signed-in staff client, links, facts, flashes."""
from urllib.parse import urlsplit

from portal_support import GOOD_PASSWORD, Client, add_staff_user, with_root

HOST = {'HTTP_HOST': 'portal.example.mx'}


def staff_browser(app, username=None, password=GOOD_PASSWORD):
    """A browser showing Spanish pages, signed in as the staff user ``username`` if given."""
    client = Client(app, extra_environ=dict(HOST))
    client.set_cookie('lang', 'es')
    if username:
        assert client.login(username, password).status_int == 303
    return client


def staff_client(app, username='alice', role='admin'):
    """A new staff user ``username`` with ``role``, signed in."""
    add_staff_user(app, username, role=role)
    return staff_browser(app, username)


def path_of(url):
    parts = urlsplit(url)
    return parts.path + ('?' + parts.query if parts.query else '')


def links(page, text=None):
    """The links of the page's main part as ``[(text, href)]`` (only those showing ``text``)."""
    found = [(a.get_text(' ', strip=True), a['href'])
             for a in page.html.find('main').find_all('a', href=True)]
    return [item for item in found if text is None or item[0] == text]


def follow(client, page, text, within=None):
    """Click the link showing ``text`` (inside the element ``within`` selects, if given)."""
    scope = page.html.select_one(within) if within else page.html.find('main')
    anchors = [a for a in scope.find_all('a', href=True) if a.get_text(' ', strip=True) == text]
    assert anchors, f'no link {text!r} in {[a.get_text(strip=True) for a in scope.find_all("a")]}'
    return client.get(path_of(anchors[0]['href']))


def facts(page):
    """The page's first property list as {label: value}."""
    dl = page.html.find('dl', class_='props')
    return {dt.get_text(strip=True): dt.find_next_sibling('dd').get_text(' ', strip=True)
            for dt in dl.find_all('dt')}


def table_rows(page, selector='table.children'):
    table = page.html.select_one(selector)
    if table is None:
        return []
    return [[cell.get_text(' ', strip=True) for cell in tr.find_all('td')]
            for tr in table.find('tbody').find_all('tr')]


def flash_text(page):
    box = page.html.find('div', class_='flash')
    return box.get_text(' ', strip=True) if box else ''


def audit_entries(app, action=None):
    """The audit log's entries (of ``action``), newest first, as
    ``(actor, action, target, before, after, note)``."""
    return with_root(app, lambda root: [
        (e.actor, e.action, e.target, e.before, e.after, e.note)
        for e in root.audit_log.search(action=action)])
