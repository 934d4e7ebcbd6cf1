"""Synthetic demo data for the ``demo`` command (no real people, no real calendars)."""
