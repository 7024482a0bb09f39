"""A local web page for clinicians: upload a clip, follow its analysis, read the report (`twitchcam serve`).

Optional: needs the `all` extra (FastAPI, uvicorn, python-multipart). Nothing here runs MediaPipe in the
web server's process; videos are analysed by a bounded pool of worker processes (`pool.py`).
"""

from twitchcam.server.settings import ServerSettings, default_data_dir

__all__ = ["ServerSettings", "default_data_dir"]
