"""Monitoring: prediction logs, drift against the reference, performance, alerts."""
