"""The legal profiles' Cedar files, under the names the node has always read them by.

The files live in :mod:`accord.legal.profiles` (shared with the auditor); the entries here
are links to them, so there is one copy of each policy."""
