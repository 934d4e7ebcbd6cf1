"""Settings-only placeholder (replaced by the config branch)."""
from connectors.plugin import Provider

PROVIDER = Provider(name="exchange", connector=None, needs_section=True)
