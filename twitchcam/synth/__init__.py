"""Synthetic spasms for testing: a real face clip warped with known one-sided contractions."""
