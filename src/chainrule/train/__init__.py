"""Training: the loop, metrics, checkpoints, presets, plots, and the course's homework mode."""
