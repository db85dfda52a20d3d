"""Identifiers of the node's domain objects.

Distinct :class:`~typing.NewType` s so that mypy refuses a camera id where a peer id is
expected, although both are strings at run time::

    camera = CameraId("cam-pier-01")
    peer = NodeId("oakland-pd")
"""

from __future__ import annotations

from typing import NewType

#: A node of the federation (``santa-monica-pd``); also the agreement parties' ids.
NodeId = NewType("NodeId", str)
#: An agreement, stable across its versions (``oak-sf-2025``).
AgreementId = NewType("AgreementId", str)
#: One of this node's cameras (``cam-pier-01``).
CameraId = NewType("CameraId", str)
#: A stored plate read; assigned by the database, increasing.
ReadId = NewType("ReadId", int)
#: A hotlist (``ncic-stolen``).
HotlistId = NewType("HotlistId", str)
#: One entry of a hotlist; assigned by the database.
HotlistEntryId = NewType("HotlistEntryId", int)
#: A ledger: the origin line of its checkpoints (``accord.example/santa-monica-pd/2025``).
LogId = NewType("LogId", str)
#: A stored checkpoint of this node's ledger; assigned by the database.
CheckpointId = NewType("CheckpointId", int)
#: A numbered period of data (a UTC day by default) whose keys are destroyed together.
Epoch = NewType("Epoch", int)
#: A signed request's id, unique per requesting peer (replay protection).
RequestId = NewType("RequestId", str)
