"""Hotlists: the plates this node looks out for, each tied to a case, a reason and an expiry.

- :mod:`~node.hotlists.parse`: NCIC-style CSV (through a column map) and JSON files into
  :class:`~node.hotlists.items.HotlistItem` values or skips that never name a plate;
- :mod:`~node.hotlists.store`: sealing items into the store (deduplicated, one
  transaction per batch), listing hotlists, and opening the active entries for the node's
  own matching;
- :mod:`~node.hotlists.categories`: which categories the node's legal profile excludes
  from matching and sharing;
- :mod:`~node.hotlists.jobs`: the same on a node home, for ``accord hotlist``.

Hotlists write no ledger entries: they are the node's own working data, and a plate on
one never leaves the node (peers are matched only through the OPRF index).
"""
