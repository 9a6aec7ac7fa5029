"""Deployment: targets (local model server, batch, KServe, container), rollout by aliases."""
