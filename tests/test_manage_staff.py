"""Staff accounts managed from /manage/staff: only admins change them, and never into no admin."""
import pytest

from portal_support import (
    GOOD_PASSWORD, IXTAPA, last_form, login_record, nothing_changes, signed_in_home, with_root)
from manage_support import audit_entries, staff_browser

HOST = 'portal.example.mx'
NEW_PASSWORD = 'otra frase larga para el personal'


def staff_state(app, username):
    def read(root):
        user = root.staff.get(username)
        if user is None:
            return None
        return {'role': user.role, 'disabled': user.disabled, 'email': user.email,
                'locked_until': user.locked_until, 'hash': user.password_hash,
                'generation': user.session_generation}
    return with_root(app, read)


def post(client, path, fields, status='*'):
    """POST ``fields`` with the CSRF token of a management page."""
    token = client.get('/manage/staff').html.find('input', {'name': 'csrf_token'})['value']
    return client.post(path, dict(fields, csrf_token=token), status=status)


@pytest.fixture
def admin(staff_app):
    return staff_browser(staff_app, 'alice')


# -- reading -----------------------------------------------------------------------------------

def test_the_list_shows_role_and_state_of_every_account(staff_app, admin, frozen_clock):
    def lock(root):
        for _ in range(5):
            root.staff['oscar'].record_failed_login(frozen_clock.now)
        root.staff['aurora'].disabled = True
    with_root(staff_app, lock)
    page = admin.get('/manage/staff')
    rows = {tr['data-username']: tr for tr in page.html.find('table', id='staff-table').tbody('tr')}
    assert sorted(rows) == ['alice', 'aurora', 'oscar']
    assert [rows[name].find('td', attrs={'data-role': True})['data-role']
            for name in ('alice', 'oscar', 'aurora')] == ['admin', 'operator', 'auditor']
    status = {name: rows[name].find('span', class_='badge')['data-status'] for name in rows}
    assert status == {'alice': 'active', 'oscar': 'locked', 'aurora': 'disabled'}
    assert 'Administrador' in rows['alice'].get_text()
    assert rows['alice'].a['href'] == f'http://{HOST}/manage/staff/alice'


def test_operator_and_auditor_may_read_the_list_but_not_the_admin_forms(staff_app):
    for name in ('oscar', 'aurora'):
        client = staff_browser(staff_app, name)
        page = client.get('/manage/staff')
        assert 'alice' in page.text
        assert '@@nuevo' not in page.text
        user_page = client.get('/manage/staff/alice')
        assert '@@rol' not in user_page.text and '@@contrasena' not in user_page.text
        client.get('/manage/staff/@@nuevo', status=403)


def test_a_customer_gets_nothing_of_the_staff_pages(staff_app):
    customer = staff_browser(staff_app).sign_in_active(rfc=IXTAPA)
    for path in ('/manage/staff', '/manage/staff/alice', '/manage/staff/@@nuevo'):
        assert customer.get(path, status='*').status_int == 403


# -- creating ----------------------------------------------------------------------------------

def new_user(client, **fields):
    form = last_form(client.get('/manage/staff/@@nuevo'))
    values = {'username': 'Bruno', 'role': 'operator', 'email': 'bruno@canon.example',
              'password': NEW_PASSWORD, 'password_confirmation': NEW_PASSWORD}
    values.update(fields)
    for name, value in values.items():
        form[name] = value
    return form.submit(status='*')


def test_an_admin_creates_a_user_who_can_then_sign_in(staff_app, admin):
    response = new_user(admin)
    assert response.status_int == 303
    assert response.location == f'http://{HOST}/manage/staff/bruno'
    page = response.follow()
    assert 'Se creó el usuario bruno (Operador).' in page.text
    state = staff_state(staff_app, 'bruno')
    assert state['role'] == 'operator' and state['email'] == 'bruno@canon.example'
    assert state['hash'].startswith('$argon2id$')

    bruno = staff_browser(staff_app, 'bruno', NEW_PASSWORD)
    assert signed_in_home(bruno) == f'http://{HOST}/manage'
    assert bruno.get('/manage').status_int == 200

    (entry,) = [e for e in audit_entries(staff_app, 'staff.create')]
    assert entry[:3] == ('staff:alice', 'staff.create', '/staff/bruno')
    assert 'role=operator' in entry[4]
    for text in entry:
        assert NEW_PASSWORD not in text and 'argon2' not in text


