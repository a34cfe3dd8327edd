"""The CSGN Gaussian-process latent prior (paper section 3.1): settings, sampling plans, conditioning.

``GPPrior`` (``prior.py``) is the one entry point; ``GPPriorConfig`` (``config.py``) its settings.
"""
from csgn_core.model.gp.config import MODES, GPPriorConfig, GPPriorError
from csgn_core.model.gp.prior import GPPrior

__all__ = ["MODES", "GPPrior", "GPPriorConfig", "GPPriorError"]
