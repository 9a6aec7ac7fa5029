"""The ``jupyter modelops`` command line."""
