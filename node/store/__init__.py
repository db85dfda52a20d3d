"""The node's storage: typed SQLAlchemy models, repositories and Alembic migrations.

- :mod:`node.store.db`: engines (SQLite by default, PostgreSQL via psycopg 3), sessions,
  translation of driver errors into :mod:`node.store.errors`;
- :mod:`node.store.migrate`: ``upgrade``, ``current_revision``, ``check_schema``;
- repositories, each taking a ``Session`` and returning frozen dataclasses:
  :mod:`~node.store.cameras`, :mod:`~node.store.epochs`, :mod:`~node.store.reads`,
  :mod:`~node.store.hotlists`, :mod:`~node.store.peers`, :mod:`~node.store.replay`,
  :mod:`~node.store.agreements`, :mod:`~node.store.ledger`, :mod:`~node.store.witness`.

See ``docs/adr/0003-storage.md`` for the decisions behind it.
"""
