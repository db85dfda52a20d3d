"""The node's side of a federation: the broker's signed directory as the only source of
peers (fetch, verify, persist, sync), and what the relay and the witness need from it."""
