"""The layers of the package: the pure core loads no video, model or drawing library."""

import subprocess
import sys

HEAVY = ("cv2", "mediapipe", "matplotlib", "ai_edge_litert")


def test_importing_the_core_loads_no_heavy_library():
    code = ("import importlib, pkgutil, sys, twitchcam.core as core\n"
            "for m in pkgutil.iter_modules(core.__path__): importlib.import_module(f'twitchcam.core.{m.name}')\n"
            f"print(','.join(name for name in {HEAVY!r} if name in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""


def test_the_core_imports_only_the_core():
    code = ("import importlib, pkgutil, sys, twitchcam.core as core\n"
            "for m in pkgutil.iter_modules(core.__path__): importlib.import_module(f'twitchcam.core.{m.name}')\n"
            "print(','.join(sorted(n for n in sys.modules if n.startswith('twitchcam.') and n != 'twitchcam.core'"
            " and not n.startswith('twitchcam.core.'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""
