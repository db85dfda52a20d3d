"""Packaged Cedar policies and schema of the legal profiles (data only; see
:mod:`accord.legal.profile`)."""
