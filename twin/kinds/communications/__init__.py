"""The communications kind (see README.md in this folder)."""
