"""Results on disk: a results folder (events.csv, frames.csv, summary.json) and the patient's diary."""