@pytest.mark.parametrize('fields, field, message', [
    ({'username': 'al'}, 'username', 'El usuario debe tener de 3 a 64'),
    ({'username': 'bad name'}, 'username', 'El usuario debe tener de 3 a 64'),
    ({'username': 'niño'}, 'username', 'El usuario debe tener de 3 a 64'),
    ({'username': 'ALICE'}, 'username', 'Ya existe un usuario con ese nombre.'),
    ({'username': IXTAPA.lower()}, 'username', 'es el RFC de un cliente'),
    ({'email': 'no-es-correo'}, 'email', 'Escriba un correo electrónico válido.'),
    ({'password': 'corta', 'password_confirmation': 'corta'}, 'password', 'al menos 12'),
    ({'password': 'bruno y su frase secreta', 'password_confirmation': 'bruno y su frase secreta'},
     'password', 'no puede contener'),
    ({'password_confirmation': 'otra cosa distinta'}, 'password_confirmation', 'no coinciden'),
])
def test_bad_input_creates_nothing(staff_app, admin, fields, field, message):
    with nothing_changes(staff_app):
        response = new_user(admin, **fields)
    assert response.status_int == 400
    field_id = {'password_confirmation': 'password2'}.get(field, field)
    assert message in response.html.find(id=f'staff-{field_id}-error').get_text()


def test_a_bad_role_creates_nothing(staff_app, admin):
    with nothing_changes(staff_app):
        response = post(admin, '/manage/staff/@@nuevo', {
            'username': 'bruno', 'role': 'root', 'password': NEW_PASSWORD,
            'password_confirmation': NEW_PASSWORD}, status=400)
    assert 'Elija un rol.' in response.text


# -- changing ----------------------------------------------------------------------------------

def test_an_admin_changes_a_role(staff_app, admin):
    oscar = staff_browser(staff_app, 'oscar')
    with nothing_changes(staff_app):
        oscar.get('/manage/staff/@@nuevo', status=403)
    form = last_form(admin.get('/manage/staff/oscar'))
    assert form.action.endswith('/manage/staff/oscar/@@contrasena')
    page = admin.get('/manage/staff/oscar')
    role_form = [f for f in page.forms.values() if f.action.endswith('@@rol')][0]
    role_form['role'] = 'admin'
    response = role_form.submit()
    assert response.status_int == 303
    assert 'Ahora oscar es Administrador.' in response.follow().text
    assert staff_state(staff_app, 'oscar')['role'] == 'admin'
    # Takes effect on oscar's next request, without signing in again.
    assert oscar.get('/manage/staff/@@nuevo').status_int == 200
    assert audit_entries(staff_app, 'staff.role') == [
        ('staff:alice', 'staff.role', '/staff/oscar', 'operator', 'admin', '')]


def test_disabling_ends_the_sessions_and_refuses_sign_in_until_enabled(staff_app, admin):
    oscar = staff_browser(staff_app, 'oscar')
    assert oscar.get('/manage').status_int == 200
    response = post(admin, '/manage/staff/oscar/@@deshabilitar', {})
    assert response.status_int == 303
    assert staff_state(staff_app, 'oscar')['disabled'] is True
    assert oscar.get('/manage', status='*').status_int in (302, 403)
    assert signed_in_home(oscar) is None
    with nothing_changes(staff_app, audited=[('staff.login', 'disabled')]):
        assert staff_browser(staff_app).login('oscar', GOOD_PASSWORD).status_int == 403

    post(admin, '/manage/staff/oscar/@@habilitar', {})
    assert staff_state(staff_app, 'oscar')['disabled'] is False
    assert staff_browser(staff_app, 'oscar').get('/manage').status_int == 200
    actions = [(e[1], e[3], e[4]) for e in audit_entries(staff_app) if e[1].startswith('staff.')
               and e[1] not in ('staff.login', 'staff.logout')]
    assert actions == [('staff.enable', 'disabled', 'enabled'),
                       ('staff.disable', 'enabled', 'disabled')]


def test_unlock_lets_a_locked_user_in_again(staff_app, admin, frozen_clock):
    for _ in range(5):
        staff_browser(staff_app).login('oscar', 'not the password')
    with nothing_changes(staff_app, audited=[('staff.login', 'locked')]):
        assert staff_browser(staff_app).login('oscar', GOOD_PASSWORD).status_int == 403
    page = admin.get('/manage/staff/oscar')
    assert page.html.find(id='staff-status')['data-status'] == 'locked'
    post(admin, '/manage/staff/oscar/@@desbloquear', {})
    assert staff_state(staff_app, 'oscar')['locked_until'] is None
    assert staff_browser(staff_app).login('oscar', GOOD_PASSWORD).status_int == 303
    (entry,) = audit_entries(staff_app, 'staff.unlock')
    assert entry[:3] == ('staff:alice', 'staff.unlock', '/staff/oscar')
    assert entry[3].startswith('locked until 2026-11-29') and entry[4] == 'unlocked'


