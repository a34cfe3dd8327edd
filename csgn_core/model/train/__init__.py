"""CSGN training: the WGAN-GP trainer and its checkpoints."""
