"""The user's document and what the model does to it: the timeline (pins, gaps, fills), project
files, completion (fill, predict, resample), the seam splice, plans and export."""
