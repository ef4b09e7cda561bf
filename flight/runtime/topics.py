"""Topics every deployment has; component ports add their own ("instance.port")."""

from typing import Final

EVENTS: Final = "sys.events"
"""Every `EventRecord` emitted by any component, in emission order."""

EVENTS_SUPPRESSED: Final = "sys.events_suppressed"
"""`(event_id, count)` when a throttled event's window reopens after suppressing `count`."""
