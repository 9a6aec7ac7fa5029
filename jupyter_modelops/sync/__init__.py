"""Offline-first sync between a local store and the team's shared registry.

- ``outbox.py``: the write hook that queues every tracking/registry change of a *linked*
  store (one whose config names a registry URL) in the same transaction as the change;
- ``apply.py``: the registry side of a push: a batch of outbox entries applied exactly
  once (entry ids recorded in the same transaction), fast bulk paths for tracking data;
- ``feed.py``: the registry's change feed and the local merge of what it returns
  (approvals, life cycle, canonical version numbers, aliases, teammates' models);
- ``engine.py``: ``Syncer`` — push then pull, over the REST API;
- ``worker.py``: ``SyncWorker`` — the background task (exponential back-off);
- ``ops.py``: the operations this capability adds to ``services.OPS``.

See ``README.md`` in this folder for the protocol and the conflict rules.
"""
