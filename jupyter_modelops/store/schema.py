"""The metadata schema (SQLAlchemy Core).

This module is the source of truth for queries; the Alembic migrations under
``migrations/versions`` must produce exactly this schema (a test compares them).
Timestamps are integer milliseconds since the epoch. Ids are 32-hex UUIDs made where the
record is created. Nothing here is specific to SQLite: the shared registry runs the same
schema on PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

ID = 32
KEY = 250
PARAM_VALUE = 500  # indexed on PostgreSQL too: keep below its btree row limit

# --------------------------------------------------------------------------- tracking

experiments = Table(
    "experiments",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("tags", JSON, nullable=False, default=dict),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("experiment_id", String(ID), ForeignKey("experiments.id"), nullable=False),
    Column("parent_run_id", String(ID), nullable=True),
    Column("name", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("user", String(255), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=True),
    Column("pid_start", BigInteger, nullable=True),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("error_type", String(255), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("source", String(1024), nullable=False, default=""),
    Column("code_hash", String(64), nullable=False, default=""),
    Column("provenance", JSON, nullable=False, default=dict),
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "experiment_id", "start_time"),
    Index(None, "status"),
    Index(None, "parent_run_id"),
    Index(None, "start_time"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", String(ID), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(KEY), primary_key=True),
    Column("value", String(PARAM_VALUE), nullable=False),
    Index(None, "key", "value"),
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", String(ID), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(KEY), primary_key=True),
    Column("value", Text, nullable=False),
    Index(None, "key"),
)

metrics = Table(
    "metrics",
    metadata,
    Column("run_id", String(ID), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(KEY), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", Float, nullable=True),  # NULL stores NaN (SQLite cannot hold NaN)
    Index(None, "run_id", "key", "step"),
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", String(ID), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(KEY), primary_key=True),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", Float, nullable=True),
    Index(None, "key", "value"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_id", String(ID), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(128), nullable=False, default="application/octet-stream"),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "digest"),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("run_id", String(ID), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("context", String(64), nullable=False, default="training"),
    Column("source", String(1024), nullable=False, default=""),
    Column("schema", JSON, nullable=False, default=dict),
    Column("num_rows", BigInteger, nullable=True),
    Column("profile", JSON, nullable=False, default=dict),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "run_id"),
    Index(None, "digest"),
)

# --------------------------------------------------------------------------- registry

registered_models = Table(
    "registered_models",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("kind", String(32), nullable=False, default="ml"),
    Column("description", Text, nullable=False, default=""),
    Column("owner", String(255), nullable=False),
    Column("tags", JSON, nullable=False, default=dict),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("model_id", String(ID), ForeignKey("registered_models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("run_id", String(ID), nullable=True),
    Column("flavor", String(32), nullable=False),
    Column("manifest_digest", String(64), nullable=False),
    Column("signature", JSON, nullable=True),
    Column("description", Text, nullable=False, default=""),
    Column("tags", JSON, nullable=False, default=dict),
    Column("lineage", JSON, nullable=False, default=dict),
    Column("state", String(32), nullable=False, default="REGISTERED"),
    Column("trusted", Boolean, nullable=False, default=False),
    Column("created_by", String(255), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("model_id", "version"),
    Index(None, "run_id"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("model_id", String(ID), ForeignKey("registered_models.id"), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version_id", String(ID), ForeignKey("model_versions.id"), nullable=False),
    Column("updated_by", String(255), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

alias_events = Table(
    "alias_events",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("model_id", String(ID), ForeignKey("registered_models.id"), nullable=False),
    Column("alias", String(64), nullable=False),
    Column("old_version_id", String(ID), nullable=True),
    Column("new_version_id", String(ID), nullable=True),
    Column("changed_by", String(255), nullable=False),
    Column("changed_at", BigInteger, nullable=False),
    Index(None, "model_id", "alias"),
)

# --------------------------------------------------------------------------- users (shared registry)

users = Table(
    "users",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("roles", JSON, nullable=False, default=list),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    # The public half of a token ("mo_<id>_<secret>"); only sha256 of the whole token is kept.
    Column("id", String(16), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("label", String(255), nullable=False, default=""),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "user_id"),
)

# --------------------------------------------------------------------------- governance

lifecycle_events = Table(
    "lifecycle_events",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("model_id", String(ID), ForeignKey("registered_models.id"), nullable=False),
    Column("version_id", String(ID), ForeignKey("model_versions.id"), nullable=False),
    Column("from_state", String(32), nullable=False),
    Column("to_state", String(32), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("request_id", String(ID), nullable=True),
    Column("self_approved", Boolean, nullable=False, default=False),
    Column("details", JSON, nullable=False, default=dict),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "version_id", "created_at"),
)

deployment_requests = Table(
    "deployment_requests",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("model_id", String(ID), ForeignKey("registered_models.id"), nullable=False),
    Column("version_id", String(ID), ForeignKey("model_versions.id"), nullable=False),
    Column("alias", String(64), nullable=True),
    Column("target", String(64), nullable=False),
    Column("resources", JSON, nullable=False, default=dict),
    Column("justification", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("requested_by", String(255), nullable=False),
    Column("policy", JSON, nullable=False, default=dict),
    Column("validation", JSON, nullable=False, default=dict),
    Column("decided_by", String(255), nullable=True),
    Column("decided_at", BigInteger, nullable=True),
    Column("decision_comment", Text, nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "status", "created_at"),
    Index(None, "version_id"),
)

request_reviews = Table(
    "request_reviews",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("request_id", String(ID), ForeignKey("deployment_requests.id"), nullable=False),
    Column("reviewer", String(255), nullable=False),
    Column("role", String(32), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("self_review", Boolean, nullable=False, default=False),
    Column("evidence_digest", String(64), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "request_id"),
)

governance_evidence = Table(
    "governance_evidence",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("version_id", String(ID), ForeignKey("model_versions.id"), nullable=False),
    Column("request_id", String(ID), nullable=True),
    Column("kind", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("data", JSON, nullable=False, default=dict),
    Column("digest", String(64), nullable=True),
    Column("created_by", String(255), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "version_id", "kind"),
    Index(None, "request_id"),
)

model_cards = Table(
    "model_cards",
    metadata,
    Column("version_id", String(ID), ForeignKey("model_versions.id"), primary_key=True),
    Column("sections", JSON, nullable=False, default=dict),
    Column("revision", Integer, nullable=False, default=1),
    Column("updated_by", String(255), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

model_governance = Table(
    "model_governance",
    metadata,
    Column("model_id", String(ID), ForeignKey("registered_models.id"), primary_key=True),
    Column("purpose", Text, nullable=False, default=""),
    Column("risk_tier", String(32), nullable=False, default=""),
    Column("updated_by", String(255), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# Append-only; each entry's ``hash`` covers its fields and ``prev_hash`` (see governance/audit.py).
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("id", String(ID), nullable=False, unique=True),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject_type", String(32), nullable=False),
    Column("subject_id", String(255), nullable=False),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index(None, "subject_type", "subject_id"),
)

# --------------------------------------------------------------------------- sync (see sync/README.md)

# Local store linked to a registry: changes waiting to be pushed, oldest first. ``payload``
# is the JSON of the operation's replay arguments (with the ids it created); an entry the
# registry refused stays here with status "rejected" and the registry's error.
sync_outbox = Table(
    "sync_outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(ID), nullable=False, unique=True),
    Column("op", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("error", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "status", "seq"),
)

# Local store: sync status, pull watermarks, the store's origin id (small JSON values by key).
sync_state = Table(
    "sync_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# Registry: every outbox entry ever applied, recorded in the transaction that applied it,
# so a batch sent again (after a timeout or a crash) changes nothing.
sync_applied = Table(
    "sync_applied",
    metadata,
    Column("entry_id", String(ID), primary_key=True),
    Column("origin", String(64), nullable=False),
    Column("op", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", Text, nullable=True),
    Column("result", JSON, nullable=True),
    Column("applied_by", String(255), nullable=False),
    Column("applied_at", BigInteger, nullable=False),
    Index(None, "origin", "applied_at"),
)

# --------------------------------------------------------------------------- deployment and monitoring

# A deployed version: a model server process (local), a scoring job (batch), or a generated
# manifest / build context (kserve, container). ``version_id`` is the version served now (it
# follows ``alias`` when one is set); ``stats`` holds the server's counters as last shipped.
deployments = Table(
    "deployments",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("model_id", String(ID), ForeignKey("registered_models.id"), nullable=False),
    Column("version_id", String(ID), ForeignKey("model_versions.id"), nullable=False),
    Column("alias", String(64), nullable=True),
    Column("target", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("endpoint", String(1024), nullable=False, default=""),
    Column("host", String(255), nullable=False, default=""),
    Column("pid", Integer, nullable=True),
    Column("port", Integer, nullable=True),
    Column("config", JSON, nullable=False, default=dict),
    Column("details", JSON, nullable=False, default=dict),
    Column("stats", JSON, nullable=False, default=dict),
    Column("request_id", String(ID), nullable=True),
    Column("restarts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("started_by", String(255), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("started_at", BigInteger, nullable=True),
    Column("stopped_at", BigInteger, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "model_id", "created_at"),
    Index(None, "status"),
)

# A sample of what a model server was asked and answered, one row per input row. ``id`` is
# the request id (``<request id>:<row>`` for requests of several rows); ground truth joins on it.
prediction_log = Table(
    "prediction_log",
    metadata,
    Column("deployment_id", String(ID), primary_key=True),
    Column("id", String(128), primary_key=True),
    Column("model_id", String(ID), nullable=False),
    Column("version", Integer, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("features", JSON, nullable=True),
    Column("prediction", JSON, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("status", Integer, nullable=False, default=200),
    Index(None, "deployment_id", "at"),
    Index(None, "model_id", "at"),
)

ground_truth = Table(
    "ground_truth",
    metadata,
    Column("model_id", String(ID), primary_key=True),
    Column("id", String(128), primary_key=True),
    Column("label", JSON, nullable=True),
    Column("logged_by", String(255), nullable=False),
    Column("at", BigInteger, nullable=False),
)

# One monitor per deployment: the drift reference (a sample stored as a Parquet blob, with
# the kind of every column), the alert rules and webhook, and which rules fire now.
monitors = Table(
    "monitors",
    metadata,
    Column("deployment_id", String(ID), primary_key=True),
    Column("model_id", String(ID), nullable=False),
    Column("reference", JSON, nullable=False, default=dict),
    Column("config", JSON, nullable=False, default=dict),
    Column("state", JSON, nullable=False, default=dict),
    Column("created_by", String(255), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("last_check_at", BigInteger, nullable=True),
    Index(None, "model_id"),
)

monitor_reports = Table(
    "monitor_reports",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("deployment_id", String(ID), nullable=False),
    Column("model_id", String(ID), nullable=False),
    Column("version", Integer, nullable=True),
    Column("rows", Integer, nullable=False),
    Column("dataset_drift", Boolean, nullable=False),
    Column("drift_share", Float, nullable=True),
    Column("report", JSON, nullable=False, default=dict),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "deployment_id", "created_at"),
)

# Alerts, notifications and retraining requests raised by monitoring.
monitor_events = Table(
    "monitor_events",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("deployment_id", String(ID), nullable=True),
    Column("model_id", String(ID), nullable=False),
    Column("version", Integer, nullable=True),
    Column("kind", String(32), nullable=False),
    Column("rule", String(64), nullable=False, default=""),
    Column("severity", String(16), nullable=False, default=""),
    Column("message", Text, nullable=False, default=""),
    Column("details", JSON, nullable=False, default=dict),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "model_id", "created_at"),
    Index(None, "deployment_id", "created_at"),
)

# --------------------------------------------------------------------------- schema upgrades

# Not made by a migration: ``db.upgrade`` creates it before running any, and commits a row
# here before the upgrade's transaction starts. The upgrade deletes the row in its own
# transaction, so a row that outlives its writer marks an upgrade that did not finish.
schema_upgrade = Table(
    "modelops_schema_upgrade",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("from_rev", String(32), nullable=True),
    Column("to_rev", String(32), nullable=False),
    Column("package", String(64), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", BigInteger, nullable=False),
)
