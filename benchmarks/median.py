"""python -m benchmarks.median RUN.json …: the median of several runs of benchmarks.run.

Each page's figures (throughput, its ratio to the hello view *of the same run*,
p50/p95/p99, peak RSS) are the median over the runs; errors are summed. The
targets are checked on the medians, and each run's own figure is listed beside
them so the spread shows.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

from .report import crowded_table, evaluate, hello_rps


def load(paths):
    return [json.loads(Path(path).read_text(encoding='utf-8')) for path in paths]


def page_key(page):
    return (page['key'], page['database'].split('-')[0])


def median_results(runs):
    """One results dict (as benchmarks.run writes) whose figures are medians over ``runs``."""
    merged = {'machine': runs[0]['machine'], 'settings': runs[0]['settings'],
              'databases': runs[0]['databases'], 'runs': len(runs)}
    merged['hello'] = [_median_figures(group) for group in
                       ([h for run in runs for h in run['hello'][i:i + 1]] for i in range(2)) if group]
    pages = {}
    for run in runs:
        ceiling = hello_rps(run)
        for page in run['pages']:
            pages.setdefault(page_key(page), []).append(
                dict(page, ratio=page['rps'] / ceiling if ceiling else None))
    merged['pages'] = [dict(_median_figures(group), key=group[0]['key'], label=group[0]['label'],
                            database=group[0]['database']) for group in pages.values()]
    memories = [run['memory_after_load'] for run in runs if run.get('memory_after_load')]
    if memories:
        merged['memory_after_load'] = dict(memories[0], **{
            name: statistics.median(m[name] for m in memories) for name in ('rss_mb', 'peak_rss_mb')})
    bursts = [run['payments'] for run in runs if run.get('payments')]
    if bursts:
        merged['payments'] = _median_burst(bursts)
    signins = _median_signins([run['signins'] for run in runs if run.get('signins')])
    if signins:
        merged['signins'] = signins
    alternated = _median_ab([run['ab'] for run in runs if run.get('ab')])
    if alternated:
        merged['ab'] = alternated
    merged['targets'] = evaluate(merged)
    merged['per_run_targets'] = [evaluate(run) for run in runs]
    return merged


def _median_figures(group):
    numbers = {}
    for name in ('rps', 'ratio', 'p50_ms', 'p95_ms', 'p99_ms', 'peak_rss_mb', 'rss_after_mb',
                 'cold_ms', 'cold_server_ms', 'cold_loads', 'warm_ms', 'warm_server_ms', 'warm_loads'):
        values = [item[name] for item in group if item.get(name) is not None]
        if values:
            numbers[name] = statistics.median(values)
    for name in ('errors', 'unexpected', 'requests'):
        numbers[name] = sum(item.get(name, 0) for item in group)
    numbers['connections'] = group[0].get('connections')
    numbers['runs'] = len(group)
    return numbers


def _median_signins(runs):
    """Each sign-in case: the median of each figure; the answers, SALDOS errors and conflicts
    of a typical run (the totals over the runs beside them); every run's own times."""
    merged = {}
    for case in sorted({case for run in runs for case in run}):
        group = [run[case] for run in runs if case in run]
        figures = {name: statistics.median(item[name] for item in group)
                   for name, value in group[0].items()
                   if isinstance(value, (int, float)) and not isinstance(value, bool)}
        for name in ('answers', 'conflicts', 'saldos_not_200'):
            if name in group[0]:
                total = {}
                for item in group:
                    for key, count in item[name].items():
                        total[key] = total.get(key, 0) + count
                figures[name + '_total'] = total
                figures[name] = {key: statistics.median(item[name].get(key, 0) for item in group)
                                 for key in total}
        figures['runs'] = len(group)
        figures['each'] = [{name: value for name, value in item.items()
                            if name.endswith('_ms') or name in ('signed_in', 'load_average')}
                           for item in group]
        merged[case] = figures
    return merged


def _median_ab(runs):
    """benchmarks.ab's rows: each figure's median over the runs, per page, database and cold."""
    groups = {}
    for rows in runs:
        for row in rows:
            groups.setdefault((row['page'], row['database'], row['cold']), []).append(row)
    return [{'page': page, 'database': database, 'cold': cold,
             'requests': sum(row['requests'] for row in group), 'runs': len(group),
             **{name: statistics.median(row[name] for row in group)
                for name in ('ms', 'server_ms', 'loads')}}
            for (page, database, cold), group in groups.items()]


def _median_burst(bursts):
    """Outcomes summed over the bursts; time the median (so payments/s is a typical burst's)."""
    outcomes = {}
    for burst in bursts:
        for name, count in burst['outcomes'].items():
            outcomes[name] = outcomes.get(name, 0) + count
    over = [item for burst in bursts for item in burst.get('database', {}).get('over_reserved', [])]
    runs = len(bursts)
    return {'users': bursts[0]['users'], 'bank': bursts[0]['bank'], 'runs': runs,
            'outcomes': {name: count // runs if count % runs == 0 else round(count / runs, 1)
                         for name, count in outcomes.items()},
            'outcomes_total': outcomes,
            'seconds': statistics.median(burst['seconds'] for burst in bursts),
            'steps': {}, 'database': {'over_reserved': over},
            'peak_rss_mb': statistics.median(burst.get('peak_rss_mb') or 0 for burst in bursts)}


def markdown(merged):
    lines = [f'Median of {merged["runs"]} runs.', '',
             '| Page | Database | req/s | × hello | p50 ms | p95 ms | p99 ms | errors | peak RSS MB |',
             '|---|---|---:|---:|---:|---:|---:|---:|---:|']
    for index, run in enumerate(merged['hello']):
        lines.append(_row(f'hello (bare Pyramid, {"first" if index == 0 else "last"})', '—',
                          dict(run, ratio=None)))
    for page in merged['pages']:
        lines.append(_row(page['label'], page['database'], page))
    lines += crowded_table(merged)
    lines += ['', '| Target | Median | Each run | Met (median) |', '|---|---|---|---|']
    for index, target in enumerate(merged['targets']):
        each = [run[index]['measured'] for run in merged['per_run_targets'] if index < len(run)]
        met = {True: 'yes', False: '**no**', None: '—'}[target['met']]
        lines.append(f'| {target["target"]} | {target["measured"]} | {" · ".join(each)} | {met} |')
    return '\n'.join(lines)


def _row(label, database, run):
    ratio = f'{run["ratio"]:.2f}' if run.get('ratio') is not None else ''
    errors = run['errors'] + run['unexpected']
    return (f'| {label} | {database} | {run["rps"]:,.0f} | {ratio} | {run["p50_ms"]:.1f} | '
            f'{run["p95_ms"]:.1f} | {run["p99_ms"]:.1f} | {errors} | {run.get("peak_rss_mb") or ""} |')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.median', description=__doc__)
    parser.add_argument('runs', nargs='+', help='results files of benchmarks.run')
    parser.add_argument('--out', help='write the medians here (JSON)')
    args = parser.parse_args(argv)
    merged = median_results(load(args.runs))
    if args.out:
        Path(args.out).write_text(json.dumps(merged, indent=1, default=str), encoding='utf-8')
    print(markdown(merged))
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
