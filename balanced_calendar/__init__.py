"""balanced-calendar: audit calendars for overload, protect personal time, report kindly."""

__version__ = "0.1.0"
