"""The astronomy kind (see README.md in this folder)."""
