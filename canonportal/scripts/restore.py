"""canonportal-restore DIR TARGET [--date D]: restore a canonportal-backup into a new folder.

Writes TARGET/Data.fs (repozo: the last full backup and its incrementals up to
the date) and TARGET/blobs (the blob files of that backup's manifest), then
opens the restored storage and checks that every blob it references is there.
TARGET must be new or empty: a restore never overwrites a database. Point
``zodbconn.uri`` at TARGET (or move the two into place with the server stopped).
What it writes is the owner's alone (folders 0700, files 0600), like the backup.
"""
import argparse
import os
import shutil
import sys
from pathlib import Path

from .backup import (
    BLOBS, DATAFS, MANIFESTS, PRIVATE_FILE, private_dirs, private_files, read_manifest,
    repository_stamps, run_repozo,
)


def chosen_stamp(repository, date=None):
    """The stamp repozo restores for ``date`` (``YYYY-MM-DD[-HH[-MM[-SS]]]``; None: the newest)."""
    stamps = repository_stamps(repository)
    if date:
        # A date names its whole day (an hour its whole hour): pad the missing fields.
        parts = date.split('-')
        if len(parts) < 3 or len(parts) > 6 or not all(part.isdigit() for part in parts):
            raise SystemExit(f'--date {date!r}: expected YYYY-MM-DD[-HH[-MM[-SS]]] (UTC)')
        padded = '-'.join(parts + ['99'] * (6 - len(parts)))
        stamps = [stamp for stamp in stamps if stamp <= padded]
    if not stamps:
        raise SystemExit(f'no backup in {repository}' + (f' at or before {date}' if date else ''))
    return stamps[-1]


def restore_blobs(source, manifest, blob_dir):
    """Copy the manifest's files from the backup's blob mirror; returns their count."""
    files = read_manifest(manifest)
    missing = [relative for relative in files if not (source / relative).exists()]
    if missing:
        raise SystemExit(f'the backup lacks {len(missing)} blob files, e.g. {missing[0]}')
    for relative in files:
        target = blob_dir / relative
        private_dirs(target.parent, blob_dir)
        shutil.copyfile(source / relative, target)
        os.chmod(target, PRIVATE_FILE)
    return len(files)


def missing_blobs(data_fs, blob_dir):
    """Blob records of the restored Data.fs (every revision) whose file is missing."""
    from ZODB.blob import FilesystemHelper, is_blob_record
    from ZODB.FileStorage import FileStorage
    storage = FileStorage(str(data_fs), read_only=True)
    helper = FilesystemHelper(str(blob_dir))
    missing = []
    try:
        for record_transaction in storage.iterator():
            for record in record_transaction:
                if record.data and is_blob_record(record.data):
                    if not os.path.exists(helper.getBlobFilename(record.oid, record.tid)):
                        missing.append((record.oid, record.tid))
    finally:
        storage.close()
    return missing


def restore(source, target, date=None, out=sys.stdout):
    """Restore the backup in ``source`` into the new folder ``target``; returns its stamp."""
    repository = source / DATAFS
    stamp = chosen_stamp(repository, date)
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise SystemExit(f'{target} is not empty: restore into a new folder')
    private_dirs(target, target)
    data_fs = target / 'Data.fs'
    run_repozo(['--recover', '-r', str(repository), '-o', str(data_fs), '-D', stamp])
    private_files(target)          # Data.fs and its index
    print(f'Data.fs: restored as of {stamp}', file=out)
    manifest = source / MANIFESTS / f'{stamp}.txt.gz'
    blob_dir = target / 'blobs'
    if manifest.exists():
        count = restore_blobs(source / BLOBS, manifest, blob_dir)
        print(f'blobs: {count} files', file=out)
    lost = missing_blobs(data_fs, blob_dir)
    if lost:
        raise SystemExit(f'the restored Data.fs references {len(lost)} blobs that are not in the '
                         f'backup: it is not usable as is')
    print(f'checked: every blob the restored Data.fs references is present\n'
          f'zodbconn.uri = file://{data_fs}?blobstorage_dir={blob_dir}', file=out)
    return stamp


def main(argv=None):
    parser = argparse.ArgumentParser(prog='canonportal-restore', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('directory', help='the folder canonportal-backup wrote')
    parser.add_argument('target', help='a new (or empty) folder for Data.fs and blobs/')
    parser.add_argument('--date', help='restore the state as of this UTC time: YYYY-MM-DD[-HH[-MM[-SS]]]')
    args = parser.parse_args(argv)
    restore(Path(args.directory), Path(args.target), date=args.date)
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
