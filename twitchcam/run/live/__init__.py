"""`twitchcam live`: a camera (or a file played as one) analysed as it streams, with a window or JSON lines."""
