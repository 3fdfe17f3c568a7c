"""The project's own kinds, one folder each (model, parameters, README); registered through the
entry-point group ``ilrs_twin.kinds`` like any outside kind (see pyproject.toml)."""
