"""The CSGN model: GP prior, feature codec, graph operators, networks G, D and H, trained-model
files and inference, training, and the acLSTM baseline."""
