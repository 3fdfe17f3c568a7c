"""The jumping-robot kind: survey sorties by spring hops."""
