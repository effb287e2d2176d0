"""The composition root: the ``quanta`` command, settings and paths."""
