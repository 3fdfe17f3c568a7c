"""Telemetry columns of the communications kind."""
from twin.model import Column

COLUMNS = {
    "dte_visible_frac": Column("fraction", "state", "1 while a direct-to-Earth link exists (Earth above the mask, a ground station sees the Moon)"),
    "relay_visible_frac": Column("fraction", "state", "1 while at least one relay links the site to the Earth"),
    "link_rate_bps": Column("bit/s", "rate", "downlink rate in use (0 while the class is shed)"),
    "light_time_s": Column("s", "state", "one-way light time of the link in use (direct when none)"),
    "received_bytes": Column("bytes", "amount", "data arriving in the store this step"),
    "downlinked_bytes": Column("bytes", "amount", "data sent home this step"),
    "stored_bytes": Column("bytes", "level", "data in the store at the end of the step"),
    "lost_bytes": Column("bytes", "amount", "data dropped this step (store full, or not yet landed)"),
    "requested_w": Column("W", "rate", "power requested"),
    "power_w": Column("W", "rate", "power drawn"),
}


def lost_by_source(source: str) -> tuple[str, Column]:
    """The per-instance column of one data source's losses: ``<source>_lost_bytes``."""
    return f"{source}_lost_bytes", Column("bytes", "amount", f"data from {source} dropped this step (store full, or not yet landed)")
