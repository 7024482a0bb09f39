"""The pure core: from a table of per-frame measures to events and clinical figures.

numpy, pandas and scipy only: nothing here opens a file of video, runs a model or draws (tests/test_layers.py
checks that importing it loads none of OpenCV, MediaPipe, LiteRT or matplotlib).
"""
