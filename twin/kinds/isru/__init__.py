"""The isru kind (see README.md in this folder)."""
