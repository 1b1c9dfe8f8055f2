"""Sign-in as the manual describes it, made safe: first login, activation, lockout, recovery."""
from canonportal.accountmail import PER_ACCOUNT, PER_ADDRESS
from portal_support import (
    CANON, GOOD_PASSWORD, IXTAPA, Client, last_form, link_in, login_record, nothing_changes,
    signed_in_home, throttle, with_root)


def test_login_page_has_the_manual_labels(client):
    page = client.get('/')
    text = page.text
    for label in ('Usuario:', 'Contraseña:', 'Iniciar sesión', 'Recuperar contraseña',
                  'itportalsupport@cusa.canon.com', 'Canon Mexicana ©'):
        assert label in text


def test_first_login_with_rfc_only_mails_a_link_to_the_erps_address(client, mailer):
    """The RFC is printed on every invoice: it proves nothing (issue 11)."""
    response = client.login(CANON.lower(), CANON)
    assert response.status_int == 200
    assert 'c***@example.com' in response.text and 'cuentasporpagar' not in response.text
    assert [m.recipients for m in mailer.outbox] == [['cuentasporpagar@example.com']]
    link = link_in(mailer.outbox[0], '/activar')
    assert link.startswith('https://portal.example.mx/activar/')
    # Nothing of the customer before the link: no session, every page sends to sign in.
    page = client.get(f'/customers/{CANON}/saldos')
    assert page.status_int == 302 and page.location.endswith('portal.example.mx/')


def test_the_mailed_link_leads_to_the_password_and_confirms_the_address(client, mailer, app):
    client.login(CANON, CANON)
    path = client.activation_link()
    page = client.get(path)
    assert page.headers['Referrer-Policy'] == 'no-referrer'
    assert 'Canon Mexicana SA de CV' in page.text and 'c***@example.com' in page.text
    response = client.activate()
    assert response.location.endswith(f'/customers/{CANON}/estados-de-cuenta')
    assert with_root(app, lambda root: root.customers[CANON].email) == 'cuentasporpagar@example.com'
    # The link works once.
    with nothing_changes(app):
        assert 'no es válido' in client.get(path, status=400).text
        client.post(path, {'password': 'otra frase larga y segura', 'csrf_token': client.csrf(),
                           'password_confirmation': 'otra frase larga y segura'}, status=400)


def test_a_customer_without_an_erp_email_is_told_to_write_to_support(client, mailer, app):
    with_root(app, lambda root: setattr(root.customers[IXTAPA], 'contact_email', None))
    with nothing_changes(app):
        response = client.login(IXTAPA, IXTAPA)
    assert 'itportalsupport@cusa.canon.com' in response.text
    assert 'no tiene un correo registrado' in response.text
    assert signed_in_home(client) is None


def test_made_up_and_expired_links_show_nothing(app, client, frozen_clock, mailer):
    with nothing_changes(app):
        assert 'no es válido' in client.get('/activar/not-a-token', status=400).text
        assert 'no es válido' in client.get('/activar', status=400).text
    client.login(CANON, CANON)
    path = client.activation_link()
    frozen_clock.advance(minutes=61)
    with nothing_changes(app):
        expired = client.get(path, status=400)
        client.post(path, {'password': GOOD_PASSWORD, 'password_confirmation': GOOD_PASSWORD,
                           'csrf_token': client.csrf()}, status=400)
    assert 'no es válido' in expired.text and 'Canon Mexicana SA de CV' not in expired.text


def test_activation_refuses_weak_passwords_and_changes_nothing(app, client, mailer):
    client.login(CANON, CANON)
    path = client.activation_link()
    for weak, reason in ((CANON.lower() + 'abc', 'RFC'), ('corta', '12 caracteres'),
                         ('passwordpassword', 'común')):
        form = last_form(client.get(path))
        form['password'] = weak
        form['password_confirmation'] = weak
        with nothing_changes(app):
            result = form.submit(status=400)
        assert reason in result.text
    assert client.get(path).status_int == 200


def test_activation_mails_are_throttled_per_account_and_per_address(app, mailer, frozen_clock):
    for _ in range(5):
        Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'}).login(CANON, CANON)
    assert len(mailer.outbox) == PER_ACCOUNT
    with nothing_changes(app):
        later = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'}).login(CANON, CANON)
    assert 'en la última hora' in later.text
    frozen_clock.advance(minutes=61)
    Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx'}).login(CANON, CANON)
    assert len(mailer.outbox) == PER_ACCOUNT + 1
    # One address asking for many accounts (and for unknown ones) is stopped too.
    mailer.outbox.clear()
    from_one_place = Client(app, extra_environ={'HTTP_HOST': 'portal.example.mx',
                                                'REMOTE_ADDR': '203.0.113.9'})
    for n in range(PER_ADDRESS + 5):
        from_one_place.post_form('/recuperar-contrasena', {'login': f'XAXX0101010{n:02d}'})
    with nothing_changes(app):
        from_one_place.login(IXTAPA, IXTAPA)
    assert mailer.outbox == []


