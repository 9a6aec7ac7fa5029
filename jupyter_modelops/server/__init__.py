"""The REST API: a Jupyter server extension and the standalone shared registry.

- ``api.py``: the route table (one entry per HTTP method and path), the single source for
  the tornado handlers, the OpenAPI document and the HTTP transport of the ``Client``;
- ``handlers.py``: thin tornado handlers (parse, ``services.call``, serialise) and the
  one place that turns ``errors.py`` into HTTP responses;
- ``openapi.py``: the OpenAPI 3.1 document built from the table;
- ``auth.py``: the registry's identity provider (API tokens) and authorizer (roles);
- ``app.py``: the ``ExtensionApp`` (``jupyter modelops serve`` runs it standalone).

Importing this package (and ``api``) stays light: tornado and jupyter_server are imported
only by ``handlers``, ``auth`` and ``app``.
"""

API_PREFIX = "/modelops/api/v1"
