"""The cluster runner of `twitchcam batch`: the same per-video function on an existing Dask cluster.

Every video is one task, `process_item`, submitted with `Client.submit`; rows are written here as tasks
finish (`as_completed`), exactly as in a local run. Workers need twitchcam and the model installed and must
see the videos and OUT at the same paths as this machine (a shared filesystem). A worker process loads the
model on its first video and keeps it (`landmarker_for`); start workers with `--nthreads 1` so that each
process analyses one video at a time. A task whose worker dies is retried by Dask on another worker
(`distributed.scheduler.allowed-failures`, 3 by default) before it becomes a `failed` row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError

from twitchcam import __version__
from twitchcam.core.errors import TwitchcamError, UsageError
from twitchcam.run.batch.plan import BatchItem, BatchOptions
from twitchcam.run.batch.rows import BatchRow
from twitchcam.run.batch.worker import process_item

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 15


def run_on_cluster(items: Sequence[BatchItem], options: BatchOptions, finish: Callable[[BatchRow], None], *,
                   scheduler: str) -> None:
    """Analyse `items` on the cluster whose scheduler is at `scheduler`, calling `finish(row)` for each."""
    check_address(scheduler)  # before Client(): a client made from a bad address hangs at exit
    from distributed import Client, as_completed
    from distributed.scheduler import KilledWorker

    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as err:
        raise UsageError(f"cannot connect to the Dask scheduler at {scheduler}: {err}") from err
    with client:
        _check_workers(client, options)
        futures = {}
        for item in items:
            futures[client.submit(process_item, item, options, pure=False)] = item
        for future in as_completed(list(futures), loop=client.loop):
            item = futures.pop(future)
            try:
                row = future.result()
            except KilledWorker:
                row = BatchRow.failed(item.rel, "the Dask workers analysing this video died (crash, or out of "
                                                "memory) each time it was tried")
            except CancelledError as err:  # the scheduler went away or restarted: nothing more will finish
                raise TwitchcamError(f"the Dask scheduler cancelled the batch: {err}") from err
            except Exception as err:  # noqa: BLE001 - a task error must not stop the batch
                row = BatchRow.failed(item.rel, f"internal error: {type(err).__name__}: {err}")
            finish(row)
            future.release()


def check_address(address: str) -> None:
    """`UsageError` unless Dask is installed and `address` is one it can use (scheme://host:port)."""
    try:
        from distributed.comm import parse_address
        from distributed.comm.addressing import parse_host_port
    except ImportError as err:
        raise UsageError("--scheduler needs Dask: pip install 'dask[distributed]'") from err
    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except (ValueError, TypeError) as err:
        raise UsageError(f"not a Dask scheduler address: {address} ({err}); e.g. tcp://HOST:8786") from err


def _check_workers(client, options: BatchOptions) -> None:
    """Fail early and clearly when the workers cannot run twitchcam or find the model."""
    try:
        info = client.run(worker_info, options.model)
    except Exception as err:  # noqa: BLE001 - whatever the workers raise, the message says it
        raise UsageError(f"the Dask workers cannot run twitchcam ({type(err).__name__}: {err}); install "
                         "twitchcam and the model on every worker") from err
    if not info:
        log.warning("no Dask worker is connected yet; the videos wait for one")
    for worker, (version, sha256, error) in sorted(info.items()):
        if error:
            raise UsageError(f"Dask worker {worker}: {error}")
        if version != __version__:
            log.warning("Dask worker %s runs twitchcam %s, this machine %s", worker, version, __version__)
        if options.model_sha256 and sha256 != options.model_sha256:
            log.warning("Dask worker %s uses another model (sha256 %s): results will differ from a local run",
                        worker, sha256)


def worker_info(model: str | None) -> tuple[str, str, str]:
    """On a worker: (twitchcam version, sha256 of the model it would use, error finding it or '')."""
    from twitchcam.media.model import resolve_model

    try:
        return __version__, resolve_model(model, download=False).sha256, ""
    except TwitchcamError as err:
        return __version__, "", str(err)
