"""The general kind (see README.md in this folder)."""
