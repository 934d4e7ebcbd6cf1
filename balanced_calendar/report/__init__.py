"""Anonymised team overload reports for leaders (docs/reports.md, docs/privacy.md)."""
