"""The portal served for the benchmark: its app processes, the signed-in sessions, and the
requests (wrk targets) of each page measured (benchmarks.run, benchmarks.ab)."""
from . import loads
from .servers import REPO, Served, free_port


def sessions(server, rfcs, password):
    return {rfc: loads.sign_in(server.base_url, rfc, password) for rfc in rfcs}


def page_targets(key, manifest, cookies):
    reference, large = manifest['reference'], manifest['large'][0] if manifest['large'] else None
    pool = [rfc for rfc in cookies if rfc not in (reference, large)]
    statement = manifest['statements'][0]
    if key in ('saldos-20', 'saldos-20-crowded'):
        return loads.get_targets([(f'/customers/{reference}/saldos', cookies[reference])])
    if key in ('historial', 'historial-crowded'):
        return loads.get_targets([(f'/customers/{reference}/historial-de-pagos', cookies[reference])])
    if key == 'saldos-5000':
        return loads.get_targets([(f'/customers/{large}/saldos', cookies[large])])
    paths = {'facturas': '/customers/{}/facturas',
             'statement-pdf': f'/customers/{{}}/statements/{statement}/pdf'}[key]
    return loads.get_targets([(paths.format(rfc), cookies[rfc]) for rfc in pool])


def portal_on(args, name, folder, bank_port, http_port=None):
    port = http_port or free_port()
    options = {'db': folder, 'bank_port': bank_port, 'http_port': port}
    return Served('main', port, options, ini=args.ini, log_path=log_file(args, f'portal-{name}'),
                  env=args.env)


def banks_for(args, http_port, bank_port):
    return Served('banks', bank_port, {'http_port': http_port}, ini=args.ini,
                  log_path=log_file(args, 'banks'))


def log_file(args, name):
    path = REPO / args.work / 'logs'
    path.mkdir(parents=True, exist_ok=True)
    return path / f'{name}.log'
