"""canonportal.fragments: the bounded cache of rendered rows."""
import threading

from canonportal.fragments import FragmentCache


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
