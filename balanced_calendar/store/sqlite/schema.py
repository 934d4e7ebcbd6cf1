"""The SQLite schema as a list of migrations (``PRAGMA user_version`` = how many are applied).

A database made by an older version is upgraded in place on open, one migration per
transaction together with its version bump; a database newer than :data:`MIGRATIONS` is
refused. ``tests/test_store.py`` opens a database built with schema 1's SQL and upgrades it.
"""

from __future__ import annotations

#: Each migration is a list of statements, applied in one transaction with the version bump.
#: Never edit a released step; append a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: initial schema
        """CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value BLOB NOT NULL
        )""",
        """CREATE TABLE people (
            id          INTEGER PRIMARY KEY,
            email       TEXT NOT NULL,
            email_key   TEXT NOT NULL UNIQUE,
            pseudonym   TEXT NOT NULL UNIQUE,
            connector   TEXT NOT NULL,
            calendar    TEXT NOT NULL,
            timezone    TEXT NOT NULL,
            language    TEXT NOT NULL,
            team        TEXT,
            protect     INTEGER NOT NULL CHECK (protect IN (0, 1)),
            digest      INTEGER NOT NULL CHECK (digest IN (0, 1)),
            enrolled_at TEXT NOT NULL
        )""",
        """CREATE TABLE consents (
            id           INTEGER PRIMARY KEY,
            person_id    INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            at           TEXT NOT NULL,
            scopes       TEXT NOT NULL,
            purposes     TEXT NOT NULL,
            text_version TEXT NOT NULL,
            language     TEXT NOT NULL
        )""",
        "CREATE INDEX consents_person ON consents(person_id, at)",
        """CREATE TABLE credentials (
            person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            provider   TEXT NOT NULL,
            blob       BLOB NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (person_id, provider)
        ) WITHOUT ROWID""",
        """CREATE TABLE sync_state (
            person_id    INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            calendar     TEXT NOT NULL,
            token        TEXT,
            window_start TEXT,
            window_end   TEXT,
            last_sync    TEXT,
            last_error   TEXT,
            PRIMARY KEY (person_id, calendar)
        ) WITHOUT ROWID""",
        # No title, description, location, attendee or address column: by construction.
        """CREATE TABLE events (
            person_id         INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            calendar          TEXT NOT NULL,
            uid_hash          TEXT NOT NULL,
            all_day           INTEGER NOT NULL CHECK (all_day IN (0, 1)),
            start_utc         INTEGER,
            end_utc           INTEGER,
            start_date        TEXT,
            end_date          TEXT,
            status            TEXT NOT NULL CHECK (status IN ('confirmed', 'tentative', 'cancelled')),
            response          TEXT NOT NULL CHECK (response IN
                              ('organizer', 'accepted', 'tentative', 'declined', 'needs_action', 'unknown')),
            show_as           TEXT NOT NULL CHECK (show_as IN
                              ('busy', 'tentative', 'free', 'oof', 'working_elsewhere')),
            kind              TEXT NOT NULL CHECK (kind IN
                              ('event', 'focus', 'out_of_office', 'working_location', 'own_block')),
            others            INTEGER NOT NULL CHECK (others >= 0),
            organizer_is_self INTEGER NOT NULL CHECK (organizer_is_self IN (0, 1)),
            CHECK ((all_day = 0 AND start_utc IS NOT NULL AND end_utc IS NOT NULL
                    AND start_date IS NULL AND end_date IS NULL)
                OR (all_day = 1 AND start_date IS NOT NULL AND end_date IS NOT NULL
                    AND start_utc IS NULL AND end_utc IS NULL))
        )""",
        "CREATE INDEX events_person_start ON events(person_id, start_utc)",
        "CREATE INDEX events_person_date ON events(person_id, start_date)",
        "CREATE INDEX events_uid ON events(person_id, calendar, uid_hash)",
        """CREATE TABLE audit_days (
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            day       TEXT NOT NULL,
            figures   TEXT NOT NULL,
            PRIMARY KEY (person_id, day)
        ) WITHOUT ROWID""",
        """CREATE TABLE findings (
            id        INTEGER PRIMARY KEY,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            day       TEXT NOT NULL,
            rule      TEXT NOT NULL,
            fields    TEXT NOT NULL
        )""",
        "CREATE INDEX findings_person_day ON findings(person_id, day)",
        """CREATE TABLE own_blocks (
            person_id   INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            block_id    TEXT NOT NULL,
            day         TEXT NOT NULL,
            start_utc   INTEGER NOT NULL,
            end_utc     INTEGER NOT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('focus', 'recovery', 'break')),
            title       TEXT,
            provider_id TEXT,
            fingerprint TEXT,
            state       TEXT NOT NULL CHECK (state IN ('active', 'deleted_by_user', 'edited_by_user')),
            PRIMARY KEY (person_id, block_id)
        )""",
        "CREATE INDEX own_blocks_day ON own_blocks(person_id, day)",
        """CREATE TABLE tombstones (
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            block_id  TEXT NOT NULL,
            day       TEXT NOT NULL,
            PRIMARY KEY (person_id, block_id, day)
        ) WITHOUT ROWID""",
        """CREATE TABLE outbox (
            key          TEXT PRIMARY KEY,
            person_id    INTEGER REFERENCES people(id) ON DELETE CASCADE,
            recipient    TEXT NOT NULL,
            message      BLOB NOT NULL,
            created      TEXT NOT NULL,
            attempts     INTEGER NOT NULL DEFAULT 0,
            next_attempt TEXT,
            sent_at      TEXT,
            last_error   TEXT
        )""",
        "CREATE INDEX outbox_due ON outbox(sent_at, next_attempt)",
        "CREATE INDEX outbox_person ON outbox(person_id)",
        """CREATE TABLE runs (
            person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            kind       TEXT NOT NULL,
            at         TEXT NOT NULL,
            ok         INTEGER NOT NULL CHECK (ok IN (0, 1)),
            error      TEXT,
            last_ok_at TEXT,
            PRIMARY KEY (person_id, kind)
        ) WITHOUT ROWID""",
        """CREATE TABLE erasure_log (
            id        INTEGER PRIMARY KEY,
            pseudonym TEXT NOT NULL,
            erased_at TEXT NOT NULL,
            reason    TEXT NOT NULL
        )""",
    ),
    (  # 2: the provider's etag of each own block; the persistent job queue
        "ALTER TABLE own_blocks ADD COLUMN etag TEXT",
        # subject: a pseudonym or a team id, never an address (checked on enqueue).
        """CREATE TABLE jobs (
            key         TEXT PRIMARY KEY,
            kind        TEXT NOT NULL,
            subject     TEXT,
            due_at      TEXT NOT NULL,
            attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            lease_owner TEXT,
            lease_until TEXT,
            done_at     TEXT,
            last_error  TEXT,
            ok          INTEGER CHECK (ok IN (0, 1)),
            CHECK ((done_at IS NULL) = (ok IS NULL))
        )""",
        "CREATE INDEX jobs_due ON jobs(due_at) WHERE done_at IS NULL",
        "CREATE INDEX jobs_subject ON jobs(subject, kind)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
