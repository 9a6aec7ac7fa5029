"""Governance: one life cycle for every model, deployment only with evidence and a second
person's approval, model cards, an inventory, and a hash-chained audit log.

Modules: ``policy`` (the life cycle and rules, from YAML), ``lifecycle`` (moving versions,
``require_deployable``), ``approvals`` (requests and reviews), ``validation`` (automated
checks run by the service), ``evidence``, ``cards``, ``inventory``, ``audit``; ``ops``
contributes them to the service table, ``client_api`` to ``Client``.
"""