def test_unknown_names_lock_like_real_accounts(app, client):
    """The lock message must not tell which RFCs exist."""
    for login in ('XAXX010101000', CANON):
        # The failures are counted (an unknown name's in the throttle), nothing else...
        with nothing_changes(app, but=(throttle, login_record(CANON))):
            answers = [client.login(login, 'no es la contraseña', status='*') for _ in range(5)]
        # ...and once locked, not even that.
        with nothing_changes(app):
            answers.append(client.login(login, 'no es la contraseña', status='*'))
        assert [a.status_int for a in answers] == [400] * 4 + [403] * 2
        assert 'bloqueada' in answers[-1].text


def test_after_activation_the_rfc_no_longer_works(app, client, other_client):
    client.sign_in_active()
    with nothing_changes(app, but=login_record(CANON)):     # a failed sign-in, no mail
        assert other_client.login(CANON, CANON, status=400).status_int == 400
    response = other_client.login(CANON, GOOD_PASSWORD)
    assert response.status_int == 303
    page = other_client.get(response.location)
    assert 'ESTADOS DE CUENTA' in page.text and 'HISTORIAL DE PAGOS' in page.text
    assert 'Canon Mexicana SA de CV' in page.text and CANON in page.text


def test_six_wrong_passwords_lock_even_the_right_one_until_it_expires(app, client, frozen_clock):
    client.sign_in_active()
    client.post_form('/logout', {})
    for _ in range(6):
        client.login(CANON, 'not the password at all')
    with nothing_changes(app):
        locked = client.login(CANON, GOOD_PASSWORD, status=403)
    assert 'bloqueada' in locked.text
    frozen_clock.advance(minutes=16)
    assert client.login(CANON, GOOD_PASSWORD).status_int == 303


def test_recovery_link_works_once_and_same_answer_for_unknown_rfc(client, mailer, app):
    client.sign_in_active(email='tesoreria@example.mx')
    client.post_form('/logout', {})
    mailer.outbox.clear()
    known = client.post_form('/recuperar-contrasena', {'login': CANON})
    with nothing_changes(app, but=throttle):       # counted for the address, nothing else
        unknown = client.post_form('/recuperar-contrasena', {'login': 'XAXX010101000'})
    assert known.status_int == unknown.status_int == 200
    assert known.html.find('main').text == unknown.html.find('main').text
    assert len(mailer.outbox) == 1 and mailer.outbox[0].recipients == ['tesoreria@example.mx']
    link = link_in(mailer.outbox[-1], '/restablecer')
    assert link.startswith('https://portal.example.mx/restablecer')
    path = link.replace('https://portal.example.mx', '')
    page = client.get(path)
    assert page.headers['Referrer-Policy'] == 'no-referrer'
    form = last_form(page)
    form['password'] = 'otra frase larga y segura'
    form['password_confirmation'] = 'otra frase larga y segura'
    assert 'contraseña cambió' in form.submit().text
    with nothing_changes(app):
        assert client.get(path, status=400)
        client.post(path, {'password': GOOD_PASSWORD, 'password_confirmation': GOOD_PASSWORD,
                           'csrf_token': client.csrf()}, status=400)
    assert client.login(CANON, 'otra frase larga y segura').status_int == 303


def test_second_customer_cannot_open_the_first_customers_pages(app, client):
    client.sign_in_active(rfc=IXTAPA)
    with nothing_changes(app):
        for view in ('estados-de-cuenta', 'facturas', 'saldos', 'historial-de-pagos', ''):
            client.get(f'/customers/{CANON}/{view}', status=403)
        client.get(f'/customers/{CANON}/invoices/6212976', status=[403, 404])


def test_past_the_sign_in_queue_a_friendly_503_with_retry_after(client, app, monkeypatch):
    """A storm of sign-ins must not hold every waitress thread (issue 11): past the bounded
    queue of argon2 work a sign-in is answered at once, and nothing is counted."""
    from canonportal import passwords
    full = passwords.SignInGate(places=1, queue=0, wait=60)
    monkeypatch.setattr(passwords, '_gate', full)
    full.enter()                                  # hashing; nobody may wait behind it
    try:
        with nothing_changes(app):
            answer = client.login(CANON, 'no es la contraseña', status=503)
    finally:
        full.leave()
    assert answer.headers['Retry-After'] == '5'
    assert 'intente de nuevo en unos segundos' in answer.text
    assert with_root(app, lambda root: (root.customers[CANON].failed_logins, len(root.audit_log))) == ((), 0)
    assert client.login(CANON, CANON).status_int == 200     # the queue is free again


