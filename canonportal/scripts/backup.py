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

Everything a backup writes is the owner's alone (folders 0700, files 0600): it holds every
customer's data. repozo names a backup by the UTC second it starts in; a backup in the
second of the previous one first waits for the next second, so that no file is
overwritten and no incremental is shadowed by a full backup of the same name.

ZEO and RelStorage are not backed up by this script: use repozo on the ZEO
server's own FileStorage, pg_dump or pg_basebackup for PostgreSQL (README,
"Production").
"""
import argparse
import calendar
import contextlib
import fcntl
import gzip
import os
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, unquote

from ZODB.scripts import repozo

from .common import add_ini_variables, ini_settings, parse_command_line

#: Exit status when another backup or a pack holds the lock (sysexits EX_TEMPFAIL).
BUSY = 75
DATAFS = 'datafs'
BLOBS = 'blobs'
MANIFESTS = 'manifests'
#: Blob directory entries that are not blobs of committed transactions.
SKIPPED = {'tmp'}
#: Modes of what a backup or a restore writes: the owner's alone.
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
#: repozo's names: the UTC second a backup started in.
STAMP_FORMAT = '%Y-%m-%d-%H-%M-%S'
#: Longer than this ahead of the clock, the newest backup means a clock that went back.
MAX_WAIT_SECONDS = 2


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


def private_dirs(path, top):
    """Create ``path`` and its missing parents up to ``top`` (itself included), each 0700;
    ``top`` is made 0700 even when it exists (a backup folder of an older version)."""
    missing = []
    while path != top and not path.is_dir():
        missing.append(path)
        path = path.parent
    top.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    os.chmod(top, PRIVATE_DIR)
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        os.chmod(folder, PRIVATE_DIR)


def private_files(folder):
    """Make every file directly in ``folder`` 0600 (repozo creates them by the umask)."""
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False) and entry.stat().st_mode & 0o777 != PRIVATE_FILE:
            os.chmod(entry.path, PRIVATE_FILE)


def wait_for_a_new_second(repository, clock=time.time, sleep=time.sleep):
    """Return once the clock is past the second of the newest backup in ``repository``.

    Another backup in that second would get the same name: repozo refuses to overwrite a
    full one, and an incremental beside the full one of its name is left out of every
    restore (and so are the incrementals after it)."""
    stamps = repository_stamps(repository)
    if not stamps:
        return
    next_second = calendar.timegm(time.strptime(stamps[-1], STAMP_FORMAT)) + 1
    if next_second - clock() > MAX_WAIT_SECONDS:
        raise SystemExit(f'the newest backup in {repository} ({stamps[-1]} UTC) is dated after '
                         'this machine\'s clock: is the clock right?')
    while (ahead := next_second - clock()) > 0:
        sleep(ahead)


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
            private_dirs(target.parent, mirror)
            partial = target.with_name(target.name + '.partial')
            try:
                shutil.copyfile(source, partial)
            except FileNotFoundError:
                continue
            os.chmod(partial, PRIVATE_FILE)
            os.replace(partial, target)
            copied += 1
        listed.append(relative)
    return listed, copied


def write_manifest(path, files):
    private_dirs(path.parent, path.parent)
    partial = path.with_name(path.name + '.partial')
    with gzip.open(partial, 'wt', encoding='utf-8') as out:
        for relative in files:
            out.write(relative + '\n')
    os.chmod(partial, PRIVATE_FILE)
    os.replace(partial, path)


def read_manifest(path):
    with gzip.open(path, 'rt', encoding='utf-8') as handle:
        return [line.rstrip('\n') for line in handle if line.strip()]


def backup(data_fs, blob_dir, target, full=False, out=sys.stdout, clock=time.time, sleep=time.sleep):
    """Back up ``data_fs`` and ``blob_dir`` into ``target``; returns the stamp backed up.

    ``clock`` and ``sleep`` are the time of the wait for a second of its own."""
    repository = target / DATAFS
    private_dirs(target, target)
    private_dirs(repository, target)
    before = repository_stamps(repository)
    wait_for_a_new_second(repository, clock, sleep)
    argv = ['--backup', '--quick', '--gzip', '-f', str(data_fs), '-r', str(repository)]
    if full:
        argv.append('--full')
    run_repozo(argv)
    private_files(repository)
    after = repository_stamps(repository)
    new = [stamp for stamp in after if stamp not in before]
    if not after:
        raise SystemExit('repozo wrote no backup')
    stamp = after[-1]
    kind = 'no change since the last backup' if not new else (
        'full' if any(repository.glob(f'{stamp}.fs*')) else 'incremental')
    print(f'Data.fs: {kind} ({stamp})', file=out)
    if blob_dir is not None:
        private_dirs(target / BLOBS, target)
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
    add_ini_variables(parser)
    args, options = parse_command_line(parser, argv)
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
