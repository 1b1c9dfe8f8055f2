"""The figures of a run as markdown tables, and the issue's targets checked against them."""


def hello_rps(results):
    """The ceiling: mean throughput of the hello runs (first and last) of this run."""
    runs = [run['rps'] for run in results.get('hello', []) if run.get('rps')]
    return sum(runs) / len(runs) if runs else None


def page(results, key, database_prefix='large'):
    return next((p for p in results.get('pages', [])
                 if p['key'] == key and p['database'].startswith(database_prefix)), None)


def _pct(value):
    return f'{value * 100:.0f} %'


def evaluate(results):
    """``[{target, measured, met}]`` for each target the run measured (``met`` None: not measured)."""
    targets = []
    ceiling = hello_rps(results)
    saldos = page(results, 'saldos-20')
    if saldos and ceiling:
        ratio = saldos['rps'] / ceiling
        targets.append({'target': 'SALDOS with 20 invoices: throughput ≥ 40 % of hello',
                        'measured': f'{_pct(ratio)} ({saldos["rps"]:,.0f} / {ceiling:,.0f} req/s)',
                        'met': ratio >= 0.40})
        targets.append({'target': f'SALDOS with 20 invoices: p95 < 50 ms at {saldos["connections"]} users',
                        'measured': f'{saldos["p95_ms"]:.1f} ms', 'met': saldos['p95_ms'] < 50})
    small = page(results, 'saldos-20', 'small')
    if saldos and small:
        change = saldos['p50_ms'] / small['p50_ms'] - 1 if small['p50_ms'] else 0
        rps_change = saldos['rps'] / small['rps'] - 1 if small['rps'] else 0
        sizes = results.get('databases', {})
        targets.append({
            'target': 'Page times flat in database size: SALDOS (same customer) within 10 %',
            'measured': (f'p50 {small["p50_ms"]:.1f} ms with {sizes.get("small", {}).get("invoices", "?"):,} '
                         f'invoices, {saldos["p50_ms"]:.1f} ms with '
                         f'{sizes.get("large", {}).get("invoices", "?"):,} ({change:+.0%}); '
                         f'throughput {rps_change:+.0%}'),
            'met': abs(change) <= 0.10})
    big = page(results, 'saldos-5000')
    if big:
        targets.append({'target': 'Customer with 5,000 open invoices: first SALDOS page p95 < 150 ms',
                        'measured': f'{big["p95_ms"]:.1f} ms', 'met': big['p95_ms'] < 150})
    memory = results.get('memory_after_load')
    if memory and memory.get('rss_mb'):
        invoices = results.get('databases', {}).get('large', {}).get('invoices', 0)
        targets.append({'target': f'Serving process under 300 MB RSS after the load run '
                                  f'({invoices:,} invoices)',
                        'measured': f'{memory["rss_mb"]:.0f} MB (peak {memory["peak_rss_mb"]:.0f} MB)',
                        'met': memory['rss_mb'] < 300})
    burst = results.get('payments')
    if burst:
        database = burst.get('database', {})
        outcomes = burst.get('outcomes', {})
        approved = outcomes.get('approved', 0)
        errors = outcomes.get('error', 0)
        turned_away = outcomes.get('sign-in refused', 0)
        over = len(database.get('over_reserved', []))
        rate = approved / burst['seconds'] if burst.get('seconds') else 0
        targets.append({
            'target': f'{burst["users"]} payment sessions at once through the sandbox {burst["bank"]}: '
                      '0 errors, 0 sign-ins refused, 0 over-reservations',
            'measured': (f'{approved} approved, {outcomes.get("refused", 0)} refused (race), '
                         f'{errors} failed, {turned_away} sign-ins refused, {over} over-reservations; '
                         f'{rate:.2f} payments/s ({burst.get("seconds") or 0:.1f} s)'),
            'met': errors == 0 and turned_away == 0 and over == 0})
    targets += crowded_targets(results)
    targets += _signin_targets(results.get('signins', {}))
    generated = results.get('databases', {}).get('large')
    if generated:
        targets.append({'target': 'Generator (canonportal-generate): the large database',
                        'measured': (f'{generated["invoices"]:,} invoices in {generated["seconds"]:.0f} s '
                                     f'({generated["invoices_per_second"]:,} invoices/s), '
                                     f'peak RSS {generated["peak_rss_mb"]} MB'),
                        'met': None})
    return targets


#: Issue 24: the reference customer's pages crowded (key) beside the same pages uncrowded.
CROWDED = (('saldos-20-crowded', 'saldos-20', 'SALDOS'), ('historial-crowded', 'historial', 'HISTORIAL'))
#: Objects loaded "near-equal": at most this many more, or this share more, whichever is larger.
MORE_OBJECTS, MORE_SHARE = 5, 0.05


