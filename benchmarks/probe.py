"""BENCHMARK ONLY: what one request cost the database, in the answer's headers, when asked.

Included by ``benchmarks/bench.ini`` (``pyramid.includes = benchmarks.probe``), never by
the portal's own configuration nor production.ini. A tween over everything (traversal,
security, the view, its template) answers a request carrying ``X-Bench-Probe: 1`` with:

* ``X-Bench-Loads``: persistent objects the request's ZODB connection loaded (unghosted)
  while serving it, from the connection's own counter (``Connection.getTransferCounts``,
  reset when the tween opened the request's connection and read after the response);
* ``X-Bench-Ms``: the time in the process from the tween to the response, in ms.

A probed request also carrying ``X-Bench-Cold: 1`` first empties the ZODB cache of every
connection of the process (``DB.cacheMinimize``: every object becomes a ghost, so each one
the request touches is read again from the storage), which is what a cold page means here:
same process, templates compiled, the operating system's file cache as it is.
benchmarks.run sends it only while nothing else runs.

Any other request (wrk's load) passes through at the cost of one header lookup, so that
the throughput measured is the portal's, as production serves it, not the probe's.
"""
import time

from pyramid_zodbconn import get_connection

PROBE = 'X-Bench-Probe'
LOADS = 'X-Bench-Loads'
MS = 'X-Bench-Ms'
COLD = 'X-Bench-Cold'


def probe_tween(handler, registry):
    def tween(request):
        if request.headers.get(PROBE) != '1':
            return handler(request)
        if request.headers.get(COLD) == '1':
            database = registry._zodb_databases.get('')
            if database is not None:
                database.cacheMinimize()
        started = time.perf_counter()
        connection = get_connection(request)    # the request's own, opened here
        connection.getTransferCounts(clear=True)
        response = handler(request)
        response.headers[MS] = f'{(time.perf_counter() - started) * 1000:.3f}'
        response.headers[LOADS] = str(connection.getTransferCounts()[0])
        return response
    return tween


def includeme(config):
    config.add_tween('benchmarks.probe.probe_tween')
