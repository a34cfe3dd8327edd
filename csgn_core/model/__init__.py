"""Neural networks of CSGN: graph operators, generator / discriminator / inverse networks, features."""
