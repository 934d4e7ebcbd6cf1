"""Settings-only placeholder (replaced by the config branch)."""
from connectors.plugin import Provider

PROVIDER = Provider(name="caldav", connector=None, needs_section=True)
