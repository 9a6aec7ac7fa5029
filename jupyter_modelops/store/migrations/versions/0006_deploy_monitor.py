"""Deployment and monitoring: deployments, the prediction log, ground truth, monitors,
their reports and events.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("alias", sa.String(64), nullable=True),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("endpoint", sa.String(1024), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("restarts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("started_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("stopped_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["registered_models.id"],
                                name="fk_deployments_model_id_registered_models"),
        sa.ForeignKeyConstraint(["version_id"], ["model_versions.id"],
                                name="fk_deployments_version_id_model_versions"),
        sa.PrimaryKeyConstraint("id", name="pk_deployments"),
    )
    op.create_index("ix_deployments_model_id_created_at", "deployments", ["model_id", "created_at"])
    op.create_index("ix_deployments_status", "deployments", ["status"])
    op.create_table(
        "prediction_log",
        sa.Column("deployment_id", sa.String(32), nullable=False),
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=True),
        sa.Column("prediction", sa.JSON(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("deployment_id", "id", name="pk_prediction_log"),
    )
    op.create_index("ix_prediction_log_deployment_id_at", "prediction_log", ["deployment_id", "at"])
    op.create_index("ix_prediction_log_model_id_at", "prediction_log", ["model_id", "at"])
    op.create_table(
        "ground_truth",
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("label", sa.JSON(), nullable=True),
        sa.Column("logged_by", sa.String(255), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "id", name="pk_ground_truth"),
    )
    op.create_table(
        "monitors",
        sa.Column("deployment_id", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("reference", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("last_check_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("deployment_id", name="pk_monitors"),
    )
    op.create_index("ix_monitors_model_id", "monitors", ["model_id"])
    op.create_table(
        "monitor_reports",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("deployment_id", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("dataset_drift", sa.Boolean(), nullable=False),
        sa.Column("drift_share", sa.Float(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_reports"),
    )
    op.create_index("ix_monitor_reports_deployment_id_created_at", "monitor_reports",
                    ["deployment_id", "created_at"])
    op.create_table(
        "monitor_events",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("deployment_id", sa.String(32), nullable=True),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_events"),
    )
    op.create_index("ix_monitor_events_model_id_created_at", "monitor_events", ["model_id", "created_at"])
    op.create_index("ix_monitor_events_deployment_id_created_at", "monitor_events",
                    ["deployment_id", "created_at"])


def downgrade() -> None:
    op.drop_table("monitor_events")
    op.drop_table("monitor_reports")
    op.drop_table("monitors")
    op.drop_table("ground_truth")
    op.drop_table("prediction_log")
    op.drop_table("deployments")
