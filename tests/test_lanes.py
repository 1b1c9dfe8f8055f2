"""canonportal.lanes: sign-ins in a lane of threads of their own, so that pages never wait
behind them (issue 20), and deploy/'s nginx sending /login to that lane."""
import configparser
import re
import threading
from pathlib import Path

import httpx
import lxml.html
import pytest
from waitress import wasyncore

from canonportal import lanes, passwords

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def served(app):
    """The demo portal behind two waitresses of two threads each: pages, and the sign-in lane."""
    pages, lane = lanes.servers(app, listen='127.0.0.1:0', threads='2',
                                signin_listen='127.0.0.1:0', signin_threads='2')
    for server in (pages, lane):
        threading.Thread(target=server.run, daemon=True).start()
    yield (f'http://127.0.0.1:{pages.effective_port}', f'http://127.0.0.1:{lane.effective_port}')
    for server in (pages, lane):
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server._map)


@pytest.fixture
def held_gate(monkeypatch):
    """One sign-in hashing and never done until the test says so; the others wait their turn."""
    gate = passwords.SignInGate(places=1, queue=10, wait=60)
    monkeypatch.setattr(passwords, '_gate', gate)
    gate.enter()
    yield gate
    if gate.inside:
        gate.leave()


def test_pages_are_answered_while_every_sign_in_thread_waits(served, held_gate):
    pages, lane = served
    answers = []

    def sign_in(n):
        with httpx.Client(timeout=60) as browser:
            form = browser.get(pages + '/')
            token = lxml.html.fromstring(form.text).xpath('//input[@name="csrf_token"]/@value')[0]
            answers.append(browser.post(lane + '/login', data={
                'login': f'XAXX01010100{n}', 'password': 'no es', 'csrf_token': token}).status_code)
    browsers = [threading.Thread(target=sign_in, args=(n,)) for n in range(4)]
    for browser in browsers:
        browser.start()
    with held_gate.changed:        # both lane threads hold a sign-in; two more wait in its queue
        assert held_gate.changed.wait_for(lambda: held_gate.waiting == 2, timeout=30)
    page = httpx.get(pages + '/', timeout=30)
    assert page.status_code == 200 and 'Iniciar sesión' in page.text
    assert answers == []           # not one sign-in was answered meanwhile
    held_gate.leave()
    for browser in browsers:
        browser.join(60)
    assert answers == [400, 400, 400, 400]      # all waited their turn; none refused


def test_without_a_lane_it_is_plain_waitress(app):
    pages, lane = lanes.servers(app, listen='127.0.0.1:0', threads='2')
    try:
        assert lane is None and pages.adj.threads == 2
    finally:
        pages.task_dispatcher.shutdown()
        wasyncore.close_all(pages._map)


@pytest.mark.parametrize('threads', ['0', '1000', 'cuatro'])
def test_a_lane_that_could_not_work_is_refused(app, threads):
    with pytest.raises(ValueError):
        lanes.servers(app, listen='127.0.0.1:0', signin_listen='127.0.0.1:0', signin_threads=threads)


def test_production_signs_in_through_the_lane_that_nginx_sends_login_to():
    ini = configparser.RawConfigParser()
    ini.read(ROOT / 'production.ini', encoding='utf-8')
    server = dict(ini.items('server:main'))
    assert server['use'] == 'egg:canonportal#lanes'
    site = (ROOT / 'deploy/nginx/canonportal.conf').read_text(encoding='utf-8')
    upstreams = dict(re.findall(r'upstream (\w+) \{\s*(?:#[^\n]*\n\s*)*server ([\d.:]+)', site))
    login = re.search(r'location ~ \^/\(@@\)\?login\(/\|\$\) \{(.*?)\}', site, re.S).group(1)
    lane = re.search(r'proxy_pass http://(\w+);', login).group(1)
    assert upstreams[lane] == server['signin_listen']
    assert upstreams['canonportal'] == server['listen']
