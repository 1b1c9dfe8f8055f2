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
overwritten and no incremental is shadowed by a full backup of the same name. The
second that counts is repozo's own (``time.gmtime()``, which on Linux turns a kernel tick
later than ``time.time()``); should an incremental still get the name of an older
backup, a full backup follows at once, so that a change is never left out of a restore.

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
#: The step of the wait for repozo's second, which lags time.time() by up to a kernel tick.
TICK_SECONDS = 0.001
FULL_EXTENSIONS = ('.fs', '.fsz')


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


def repozo_second():
    """The UTC second repozo names a backup by: ``time.gmtime()`` without an argument.

    That is C's ``time()``, which on Linux reads the kernel's coarse clock: it enters a new
    second up to a tick (1 to 10 ms) after ``time.time()`` does."""
    return calendar.timegm(time.gmtime())


def wait_for_a_new_second(repository, clock=time.time, sleep=time.sleep):
    """Return once repozo's clock is past the second of the newest backup in ``repository``.

    Another backup in that second would get the same name: repozo refuses to overwrite a
    full one, and an incremental beside the full one of its name is left out of every
    restore (and so are the incrementals after it). ``clock`` paces the wait; the second
    that counts is :func:`repozo_second`, which may still be the old one when ``clock``
    has just left it."""
    stamps = repository_stamps(repository)
    if not stamps:
        return
    next_second = calendar.timegm(time.strptime(stamps[-1], STAMP_FORMAT)) + 1
    if next_second - clock() > MAX_WAIT_SECONDS:
        raise SystemExit(f'the newest backup in {repository} ({stamps[-1]} UTC) is dated after '
                         'this machine\'s clock: is the clock right?')
    while (ahead := next_second - clock()) > 0:
        sleep(ahead)
    while repozo_second() < next_second:
        if clock() - next_second > MAX_WAIT_SECONDS:
            raise SystemExit(f'time.gmtime() stays behind time.time(): cannot give the backup '
                             f'a second after {stamps[-1]} UTC')
        sleep(TICK_SECONDS)


def data_files(repository):
    """The names of the repozo data files (full ``.fs[z]``, incremental ``.deltafs[z]``)."""
    if not repository.is_dir():
        return set()
    return {name for name in os.listdir(repository) if repozo.is_data_file(name)}


def repository_stamps(repository):
    """The stamps (``YYYY-MM-DD-HH-MM-SS``) of the repozo data files, oldest first."""
    return sorted(os.path.splitext(name)[0] for name in data_files(repository))


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


def repozo_backup(data_fs, repository, full, clock, sleep):
    """Run one repozo backup in a second of its own; returns the data files it wrote."""
    before = data_files(repository)
    wait_for_a_new_second(repository, clock, sleep)
    argv = ['--backup', '--quick', '--gzip', '-f', str(data_fs), '-r', str(repository)]
    if full:
        argv.append('--full')
    run_repozo(argv)
    private_files(repository)
    return sorted(data_files(repository) - before), before


def shadowed(written, before):
    """Whether a file repozo wrote has the stamp of an older one: a restore skips it."""
    older = {os.path.splitext(name)[0] for name in before}
    return any(os.path.splitext(name)[0] in older for name in written)


def backup(data_fs, blob_dir, target, full=False, out=sys.stdout, clock=time.time, sleep=time.sleep):
    """Back up ``data_fs`` and ``blob_dir`` into ``target``; returns the stamp backed up.

    ``clock`` and ``sleep`` are the time of the wait for a second of its own."""
    repository = target / DATAFS
    private_dirs(target, target)
    private_dirs(repository, target)
    written, before = repozo_backup(data_fs, repository, full, clock, sleep)
    if shadowed(written, before):
        print(f'Data.fs: {written[-1]} has the name of an older backup (a restore would leave '
              'it out): a full backup instead', file=out)
        written, _ = repozo_backup(data_fs, repository, True, clock, sleep)
        if shadowed(written, before):
            raise SystemExit(f'repozo wrote {written[-1]} in the second of an older backup')
    if written:
        stamp, extension = os.path.splitext(written[-1])
        kind = 'full' if extension in FULL_EXTENSIONS else 'incremental'
    elif before:
        stamp, kind = repository_stamps(repository)[-1], 'no change since the last backup'
    else:
        raise SystemExit('repozo wrote no backup')
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
