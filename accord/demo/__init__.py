"""``accord demo``: a small federation of city nodes on loopback, narrated step by step."""
