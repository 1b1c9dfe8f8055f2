"""canonportal.fragments: the bounded cache of rendered HTML, serials as keys, holes."""
import threading

from canonportal.fragments import FragmentCache, Holes, serial_of, serials
from portal_support import CANON, with_root


def test_keeps_at_most_its_size_dropping_the_least_recently_used():
    cache = FragmentCache(2)
    cache.put('a', '<tr>a</tr>')
    cache.put('b', '<tr>b</tr>')
    assert cache.get('a') == '<tr>a</tr>'        # a is now the most recent
    cache.put('c', '<tr>c</tr>')
    assert (cache.get('a'), cache.get('b'), cache.get('c')) == ('<tr>a</tr>', None, '<tr>c</tr>')
    assert len(cache) == 2
    cache.clear()
    assert len(cache) == 0 and cache.get('a') is None


def test_threads_share_it_without_losing_the_bound():
    cache = FragmentCache(100)

    def fill(offset):
        for number in range(1000):
            cache.put((offset, number), str(number))
            cache.get((offset, number - 1))

    threads = [threading.Thread(target=fill, args=(offset,)) for offset in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 100


def test_a_shell_is_filled_with_each_requests_parts_and_data_cannot_spell_a_hole():
    holes = Holes()
    # What a customer could type or the ERP could send: private-use characters, a marker
    # of another process (another nonce), the names of holes.
    typed = '\ue000' + '0' * 16 + ':csrf\ue001 csrf came_from'
    shell = holes.shell(f'<p>{typed}</p><input value="{holes.marker("csrf")}">'
                        f'{holes.marker("flash")}<footer>ñ</footer>')
    assert shell.names == ['csrf', 'flash']
    page = shell.fill({'csrf': 'token-a', 'flash': '<div>hola</div>'}).decode('utf-8')
    assert page == f'<p>{typed}</p><input value="token-a"><div>hola</div><footer>ñ</footer>'
    assert shell.fill({'csrf': 'token-b', 'flash': ''}).decode('utf-8').count('token-b') == 1
    assert Holes().marker('csrf') != holes.marker('csrf')


def test_a_serial_describes_only_what_was_committed(app):
    def look(root):
        customer = root.customers[CANON]
        before = serial_of(customer)
        assert before is not None and serials(customer, root) is not None
        customer.name = 'Otro nombre'              # changed in this transaction: no serial
        assert serial_of(customer) is None and serials(customer, root) is None
        return before
    before = with_root(app, look)
    after = with_root(app, lambda root: serial_of(root.customers[CANON]))
    assert after is not None and after != before and after[:2] == before[:2]


def test_a_budget_bounds_the_bytes_kept_too():
    cache = FragmentCache(100, budget=10)
    cache.put('a', 'xxxx')
    cache.put('b', 'yyyy')
    cache.put('a', 'zzzz')                      # replacing counts once
    assert cache.weight == 8 and len(cache) == 2
    cache.put('c', 'wwww')                      # 12 bytes: the least recently used goes
    assert (cache.get('b'), cache.get('a'), cache.get('c')) == (None, 'zzzz', 'wwww')
    assert cache.weight == 8
    cache.put('big', 'v' * 50)                  # larger than the budget: kept alone
    assert len(cache) == 1 and cache.weight == 50
