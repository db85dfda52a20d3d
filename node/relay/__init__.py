"""Reaching, and being reached, through the broker's relay.

A node that cannot accept inbound connections keeps an outbound stream to the broker
(:mod:`node.relay.link`); peers reach it with end-to-end sealed envelopes
(:mod:`crypto.envelope`) that the broker forwards without being able to read them.

- :mod:`node.relay.handlers`: the node's own method handlers, collected from the same
  service registrations its server mounts.
- :mod:`node.relay.dispatch`: runs a relayed call through the node's own interceptor
  (identity, authorization, error table) with the caller the envelope signature proved.
- :mod:`node.relay.link`: the outbound stream, with reconnect and backoff.
- :mod:`node.relay.channel`: a ``grpc.aio.Channel`` to a relay-only peer, so the
  existing clients work unchanged.
- :mod:`node.relay.wire`: what a relayed call and reply carry inside their envelopes.
"""
