"""Tests of node.store, run on SQLite and (when configured) PostgreSQL."""
