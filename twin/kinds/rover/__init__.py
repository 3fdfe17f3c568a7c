"""The mini-rover kind: haul, survey and traverse sorties from home."""