def test_an_admin_sets_a_new_password_which_ends_the_users_sessions(staff_app, admin):
    oscar = staff_browser(staff_app, 'oscar')
    old_hash = staff_state(staff_app, 'oscar')['hash']
    response = post(admin, '/manage/staff/oscar/@@contrasena', {
        'password': NEW_PASSWORD, 'password_confirmation': NEW_PASSWORD})
    assert response.status_int == 303
    assert signed_in_home(oscar) is None
    with nothing_changes(staff_app, but=login_record('oscar'),
                         audited=[('staff.login', 'bad-credentials')]):
        assert staff_browser(staff_app).login('oscar', GOOD_PASSWORD).status_int == 400
    assert staff_browser(staff_app, 'oscar', NEW_PASSWORD)
    new_hash = staff_state(staff_app, 'oscar')['hash']
    (entry,) = audit_entries(staff_app, 'staff.password')
    assert entry[:3] == ('staff:alice', 'staff.password', '/staff/oscar')
    for text in entry:
        assert NEW_PASSWORD not in text and old_hash not in text and new_hash not in text
        assert 'argon2' not in text


def test_an_admin_changing_their_own_password_stays_signed_in(staff_app, admin):
    other = staff_browser(staff_app, 'alice')
    post(admin, '/manage/staff/alice/@@contrasena', {
        'password': NEW_PASSWORD, 'password_confirmation': NEW_PASSWORD})
    assert admin.get('/manage').status_int == 200
    assert signed_in_home(other) is None


def test_a_weak_password_is_refused_and_nothing_changes(staff_app, admin):
    with nothing_changes(staff_app):
        weak = post(admin, '/manage/staff/oscar/@@contrasena', {
            'password': 'oscar123456789', 'password_confirmation': 'oscar123456789'}, status=400)
        mismatched = post(admin, '/manage/staff/oscar/@@contrasena', {
            'password': NEW_PASSWORD, 'password_confirmation': NEW_PASSWORD + 'x'}, status=400)
    assert 'no puede contener' in weak.text
    assert 'no coinciden' in mismatched.text


# -- the last admin ----------------------------------------------------------------------------

def test_the_last_admin_can_neither_demote_nor_disable_themselves(staff_app, admin):
    with nothing_changes(staff_app):
        for path, fields in (('@@rol', {'role': 'operator'}), ('@@deshabilitar', {})):
            response = post(admin, f'/manage/staff/alice/{path}', fields, status=400)
            assert 'Debe quedar al menos un administrador activo' in response.text
    assert admin.get('/manage/staff/@@nuevo').status_int == 200


def test_with_a_second_admin_the_first_may_step_down(staff_app, admin):
    post(admin, '/manage/staff/oscar/@@rol', {'role': 'admin'})
    post(admin, '/manage/staff/alice/@@rol', {'role': 'auditor'})
    assert staff_state(staff_app, 'alice')['role'] == 'auditor'
    admin.get('/manage/staff/@@nuevo', status=403)
    # Now oscar is the last admin, and a disabled admin does not count.
    oscar = staff_browser(staff_app, 'oscar')
    with nothing_changes(staff_app):
        post(oscar, '/manage/staff/oscar/@@deshabilitar', {}, status=400)
    post(oscar, '/manage/staff/alice/@@rol', {'role': 'admin'})
    post(oscar, '/manage/staff/alice/@@deshabilitar', {})
    with nothing_changes(staff_app):
        response = post(oscar, '/manage/staff/oscar/@@rol', {'role': 'operator'}, status=400)
    assert 'Debe quedar al menos un administrador activo' in response.text


# -- refused roles -----------------------------------------------------------------------------

CHANGES = (
    ('/manage/staff/@@nuevo', {'username': 'mallory', 'role': 'admin', 'password': NEW_PASSWORD,
                               'password_confirmation': NEW_PASSWORD}),
    ('/manage/staff/alice/@@rol', {'role': 'auditor'}),
    ('/manage/staff/oscar/@@rol', {'role': 'admin'}),
    ('/manage/staff/alice/@@deshabilitar', {}),
    ('/manage/staff/alice/@@habilitar', {}),
    ('/manage/staff/alice/@@desbloquear', {}),
    ('/manage/staff/alice/@@contrasena', {'password': NEW_PASSWORD,
                                          'password_confirmation': NEW_PASSWORD}),
)


@pytest.mark.parametrize('role_user', ['oscar', 'aurora'])
def test_operator_and_auditor_are_refused_every_change(staff_app, role_user):
    client = staff_browser(staff_app, role_user)
    with nothing_changes(staff_app):
        for path, fields in CHANGES:
            assert post(client, path, fields).status_int == 403, path
    assert client.get('/manage').status_int == 200  # still signed in


def test_changes_need_the_csrf_token(staff_app, admin):
    with nothing_changes(staff_app):
        for path, fields in CHANGES:
            response = admin.post(path, fields, status='*')
            assert response.status_int == 400, path

