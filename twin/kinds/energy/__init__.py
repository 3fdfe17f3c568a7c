"""The energy kind (see README.md in this folder)."""
