"""Pixels in, measures out: video files, model files, MediaPipe's face landmarks, the per-eye model and the
pixel measures (iris contrast, skin shifts), gathered per frame into the frames table."""
