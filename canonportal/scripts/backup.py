"""canonportal-backup INI DIR: back up the embedded FileStorage and its blobs, while it serves.

DIR holds:

* ``datafs/``: the repozo repository of Data.fs (ZODB's ``repozo``): a full backup
  the first time (and with ``--full``, or after a pack), incrementals afterwards;
* ``blobs/``: a mirror of the blob directory; blob files are immutable and named by
  object id and transaction id, so a file is copied once and never changes;
* ``manifests/<stamp>.txt.gz``: the blob files present right after the repozo
  backup of the same stamp, which is what ``canonportal-restore`` copies back.

The order makes the pair consistent while the server writes: repozo first copies
Data.fs up to its last committed transaction; every blob that transaction (or an
earlier one) references was already in the blob directory before it committed, so
walking the blob directory afterwards finds them all. Newer blobs copied as well
are harmless (the restored Data.fs never references them). Only a pack deletes
blob files: backup and pack take the same lock so that they never overlap.

ZEO and RelStorage are not backed up by this script: use repozo on the ZEO
server's own FileStorage, pg_dump or pg_basebackup for PostgreSQL (README,
"Production").
"""
import argparse
import contextlib
import fcntl
import gzip
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import parse_qsl, unquote

from ZODB.scripts import repozo

#: Exit status when another backup or a pack holds the lock (sysexits EX_TEMPFAIL).
BUSY = 75
DATAFS = 'datafs'
BLOBS = 'blobs'
MANIFESTS = 'manifests'
#: Blob directory entries that are not blobs of committed transactions.
SKIPPED = {'tmp'}


class NotAFileStorage(SystemExit):
    """The ini's storage is ZEO, RelStorage or something else this script does not back up."""


def file_storage_paths(settings):
    """``(Data.fs path, blob directory or None)`` from a ``file://`` ``zodbconn.uri``."""
    uri = settings.get('zodbconn.uri', '')
    if not uri.startswith('file://'):
        raise NotAFileStorage(
            f'zodbconn.uri is not an embedded FileStorage ({uri.split(":", 1)[0]}://): '
            'back up ZEO with repozo on the ZEO server and PostgreSQL with pg_dump or '
            'pg_basebackup (README, "Production")')
    path, _, query = uri[len('file://'):].partition('?')
    blobs = dict(parse_qsl(query)).get('blobstorage_dir')
    return Path(unquote(path)), (Path(blobs) if blobs else None)


def ini_settings(config_uri, options=None):
    from pyramid.paster import get_appsettings

    from .common import SCRIPT_DEFAULTS
    return get_appsettings(config_uri, name='main', options=dict(SCRIPT_DEFAULTS, **(options or {})))


@contextlib.contextmanager
def maintenance_lock(data_fs):
    """Hold ``<Data.fs>.maintenance.lock``: backups and packs never run at the same time."""
    path = Path(str(data_fs) + '.maintenance.lock')
    with open(path, 'a') as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(BUSY) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def repository_stamps(repository):
    """The stamps (``YYYY-MM-DD-HH-MM-SS``) of the repozo data files, oldest first."""
    if not repository.is_dir():
        return []
    return sorted(os.path.splitext(name)[0] for name in os.listdir(repository)
                  if repozo.is_data_file(name))


def run_repozo(argv):
    """Run ZODB's repozo in this process; a RepozoError becomes SystemExit with its message."""
    try:
        repozo.main(argv)
    except SystemExit as exit:
        if exit.code not in (None, 0):
            raise SystemExit(f'repozo: {exit.code}') from None


def blob_files(blob_dir):
    """Relative paths (POSIX) of the blob directory's files, the layout marker included."""
    found = []
    for folder, subfolders, files in os.walk(blob_dir):
        relative = Path(folder).relative_to(blob_dir)
        if relative == Path('.'):
            subfolders[:] = [d for d in subfolders if d not in SKIPPED]
        for name in files:
            found.append((relative / name).as_posix())
    found.sort()
    return found


def mirror_blobs(blob_dir, mirror):
    """Copy the blob files the mirror lacks; returns (listed files, copied count).

    A file that vanished meanwhile (an aborted transaction's blob) is left out.
    """
    listed, copied = [], 0
    for relative in blob_files(blob_dir):
        source, target = blob_dir / relative, mirror / relative
        try:
            size = source.stat().st_size
        except FileNotFoundError:
            continue
        if not (target.exists() and target.stat().st_size == size):
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + '.partial')
            try:
                shutil.copyfile(source, partial)
            except FileNotFoundError:
                continue
            os.replace(partial, target)
            copied += 1
        listed.append(relative)
    return listed, copied


def write_manifest(path, files):
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + '.partial')
    with gzip.open(partial, 'wt', encoding='utf-8') as out:
        for relative in files:
            out.write(relative + '\n')
    os.replace(partial, path)


def read_manifest(path):
    with gzip.open(path, 'rt', encoding='utf-8') as handle:
        return [line.rstrip('\n') for line in handle if line.strip()]


def backup(data_fs, blob_dir, target, full=False, out=sys.stdout):
    """Back up ``data_fs`` and ``blob_dir`` into ``target``; returns the stamp backed up."""
    repository = target / DATAFS
    repository.mkdir(parents=True, exist_ok=True)
    before = repository_stamps(repository)
    argv = ['--backup', '--quick', '--gzip', '-f', str(data_fs), '-r', str(repository)]
    if full:
        argv.append('--full')
    run_repozo(argv)
    after = repository_stamps(repository)
    new = [stamp for stamp in after if stamp not in before]
    if not after:
        raise SystemExit('repozo wrote no backup')
    stamp = after[-1]
    kind = 'no change since the last backup' if not new else (
        'full' if any(repository.glob(f'{stamp}.fs*')) else 'incremental')
    print(f'Data.fs: {kind} ({stamp})', file=out)
    if blob_dir is not None:
        files, copied = mirror_blobs(blob_dir, target / BLOBS)
        # The manifest of this stamp: written again when nothing changed (a superset is fine).
        write_manifest(target / MANIFESTS / f'{stamp}.txt.gz', files)
        print(f'blobs: {len(files)} files, {copied} new', file=out)
    return stamp


def main(argv=None):
    parser = argparse.ArgumentParser(prog='canonportal-backup', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config_uri', help='the ini file, e.g. production.ini')
    parser.add_argument('directory', help='the backup folder (created when missing)')
    parser.add_argument('--full', action='store_true', help='a full backup of Data.fs, not an incremental')
    parser.add_argument('vars', nargs='*', metavar='NAME=VALUE', help='ini variables, as for pserve')
    args = parser.parse_args(argv)
    options = dict(item.split('=', 1) for item in args.vars if '=' in item)
    data_fs, blob_dir = file_storage_paths(ini_settings(args.config_uri, options))
    if not data_fs.exists():
        raise SystemExit(f'{data_fs} does not exist')
    target = Path(args.directory)
    try:
        with maintenance_lock(data_fs):
            backup(data_fs, blob_dir, target, full=args.full)
    except SystemExit as exit:
        if exit.code == BUSY:
            print('another backup or a pack is running; try again later', file=sys.stderr)
        raise
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
