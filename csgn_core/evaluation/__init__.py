"""Evaluation of generated motion with the paper's metrics (section 6.1): an action classifier on
32-frame snippets, FID and Inception Score on its outputs, and their short / mean ensemble / mean
time variants. Qt-free; torch is imported by the submodules that need it.

- ``classifier``: ``train_classifier``, ``load_classifier`` (bundled: ``dance``, ``actions``, ``kinect``);
- ``metrics``: ``fid``, ``inception_score``, ``sequence_scores`` and the six variants;
- ``generators``: ``load_generator`` (CSGN or acLSTM folders), ``RealSource``, ``FrozenSource``, ``ShuffledSource``;
- ``fid``: ``evaluate`` (``csgn eval fid``, whose options live in ``cli/eval_fid.py``);
- ``infill``: in-betweening against interpolation (``csgn eval infill``);
- ``motion_check``: long takes against the real dances (``csgn eval motion``);
- ``duplicates``: the nearest-window index that sets apart held-out windows copied from training.
"""
