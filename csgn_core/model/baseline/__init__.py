"""Baselines that CSGN is compared against (paper section 6): the auto-conditioned LSTM (acLSTM)."""
