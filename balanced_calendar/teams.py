"""Teams as plain data: the tree, members, leaders and the differencing rule (docs/privacy.md).

Pure functions over ids and addresses, shared by the config loader (which refuses a config
that breaks them) and the team report (which needs the same members and the same ``k``).

- A team's **members** are the people whose ``team`` is its id plus the members of its child
  teams (teams whose ``parent`` is its id).
- Its **leaders** are the addresses listed in the team plus its own members flagged as leaders.
- **Differencing**: two overlapping teams whose member sets differ by 1 … k-1 people let a
  reader subtract one report from the other and learn about those few people, so they are
  refused. Identical member sets reveal nobody and are allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

#: the anonymity threshold ``k`` when ``[reports]`` does not set one: the one owner of the default
DEFAULT_K = 5


class Differencing(NamedTuple):
    """Two overlapping teams whose member sets differ by ``differ`` people, 0 < differ < k."""

    first: str
    second: str
    differ: int
    k: int

    @property
    def message(self) -> str:
        return (f"teams.{self.first} and teams.{self.second} differ by {self.differ} member(s); with "
                f"k={self.k} a report pair would reveal individuals (make them differ by at least "
                f"{self.k} people, or merge them)")


def declared(ids: Iterable[str]) -> str:
    """The ``(declared: …)`` suffix of an unknown-team message."""
    ids = sorted(ids)
    return f" (declared: {', '.join(ids)})" if ids else " (no [[teams]] are declared)"


def check_parents(parents: Mapping[str, str | None]) -> tuple[dict[str, str | None], list[tuple[str, str]]]:
    """Validate the tree ``team id -> parent id`` (``None``: a top-level team).

    Returns the usable tree (unknown, self and cyclic parents removed, so member sets can be
    computed) and the problems as ``(team id, message)`` about that team's ``parent``: first
    unknown and self parents in team order, then each cycle once.
    """
    tree: dict[str, str | None] = dict(parents)
    problems: list[tuple[str, str]] = []
    for team, parent in parents.items():
        if parent is None:
            continue
        if parent not in parents:
            problems.append((team, f"unknown team {parent!r}" + declared(parents)))
            tree[team] = None
        elif parent == team:
            problems.append((team, "a team cannot be its own parent"))
            tree[team] = None
    in_reported_cycle: set[str] = set()
    for team in tree:
        chain, current = [team], tree[team]
        while current is not None and current not in chain:
            chain.append(current)
            current = tree[current]
        if current == team and team not in in_reported_cycle:
            in_reported_cycle.update(chain)
            problems.append((team, "parents form a cycle: " + " → ".join(chain + [current])))
    looping = [team for team in tree if _loops(tree, team)]
    for team in looping:
        tree[team] = None
    return tree, problems


def _loops(tree: Mapping[str, str | None], start: str) -> bool:
    seen: set[str] = set()
    current: str | None = start
    while current is not None:
        if current in seen:
            return True
        seen.add(current)
        current = tree[current]
    return False


def members(tree: Mapping[str, str | None], direct: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """Every team's members: its ``direct`` members plus those of its descendants.

    ``tree`` must be free of cycles (as returned by :func:`check_parents`).
    """
    children: dict[str, list[str]] = {team: [] for team in tree}
    for team, parent in tree.items():
        if parent is not None:
            children[parent].append(team)

    def collect(team: str) -> frozenset[str]:
        found = set(direct.get(team, ()))
        for child in children[team]:
            found |= collect(child)
        return frozenset(found)

    return {team: collect(team) for team in tree}


def leaders(listed: Iterable[str], flagged: Iterable[str]) -> tuple[str, ...]:
    """The listed leaders, then the flagged members, lower-cased, each once, in that order."""
    found: list[str] = []
    for address in (*listed, *flagged):
        address = address.lower()
        if address not in found:
            found.append(address)
    return tuple(found)


def differencing(team_members: Mapping[str, frozenset[str]], k: int = DEFAULT_K) -> list[Differencing]:
    """Pairs of overlapping teams (in declaration order) whose member sets differ by 1 … k-1."""
    found: list[Differencing] = []
    teams = list(team_members.items())
    for a, (first, first_members) in enumerate(teams):
        for second, second_members in teams[a + 1:]:
            if not first_members & second_members:
                continue
            differ = len(first_members ^ second_members)
            if 0 < differ < k:
                found.append(Differencing(first, second, differ, k))
    return found
