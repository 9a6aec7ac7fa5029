"""Kernel side: the ``%%track`` / ``%modelops`` magics and the notebook widgets."""
