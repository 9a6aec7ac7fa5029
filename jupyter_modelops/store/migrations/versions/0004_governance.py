"""Governance: life-cycle events, deployment requests and reviews, evidence, model cards,
model information (purpose, risk tier) and the hash-chained audit log.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _fk(col: str, table: str, ref: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([col], [f"{target}.{ref}"], name=f"fk_{table}_{col}_{target}")


def upgrade() -> None:
    op.create_table(
        "lifecycle_events",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("from_state", sa.String(32), nullable=False),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("self_approved", sa.Boolean(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        _fk("model_id", "lifecycle_events", "id", "registered_models"),
        _fk("version_id", "lifecycle_events", "id", "model_versions"),
        sa.PrimaryKeyConstraint("id", name="pk_lifecycle_events"),
    )
    op.create_index("ix_lifecycle_events_version_id_created_at", "lifecycle_events",
                    ["version_id", "created_at"])
    op.create_table(
        "deployment_requests",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("alias", sa.String(64), nullable=True),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("resources", sa.JSON(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("validation", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(255), nullable=True),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        _fk("model_id", "deployment_requests", "id", "registered_models"),
        _fk("version_id", "deployment_requests", "id", "model_versions"),
        sa.PrimaryKeyConstraint("id", name="pk_deployment_requests"),
    )
    op.create_index("ix_deployment_requests_status_created_at", "deployment_requests",
                    ["status", "created_at"])
    op.create_index("ix_deployment_requests_version_id", "deployment_requests", ["version_id"])
    op.create_table(
        "request_reviews",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("reviewer", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("self_review", sa.Boolean(), nullable=False),
        sa.Column("evidence_digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        _fk("request_id", "request_reviews", "id", "deployment_requests"),
        sa.PrimaryKeyConstraint("id", name="pk_request_reviews"),
    )
    op.create_index("ix_request_reviews_request_id", "request_reviews", ["request_id"])
    op.create_table(
        "governance_evidence",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        _fk("version_id", "governance_evidence", "id", "model_versions"),
        sa.PrimaryKeyConstraint("id", name="pk_governance_evidence"),
    )
    op.create_index("ix_governance_evidence_version_id_kind", "governance_evidence",
                    ["version_id", "kind"])
    op.create_index("ix_governance_evidence_request_id", "governance_evidence", ["request_id"])
    op.create_table(
        "model_cards",
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        _fk("version_id", "model_cards", "id", "model_versions"),
        sa.PrimaryKeyConstraint("version_id", name="pk_model_cards"),
    )
    op.create_table(
        "model_governance",
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("risk_tier", sa.String(32), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        _fk("model_id", "model_governance", "id", "registered_models"),
        sa.PrimaryKeyConstraint("model_id", name="pk_model_governance"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject_type", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(255), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
        sa.UniqueConstraint("id", name="uq_audit_log_id"),
    )
    op.create_index("ix_audit_log_subject_type_subject_id", "audit_log", ["subject_type", "subject_id"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("model_governance")
    op.drop_table("model_cards")
    op.drop_table("governance_evidence")
    op.drop_table("request_reviews")
    op.drop_table("deployment_requests")
    op.drop_table("lifecycle_events")
