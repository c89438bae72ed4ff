"""Backups that restore: ``flask --app app backup create FILE [--encrypt]`` and ``backup restore FILE``.

An archive is a tar file: ``manifest.json`` first (format, version, when, the database dialect, the Alembic
revision, the rows of each table, a SHA-256 and size per member), then the database dump (SQLite's online
backup API, or ``pg_dump`` in its custom format) and every photo file. ``--encrypt`` wraps the whole tar in
chunked AES-GCM under the key of ``SANKU_BACKUP_KEY``.

    manifest.py   the manifest and the refusals (BackupError)
    archive.py    writing the tar, reading it back into a staging folder while checking every member
    crypto.py     the encrypted envelope (streamed in chunks, so a large database fits in any memory)
    sqlite.py     the SQLite side: a consistent copy while the app writes, and the copy back
    postgres.py   the PostgreSQL side: pg_dump of one snapshot, pg_restore in one transaction
    service.py    create and restore, end to end
    cli.py        the commands
"""
