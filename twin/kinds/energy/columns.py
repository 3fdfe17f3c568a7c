"""Telemetry columns of the energy kind (the per-class ones are added by EnergyModel.columns)."""
from twin.model import Column

COLUMNS = {
    "sun_elevation_deg": Column("deg", "state", "elevation of the Sun's centre above the flat horizon"),
    "sun_visible_frac": Column("fraction", "state", "fraction of the solar disk seen by the arrays: above their horizon and not behind the Earth"),
    "sun_eclipsed_frac": Column("fraction", "state", "fraction of the solar disk behind the Earth (a lunar eclipse seen from the site)"),
    "array_health_frac": Column("fraction", "level", "array output left after dust and radiation degradation"),
    "array_temperature_k": Column("K", "state", "temperature of the array's cells (radiative balance of the panel)"),
    "solar_w": Column("W", "rate", "solar array output, derated for cell temperature"),
    "fission_w": Column("W", "rate", "fission reactor output"),
    "generation_w": Column("W", "rate", "solar plus fission generation"),
    "demand_w": Column("W", "rate", "all power requested, every class"),
    "delivered_w": Column("W", "rate", "power delivered to the loads that are switched on"),
    "unserved_w": Column("W", "rate", "power requested by shed classes"),
    "charge_w": Column("W", "rate", "power taken from the bus into storage"),
    "discharge_w": Column("W", "rate", "power delivered from storage to the bus"),
    "storage_loss_w": Column("W", "rate", "charging and discharging losses"),
    "curtailed_w": Column("W", "rate", "generation neither used nor stored"),
    "storage_kwh": Column("kWh", "level", "energy in storage at the end of the step"),
    "storage_soc_frac": Column("fraction", "level", "state of charge at the end of the step"),
    "classes_on_count": Column("count", "state", "load classes switched on (a priority prefix: 4 = all)"),
}
