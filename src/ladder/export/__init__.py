"""Exports of a recorded run to other tools (MLflow), read from the store alone like the report."""
