"""What the regolith at each candidate site is made of (the ISRU plant's feed).

Each built-in site takes the composition of the Apollo soils that are its closest analogue
(Lunar Sourcebook, Heiken, Vaniman & French 1991, table 7.15: average soils at the landing sites;
docs/references.md, ISRU):

* Amundsen, a highland crater near the south pole: the Apollo 16 highland soils, FeO 5.1 wt%,
  TiO2 0.54 wt%. Its permanently shadowed floor may hold water ice: 5.6 +- 2.9 wt% was measured
  in the LCROSS plume at Cabeus (Colaprete et al. 2010, Science 330:463).
* Aristarchus, on the edge of the Aristarchus plateau, the Moon's largest pyroclastic deposit
  (dark, Fe-rich volcanic glass 10-30 m deep, McEwen et al. 1994): the Apollo 17 orange glass,
  FeO 22 wt%, TiO2 8 wt% (NASA). The station itself stands in the crater (the built-in terrain),
  whose floor is impact melt; the plant's feed is taken to be the plateau's glass [U].
* Marius Hills, mare basalts of Oceanus Procellarum: the Apollo 12 soils, FeO 15.1 wt%,
  TiO2 3.0 wt%.

Total oxygen is about 45 wt% of any lunar regolith [S]. A scenario's ``[site.regolith]`` table
replaces any of these figures.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Regolith:
    feo_wt_pct: float
    tio2_wt_pct: float
    oxygen_wt_pct: float = 45.0
    ice_wt_pct: float | None = None  # water ice in reach (polar cold traps only)
    source: str = ""


SITE_REGOLITH: dict[str, Regolith] = {
    "amundsen": Regolith(5.1, 0.54, ice_wt_pct=5.6, source="Apollo 16 average soil (Lunar Sourcebook table 7.15); ice: LCROSS at Cabeus (Colaprete et al. 2010)"),
    "aristarchus": Regolith(22.0, 8.0, source="Apollo 17 orange pyroclastic glass (NASA)"),
    "marius-hills": Regolith(15.1, 3.0, source="Apollo 12 average soil (Lunar Sourcebook table 7.15)"),
}
