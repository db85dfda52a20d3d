"""The law both a node and its auditor apply, pure and shared.

A node decides with it; an auditor checks, from the ledgers, that the node decided as the
law says. Both import this package (and :mod:`crypto`), never each other:

- :mod:`accord.legal.profile`: legal profiles as Cedar policies with stable rule ids
  (:class:`~accord.legal.profile.LegalProfile`), the schema, and the shipped profiles;
- :mod:`accord.legal.cedar_inputs`: what Cedar is told about an agreement;
- :mod:`accord.legal.retention_caps`: statutory retention caps by state, with citations;
- :mod:`accord.legal.signed_agreement`: the signed agreement as exported for auditors.

No network, database or clock: the policies are package data.
"""
