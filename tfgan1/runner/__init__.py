"""The backend-neutral run: the loop, the workdir, checkpoints, the resume record."""
