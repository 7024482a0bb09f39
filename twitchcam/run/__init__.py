"""Running the pipeline: one video into one results folder, live from a camera, and batches of videos."""