def _change(new, old):
    return new / old - 1 if old else 0


def crowded_pairs(results):
    """``[(name, crowded figures, uncrowded figures)]`` of the pairs the run measured."""
    pairs = []
    for crowded_key, key, name in CROWDED:
        crowded = page(results, crowded_key, 'crowded')
        plain = page(results, key)
        if crowded and plain:
            pairs.append((name, crowded, plain))
    return pairs


def crowded_targets(results):
    """Issue 24's: with 10,000 other customers' payments in progress (and the reference
    customer's 2,000 payments), its SALDOS and HISTORIAL within 10 % cold and warm, loading
    as many objects (near-equal)."""
    targets = []
    crowd = results.get('databases', {}).get('crowded', {})
    among = f'{crowd.get("pending", "?"):,} payments in progress of others' if crowd else 'crowded'
    for name, crowded, plain in crowded_pairs(results):
        warm = _change(crowded['rps'], plain['rps'])
        warm_p50 = _change(crowded['p50_ms'], plain['p50_ms'])
        targets.append({
            'target': f'{name} among {among}: warm throughput and p50 within 10 %',
            'measured': (f'{plain["rps"]:,.0f} → {crowded["rps"]:,.0f} req/s ({warm:+.0%}); '
                         f'p50 {plain["p50_ms"]:.1f} → {crowded["p50_ms"]:.1f} ms ({warm_p50:+.0%})'),
            'met': abs(warm) <= 0.10 and abs(warm_p50) <= 0.10})
        targets += _alternated(results, name, among)
        if plain.get('cold_loads') is not None and crowded.get('cold_loads') is not None:
            ok = all(crowded[k] <= plain[k] + max(MORE_OBJECTS, plain[k] * MORE_SHARE)
                     for k in ('cold_loads', 'warm_loads'))
            targets.append({
                'target': f'{name} among {among}: objects loaded per request near-equal '
                          f'(at most {MORE_OBJECTS} or {MORE_SHARE:.0%} more)',
                'measured': (f'cold {plain["cold_loads"]:g} → {crowded["cold_loads"]:g}, '
                             f'warm {plain["warm_loads"]:g} → {crowded["warm_loads"]:g}'),
                'met': ok})
    return targets



def ab_rows(results, page_key):
    """``{(database kind, cold): row}`` of benchmarks.ab's figures for ``page_key``."""
    return {(row['database'].split('-')[0], row['cold']): row for row in results.get('ab', [])
            if row['page'] == page_key}


def _alternated(results, name, among):
    """Cold and warm, in the process, from benchmarks.ab (both served at once, alternately)."""
    key = dict((n, k) for _c, k, n in CROWDED)[name]
    rows, targets = ab_rows(results, key), []
    for cold, label in ((True, 'cold (ZODB caches emptied)'), (False, 'warm')):
        plain, crowded = rows.get(('large', cold)), rows.get(('crowded', cold))
        if not (plain and crowded):
            continue
        change = _change(crowded['server_ms'], plain['server_ms'])
        targets.append({
            'target': f'{name} among {among}: {label}, one request at a time, within 10 % '
                      '(both databases served at once, alternately)',
            'measured': (f'{plain["server_ms"]:.2f} → {crowded["server_ms"]:.2f} ms in process '
                         f'({change:+.0%}); as the client saw it {plain["ms"]:.1f} → '
                         f'{crowded["ms"]:.1f} ms; objects {plain["loads"]:g} → {crowded["loads"]:g}'),
            'met': abs(change) <= 0.10})
    return targets


def ab_table(rows):
    """benchmarks.ab's figures as markdown lines."""
    lines = ['| Page | Database | | ms in process | ms (client) | objects loaded |',
             '|---|---|---|---:|---:|---:|']
    for row in sorted(rows, key=lambda r: (r['page'], not r['cold'], r['database'].split('-')[0] != 'large')):
        lines.append(f'| {row["page"]} | {row["database"]} | {"cold" if row["cold"] else "warm"} | '
                     f'{row["server_ms"]:.2f} | {row["ms"]:.2f} | {row["loads"]:g} |')
    return lines


def crowded_table(results):
    """The crowded pages beside the uncrowded ones: markdown lines (none if not measured)."""
    lines = []
    for name, crowded, plain in crowded_pairs(results):
        for label, run in (('0 others in progress', plain), ('crowded', crowded)):
            lines.append(f'| {name} | {label} | {run.get("cold_ms", 0):.1f} | '
                         f'{run.get("cold_server_ms", 0):.1f} | {run.get("cold_loads", 0):g} | '
                         f'{run.get("warm_ms", 0):.1f} | {run.get("warm_server_ms", 0):.1f} | '
                         f'{run.get("warm_loads", 0):g} | {run["rps"]:,.0f} | {run["p50_ms"]:.1f} | '
                         f'{run["p95_ms"]:.1f} |')
    if not lines:
        return []
    alternated = ['', 'Both databases served at once, one request at a time, alternately '
                      '(benchmarks.ab):', ''] + ab_table(results['ab']) if results.get('ab') else []
    return alternated + ['', '| Page | Database | cold ms (client) | cold ms (process) | cold objects | '
                'warm ms (client) | warm ms (process) | warm objects | req/s (8 conn.) | p50 ms | p95 ms |',
            '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|'] + lines


