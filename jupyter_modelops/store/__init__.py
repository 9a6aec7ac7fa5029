"""Persistence: the metadata schema, engines and migrations, and the artifact store."""
