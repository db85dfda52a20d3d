"""Retention: how long each class of data is kept, and the purge that proves it was not kept longer.

:mod:`node.retention.settings` holds the admin's maximum age per data class, capped by the
state law of the node's jurisdiction (:mod:`node.policy.retention_caps`);
:mod:`node.retention.purge` deletes expired epochs, destroys their keys and logs
``retention.deleted`` to the ledger, in one step that is safe to interrupt and resume.
"""
