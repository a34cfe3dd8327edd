"""CSGN Studio core: skeletons, motion, file formats, datasets, models. Free of Qt."""

__version__ = "0.1.0"
