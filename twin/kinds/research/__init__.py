"""The research kind (see README.md in this folder)."""
