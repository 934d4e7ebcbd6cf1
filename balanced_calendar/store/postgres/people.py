"""PostgreSQL part of :class:`~balanced_calendar.store.people.PeopleStore`: people, consent, credentials."""

from __future__ import annotations

import datetime as dt
import json

from balanced_calendar.model import InputError
from balanced_calendar.store.errors import NotEnrolled
from balanced_calendar.store.people import ConsentRecord, PersonRecord
from balanced_calendar.store.postgres.core import PostgresCore, Tx
from balanced_calendar.store.sqlite.core import UTC, email_key, from_ts, ts
from balanced_calendar.store.sqlite.people import _PERSON_COLUMNS, _person


class PostgresPeople(PostgresCore):
    """The ``people``, ``consents`` and ``credentials`` tables."""

    def _upsert_person(self, conn: Tx, person: PersonRecord) -> PersonRecord:
        key = email_key(person.email)
        enrolled = person.enrolled_at or dt.datetime.now(UTC)
        conn.execute(
            """INSERT INTO people(email, email_key, pseudonym, connector, calendar, timezone, language,
                                  team, protect, digest, enrolled_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (email_key) DO UPDATE SET
                   email = excluded.email, connector = excluded.connector, calendar = excluded.calendar,
                   timezone = excluded.timezone, language = excluded.language, team = excluded.team,
                   protect = excluded.protect, digest = excluded.digest""",
            (person.email.strip(), key, self.pseudonym(key), person.connector, person.calendar,
             person.timezone, person.language, person.team, int(person.protect), int(person.digest),
             ts(enrolled)))
        return self._get_person(conn, person.email)

    def upsert_person(self, person: PersonRecord) -> PersonRecord:
        with self._tx() as tx:
            return self._upsert_person(tx, person)

    def enroll(self, person: PersonRecord, consent: ConsentRecord,
               credentials: tuple[str, bytes] | None = None) -> PersonRecord:
        if email_key(consent.email) != email_key(person.email):
            raise InputError("the consent record belongs to a different address than the person")
        with self._tx() as tx:
            record = self._upsert_person(tx, person)
            self._add_consent(tx, consent)
            if credentials is not None:
                self._put_credentials(tx, person.email, *credentials)
            return record

    def _get_person(self, conn: Tx, email: str) -> PersonRecord:
        row = conn.execute(f"SELECT {_PERSON_COLUMNS} FROM people WHERE email_key = %s",
                           (email_key(email),)).fetchone()
        if row is None:
            raise NotEnrolled(email)
        return _person(row)

    def get_person(self, email: str) -> PersonRecord:
        with self._read() as conn:
            return self._get_person(conn, email)

    def list_people(self) -> list[PersonRecord]:
        with self._read() as conn:
            rows = conn.execute(f"SELECT {_PERSON_COLUMNS} FROM people ORDER BY email_key").fetchall()
        return [_person(row) for row in rows]

    def _add_consent(self, conn: Tx, consent: ConsentRecord) -> None:
        pid = self._person_id(conn, consent.email)
        conn.execute(
            "INSERT INTO consents(person_id, at, scopes, purposes, text_version, language) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (pid, ts(consent.at), json.dumps(list(consent.scopes)), json.dumps(list(consent.purposes)),
             consent.text_version, consent.language))

    def add_consent(self, consent: ConsentRecord) -> None:
        with self._tx() as tx:
            self._add_consent(tx, consent)

    def consents(self, email: str) -> list[ConsentRecord]:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            person_email = self._person_email(conn, pid)
            rows = conn.execute(
                "SELECT at, scopes, purposes, text_version, language FROM consents WHERE person_id = %s "
                "ORDER BY at, id", (pid,)).fetchall()
        return [ConsentRecord(email=person_email, at=from_ts(at), scopes=tuple(json.loads(scopes)),  # type: ignore[arg-type]
                              purposes=tuple(json.loads(purposes)), text_version=version, language=language)
                for at, scopes, purposes, version, language in rows]

    # -- credentials ----------------------------------------------------------------------------
    def put_credentials(self, email: str, provider: str, blob: bytes) -> None:
        with self._tx() as tx:
            self._put_credentials(tx, email, provider, blob)

    def _put_credentials(self, tx: Tx, email: str, provider: str, blob: bytes) -> None:
        if not isinstance(blob, (bytes, bytearray)):
            raise TypeError("credentials must be bytes encrypted by the vault")
        pid = self._person_id(tx, email)
        tx.execute(
            """INSERT INTO credentials(person_id, provider, blob, updated_at) VALUES (%s, %s, %s, %s)
               ON CONFLICT (person_id, provider) DO UPDATE SET blob = excluded.blob,
                                                            updated_at = excluded.updated_at""",
            (pid, provider, bytes(blob), ts(dt.datetime.now(UTC))))

    def get_credentials(self, email: str, provider: str | None = None) -> bytes | None:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            if provider is None:
                row = conn.execute("SELECT blob FROM credentials WHERE person_id = %s "
                                   "ORDER BY updated_at DESC LIMIT 1", (pid,)).fetchone()
            else:
                row = conn.execute("SELECT blob FROM credentials WHERE person_id = %s AND provider = %s",
                                   (pid, provider)).fetchone()
        return None if row is None else bytes(row[0])
