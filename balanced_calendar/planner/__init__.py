"""The planner: focus and recovery blocks written safely into people's calendars (docs/planner.md).

* :mod:`.settings` — one person's planner settings (policy, ``[planner]``, their ``planner`` table);
* :mod:`.desired` — pure: stored events + policy -> the blocks a person should have, and proposals;
* :mod:`.reconcile` — pure: desired blocks vs the own blocks found in the calendar -> a diff;
* :mod:`.apply` — writes a diff through the :class:`~connectors.base.Connector` interface only;
* :mod:`.run` — one person end to end (store, connector, diff, apply);
* :mod:`.jobs` — the daemon's ``plan`` job; :mod:`.command` — ``balanced-calendar plan``;
* :mod:`.ics` — blocks as an iCalendar file (the demo).
"""
