"""The thermal kind (see README.md in this folder)."""