def _signin_targets(signins):
    """Issue 20's targets for the sign-in cases through nginx (benchmarks.signin_storm)."""
    targets = []
    together = signins.get('signin-30')
    if together:
        conflicts = together.get('conflicts', {})
        refused = {k: v for k, v in together['answers'].items() if k != '303' and v}
        targets.append({
            'target': f'{together["customers"]} customers signing in at once through nginx: all let in, '
                      'p95 < 5 s, no 503, none given up or run again after a conflict',
            'measured': (f'{together["signed_in"]} of {together["customers"]} signed in'
                         f'{", other answers " + str(refused) if refused else ""}; '
                         f'p50 {together["p50_ms"]:,.0f} ms, p95 {together["p95_ms"]:,.0f} ms; '
                         f'{_conflicts(conflicts)}'),
            'met': (together['signed_in'] == together['customers'] and together['p95_ms'] < 5000
                    and not conflicts.get('gave_up') and not conflicts.get('requests_retried'))})
    flood = signins.get('signin-flood-saldos')
    if flood:
        conflicts = flood.get('conflicts', {})
        targets.append({
            'target': f'{flood["sign_ins"]} sign-ins, {flood["parallel"]} at once from {flood["addresses"]} '
                      'addresses, through nginx: another customer\'s SALDOS p95 < 200 ms',
            'measured': (f'SALDOS p50 {flood["saldos_p50_ms"]:.1f} ms, p95 {flood["saldos_p95_ms"]:.1f} ms, '
                         f'max {flood["saldos_max_ms"]:,.1f} ms ({flood["saldos_requests"]} loads'
                         f'{", not 200: " + str(flood["saldos_not_200"]) if flood["saldos_not_200"] else ""}); '
                         f'sign-ins answered {_nonzero(flood["answers"])} in {flood["seconds"]:.0f} s; '
                         f'{_conflicts(conflicts)}'),
            'met': flood['saldos_p95_ms'] < 200 and not flood['saldos_not_200']
                   and '500' not in flood['answers']})
    return targets


def _nonzero(counts):
    return {key: count for key, count in counts.items() if count}


def _conflicts(conflicts):
    """Requests given up (503) or run again whole after a conflict, and short writes retried
    alone (a bucket of the audit log or the throttle splitting under two sign-ins)."""
    if not sum(conflicts.values()):
        return 'no conflict in the log'
    return (f'conflicts: {conflicts.get("gave_up", 0)} given up (503), '
            f'{conflicts.get("writes_retried", 0)} writes and {conflicts.get("requests_retried", 0)} '
            'requests retried')


def markdown(results):
    ceiling = hello_rps(results)
    lines = ['| Page | Database | req/s | × hello | p50 ms | p95 ms | p99 ms | errors | peak RSS MB |',
             '|---|---|---:|---:|---:|---:|---:|---:|---:|']
    for index, run in enumerate(results.get('hello', [])):
        lines.append(_row(f'hello (bare Pyramid, {"first" if index == 0 else "last"})', '—', run, ceiling))
    for run in results.get('pages', []):
        lines.append(_row(run['label'], run['database'], run, ceiling))
    burst = results.get('payments')
    if burst:
        for name, step in burst.get('steps', {}).items():
            lines.append(f'| pago: {name} | payments | {step["requests"]} req | | {step["p50_ms"]:.0f} '
                         f'| {step["p95_ms"]:.0f} | {step["p99_ms"]:.0f} | {step["failures"]} | '
                         f'{burst.get("peak_rss_mb") or ""} |')
    lines += crowded_table(results)
    lines += ['', '| Target | Measured | Met |', '|---|---|---|']
    for target in results.get('targets', []):
        met = {True: 'yes', False: '**no**', None: '—'}[target['met']]
        lines.append(f'| {target["target"]} | {target["measured"]} | {met} |')
    return '\n'.join(lines)


def _row(label, database, run, ceiling):
    ratio = f'{run["rps"] / ceiling:.2f}' if ceiling else ''
    errors = run['errors'] + run['unexpected']
    return (f'| {label} | {database} | {run["rps"]:,.0f} | {ratio} | {run["p50_ms"]:.1f} | '
            f'{run["p95_ms"]:.1f} | {run["p99_ms"]:.1f} | {errors} | {run.get("peak_rss_mb") or ""} |')
