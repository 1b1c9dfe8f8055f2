"""Sign-in as the manual describes it, made safe: first login, activation, lockout, recovery."""
from conftest import CANON, GOOD_PASSWORD, IXTAPA, last_form, link_in


def test_login_page_has_the_manual_labels(client):
    page = client.get('/')
    text = page.text
    for label in ('Usuario:', 'Contraseña:', 'Iniciar sesión', 'Recuperar contraseña',
                  'itportalsupport@cusa.canon.com', 'Canon Mexicana ©'):
        assert label in text


def test_first_login_with_rfc_leads_only_to_activation(client):
    response = client.login(CANON.lower(), CANON)
    assert response.status_int == 303
    assert response.location.endswith('/activar')
    # Every other page sends the customer back to the activation step.
    page = client.get(f'/customers/{CANON}/saldos')
    assert page.status_int == 302 and page.location.endswith('/activar')


def test_activation_mails_a_confirmation_link_that_confirms_the_email(client, mailer, app):
    client.login(CANON, CANON)
    response = client.activate(email='CxP@Example.mx')
    assert response.location.endswith(f'/customers/{CANON}/estados-de-cuenta')
    assert len(mailer.outbox) == 1
    message = mailer.outbox[0]
    assert message.recipients == ['cxp@example.mx']
    link = link_in(message, '/confirmar-correo')
    assert link.startswith('https://portal.example.mx/')
    page = client.get(link.replace('https://portal.example.mx', ''))
    assert 'cxp@example.mx' in page.text
    done = last_form(page).submit()
    assert 'quedó confirmado' in done.text
    # The link works once.
    again = client.get(link.replace('https://portal.example.mx', ''), status=400)
    assert 'no es válido' in again.text


def test_activation_refuses_weak_passwords_and_changes_nothing(client):
    client.login(CANON, CANON)
    for weak, reason in ((CANON.lower() + 'abc', 'RFC'), ('corta', '12 caracteres'),
                         ('passwordpassword', 'común')):
        page = client.get('/activar')
        form = last_form(page)
        form['email'] = 'a@example.mx'
        form['password'] = weak
        form['password_confirmation'] = weak
        result = form.submit(status=400)
        assert reason in result.text
    assert client.get('/activar').status_int == 200


def test_after_activation_the_rfc_no_longer_works(client, other_client):
    client.sign_in_active()
    assert other_client.login(CANON, CANON, status=400).status_int == 400
    response = other_client.login(CANON, GOOD_PASSWORD)
    assert response.status_int == 303
    page = other_client.get(response.location)
    assert 'ESTADOS DE CUENTA' in page.text and 'HISTORIAL DE PAGOS' in page.text
    assert 'Canon Mexicana SA de CV' in page.text and CANON in page.text


def test_six_wrong_passwords_lock_even_the_right_one_until_it_expires(client, frozen_clock):
    client.sign_in_active()
    client.post_form('/logout', {})
    for _ in range(6):
        client.login(CANON, 'not the password at all')
    locked = client.login(CANON, GOOD_PASSWORD, status=403)
    assert 'bloqueada' in locked.text
    frozen_clock.advance(minutes=16)
    assert client.login(CANON, GOOD_PASSWORD).status_int == 303


def test_recovery_link_works_once_and_same_answer_for_unknown_rfc(client, mailer, app):
    client.sign_in_active(email='tesoreria@example.mx')
    confirm = link_in(mailer.outbox[-1], '/confirmar-correo').replace('https://portal.example.mx', '')
    last_form(client.get(confirm)).submit()
    client.post_form('/logout', {})
    mailer.outbox.clear()
    known = client.post_form('/recuperar-contrasena', {'login': CANON})
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
    assert client.get(path, status=400)
    assert client.login(CANON, 'otra frase larga y segura').status_int == 303


def test_second_customer_cannot_open_the_first_customers_pages(client):
    client.sign_in_active(rfc=IXTAPA)
    for view in ('estados-de-cuenta', 'facturas', 'saldos', 'historial-de-pagos', ''):
        client.get(f'/customers/{CANON}/{view}', status=403)
    client.get(f'/customers/{CANON}/invoices/6212976', status=[403, 404])
