"""People, consent and credentials: who is enrolled, what they agreed to (docs/privacy.md)."""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol

from balanced_calendar.store.errors import require_aware


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """An enrolled person and their settings.

    ``pseudonym`` is filled in by the store (``"p-"`` + 12 hex of HMAC-SHA256 over the
    lowercased address); leave it empty when creating a record.
    """

    email: str
    connector: str
    calendar: str = "primary"
    timezone: str = "Asia/Jakarta"
    language: str = "id"
    team: str | None = None
    protect: bool = False
    digest: bool = True
    enrolled_at: dt.datetime | None = None
    pseudonym: str = ""

    def __post_init__(self) -> None:
        if not self.email or "@" not in self.email:
            raise ValueError("a person needs an email address")
        require_aware(self.enrolled_at, "enrolled_at")


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """What a person agreed to, when, and in which version and language of the consent text."""

    email: str
    at: dt.datetime
    scopes: tuple[str, ...]
    purposes: tuple[str, ...]
    text_version: str
    language: str

    def __post_init__(self) -> None:
        require_aware(self.at, "at")


class PeopleStore(Protocol):
    """Enrolment, pseudonyms, consent records and encrypted credentials.

    Methods taking ``email`` match it case-insensitively and raise
    :class:`~balanced_calendar.store.errors.NotEnrolled` when it is not enrolled.
    """

    @abstractmethod
    def upsert_person(self, person: PersonRecord) -> PersonRecord:
        """Create or update a person; returns the stored record with its pseudonym.

        On update the original ``enrolled_at`` is kept; a missing ``enrolled_at`` means now.
        """

    @abstractmethod
    def enroll(self, person: PersonRecord, consent: ConsentRecord,
               credentials: tuple[str, bytes] | None = None) -> PersonRecord:
        """:meth:`upsert_person`, :meth:`add_consent` and, when given, :meth:`put_credentials`
        (``(provider, vault-encrypted blob)``) in one transaction.

        Raises :class:`~balanced_calendar.model.InputError` when the consent belongs to
        another address.
        """

    @abstractmethod
    def get_person(self, email: str) -> PersonRecord:
        """The enrolled person with this address (case-insensitive). Raises :class:`NotEnrolled`."""

    @abstractmethod
    def list_people(self) -> list[PersonRecord]:
        """Every enrolled person, ordered by address."""

    @abstractmethod
    def pseudonym(self, email: str) -> str:
        """The stable pseudonymous id of an address (enrolled or not): ``"p-"`` + 12 hex.

        Stable across restarts of one installation, different between installations.
        """

    @abstractmethod
    def add_consent(self, consent: ConsentRecord) -> None:
        """Append a consent record for an enrolled person."""

    @abstractmethod
    def consents(self, email: str) -> list[ConsentRecord]:
        """The person's consent records, oldest first."""

    @abstractmethod
    def put_credentials(self, email: str, provider: str, blob: bytes) -> None:
        """Store (replace) a person's encrypted credentials/token cache for ``provider``.

        ``blob`` must already be encrypted by the vault; the store never sees plaintext.
        Raises :class:`TypeError` when ``blob`` is not bytes.
        """

    @abstractmethod
    def get_credentials(self, email: str, provider: str | None = None) -> bytes | None:
        """The encrypted blob for ``provider`` (or the most recently stored one); ``None`` if none."""