def test_a_sign_in_that_waited_too_long_in_the_lane_is_answered_at_once(client, app, frozen_clock):
    """nginx says when it handed the sign-in over (X-Request-Start); one that then waited in
    the sign-in lane's queue longer than a sign-in may wait gets "try again" before any work."""
    def press(started):
        page = client.get('/')
        form = page.forms[len(page.forms) - 1]
        form['login'], form['password'] = 'CME930812PW3', 'no es la contraseña'
        return form.submit(headers={'X-Request-Start': started}, status='*')

    def failures(root):
        return len(root.customers['CME930812PW3'].failed_logins)
    now = frozen_clock.now.timestamp()
    late = press(f't={now - 6:.3f}')
    assert late.status_int == 503 and late.headers['Retry-After'] == '5'
    assert 'intente de nuevo en unos segundos' in late.text
    assert with_root(app, failures) == 0 and with_root(app, lambda root: len(root.audit_log)) == 0
    for in_time in (f't={now - 1:.3f}', 't=no es hora', 't=nan', f't={now + 7200}'):
        assert press(in_time).status_int == 400            # checked, and counted
    assert with_root(app, failures) == 4


def test_conflicts_past_the_retries_answer_503_not_500(app, client, monkeypatch):
    """Many sign-ins at once on one account or index: a write that keeps colliding."""
    from ZODB.POSException import ConflictError

    from canonportal import signin

    def always_conflicting(*args):
        raise ConflictError('forced')
    monkeypatch.setattr(signin, 'authenticate', always_conflicting)
    with nothing_changes(app):
        answer = client.login(CANON, 'no es la contraseña', status=503)
    assert answer.headers['Retry-After'] == '2'
    assert 'intente de nuevo en unos segundos' in answer.text


def test_reloading_the_login_address_leads_back_to_the_form(client):
    # A failed sign-in leaves /login in the address bar; a reload or bookmark of it
    # must land on the form, not on "Página no encontrada".
    response = client.get('/login', status=302)
    assert response.location.endswith('.example.mx/')
    assert 'Usuario' in response.follow().text


def test_a_link_opened_after_the_idle_timeout_ends_on_its_page_after_signing_in(client, frozen_clock):
    client.sign_in_active()
    receipt = f'/customers/{CANON}/payments/228/@@recibo'
    assert client.get(receipt).status_int == 200
    frozen_clock.advance(minutes=31)                       # the session has expired
    assert client.get(receipt, status=302).location.endswith('/')
    landed = client.login(CANON, GOOD_PASSWORD, status=303)
    assert landed.location == f'http://portal.example.mx{receipt}'
    assert 'Recibo de pago' in landed.follow().text
    # Kept once: after the next expiry, signing in goes home.
    frozen_clock.advance(minutes=31)
    again = client.login(CANON, GOOD_PASSWORD, status=303)
    assert again.location.endswith(f'/customers/{CANON}/estados-de-cuenta')


def test_a_page_of_another_customer_is_never_where_a_sign_in_lands(client, other_client):
    other_client.sign_in_active()                              # Canon's account is active
    client.get(f'/customers/{IXTAPA}/saldos', status=302)      # asked signed out
    landed = client.login(CANON, GOOD_PASSWORD, status=303)
    assert landed.location.endswith(f'/customers/{CANON}/estados-de-cuenta')


def test_the_kept_path_comes_from_the_request_never_from_a_parameter(client, other_client):
    other_client.sign_in_active()
    client.get('/?came_from=https://evil.example/')
    landed = client.login(CANON, GOOD_PASSWORD, status=303)
    assert landed.location.endswith(f'/customers/{CANON}/estados-de-cuenta')


def test_a_colleague_of_a_disabled_company_neither_signs_in_nor_recovers_nor_resets(
        client, mailer, app):
    """One predicate (``shut_out``) for sign-in, the recovery mail and the mailed links: a
    company's person is out while the company is disabled, back when it is enabled."""
    from canonportal.bootstrap import DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD
    client.post_form('/recuperar-contrasena', {'login': DEMO_CAPTURA_EMAIL})
    [mailed] = mailer.outbox
    path = link_in(mailed, '/restablecer').replace('https://portal.example.mx', '')
    mailer.outbox.clear()

    def disabled(flag):
        def work(root):
            root.customers[CANON].disabled = flag
            user = root.customers.find_user_by_email(DEMO_CAPTURA_EMAIL)
            return user.password_hash, user.session_generation, user.failed_logins
        return with_root(app, work)
    before = disabled(True)
    token = client.csrf()
    with nothing_changes(app):
        assert 'deshabilitada' in client.login(DEMO_CAPTURA_EMAIL, DEMO_CAPTURA_PASSWORD,
                                              status=403).text
        assert signed_in_home(client) is None
        assert 'no es válido' in client.get(path, status=400).text
        client.post(path, {'csrf_token': token, 'password': 'una frase nueva y larga',
                           'password_confirmation': 'una frase nueva y larga'}, status=400)
    with nothing_changes(app, but=throttle):       # counted for the address, nothing else
        client.post('/recuperar-contrasena', {'login': DEMO_CAPTURA_EMAIL, 'csrf_token': token})
    assert disabled(False) == before
    form = last_form(client.get(path))
    form['password'] = form['password_confirmation'] = 'una frase nueva y larga'
    assert 'contraseña cambió' in form.submit().text
    assert client.login(DEMO_CAPTURA_EMAIL, 'una frase nueva y larga').status_int == 303
    assert signed_in_home(client).endswith(f'/customers/{CANON}/estados-de-cuenta')
