"""BENCHMARK ONLY: what one request cost the database, in the answer's headers.

Included by ``benchmarks/bench.ini`` (``pyramid.includes = benchmarks.probe``), never by
the portal's own configuration nor production.ini. A tween over everything (traversal,
security, the view, its template) answers, on every request that opened the database:

* ``X-Bench-Loads``: persistent objects the request's ZODB connection loaded (unghosted)
  while serving it, from the connection's own counter (``Connection.getTransferCounts``,
  read when pyramid_zodbconn opened the connection and again after the response);
* ``X-Bench-Ms``: the time in the process from the tween to the response, in ms.

A request carrying ``X-Bench-Cold: 1`` first empties the ZODB cache of every connection of
the process (``DB.cacheMinimize``: every object becomes a ghost, so each one the request
touches is read again from the storage), which is what a cold page means here: same
process, templates compiled, the operating system's file cache as it is. benchmarks.run
sends it only while nothing else runs.
"""
import time

from pyramid_zodbconn import ZODBConnectionOpened

LOADS = 'X-Bench-Loads'
MS = 'X-Bench-Ms'
COLD = 'X-Bench-Cold'
_AT_OPEN = '_bench_loads_at_open'


def _connection_opened(event):
    setattr(event.request, _AT_OPEN, event.conn.getTransferCounts()[0])


def probe_tween(handler, registry):
    def tween(request):
        if request.headers.get(COLD) == '1':
            database = registry._zodb_databases.get('')
            if database is not None:
                database.cacheMinimize()
        started = time.perf_counter()
        response = handler(request)
        response.headers[MS] = f'{(time.perf_counter() - started) * 1000:.3f}'
        connection = getattr(request, '_primary_zodb_conn', None)
        if connection is not None:
            at_open = getattr(request, _AT_OPEN, 0)
            response.headers[LOADS] = str(connection.getTransferCounts()[0] - at_open)
        return response
    return tween


def includeme(config):
    config.add_subscriber(_connection_opened, ZODBConnectionOpened)
    config.add_tween('benchmarks.probe.probe_tween')
