"""Pieces of the holdout injector (benchmarks/holdout_inject.py), written independently of twitchcam.synth.warp/synth.

- `anatomy`: mesh landmark indices per anatomical side, and the face geometry taken from them;
- `fields`: smooth dense displacement fields (eyelid slide, radial pulls) and their application by cv2.remap;
- `timing`: spasm time courses (clonic trains, tonic contractions), truth intervals and the per-clip plan;
- `media`: source timestamps and lossless FFV1 writing with PyAV.
"""
