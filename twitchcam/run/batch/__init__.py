"""`twitchcam batch`: every video under a folder, analysed in parallel on this machine or a Dask cluster.

Video `DIR/a/b.mp4` gets its results in `OUT/a/b/` (the files `analyze` writes). `OUT/batch_summary.csv`
holds one row per finished video and is replaced atomically after each one, so a crash never loses
finished rows. A hidden marker, `.complete`, written last into a video's folder (after `analyze` has moved
its files into place) records the source file's size and modification time: `--resume` skips exactly
the videos whose marker still matches, so a batch killed at any moment, even by SIGKILL, restarts
without redoing finished work and without trusting half-written output.

Modules: `plan` (finding videos, where their results go), `rows` (the summary table), `markers`
(completion markers and leftovers of interrupted runs), `worker` (`process_item`, the per-video function
every runner calls), `local` (a process pool on this machine), `cluster` (Dask), `progress` (bars),
`run` (`run_batch`, which ties them together).
"""

from __future__ import annotations

from twitchcam.run.batch.plan import VIDEO_EXTENSIONS, BatchItem, BatchOptions, find_videos, plan
from twitchcam.run.batch.rows import SUMMARY_COLUMNS, SUMMARY_FILE, BatchResult, BatchRow
from twitchcam.run.batch.run import default_workers, run_batch
from twitchcam.run.batch.worker import process_item

__all__ = ["SUMMARY_COLUMNS", "SUMMARY_FILE", "VIDEO_EXTENSIONS", "BatchItem", "BatchOptions", "BatchResult",
           "BatchRow", "default_workers", "find_videos", "plan", "process_item", "run_batch"]
