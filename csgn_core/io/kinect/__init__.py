"""Kinect v1 skeleton files onto ``kinect20``: the sensor frame and column orders (``common``), MSR
Action3D (``msr``), UTKinect-Action3D with its labels (``utkinect``) and whole sets (``sets``)."""
from csgn_core.io.kinect.common import FPS, SKELETON, KinectParameterError, fill_missing, kinect_skeleton
from csgn_core.io.kinect.msr import read_msr
from csgn_core.io.kinect.sets import load_kinect_set
from csgn_core.io.kinect.utkinect import read_utkinect, read_utkinect_labels, split_utkinect

__all__ = ["FPS", "SKELETON", "KinectParameterError", "fill_missing", "kinect_skeleton", "load_kinect_set", "read_msr",
           "read_utkinect", "read_utkinect_labels", "split_utkinect"]
