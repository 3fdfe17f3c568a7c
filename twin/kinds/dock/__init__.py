"""The dock kind: a charger that one robot holds at a time."""
