"""The tables of APIs cowlint knows: process dispatch, thread pools, contexts, bulk data.

Everything is keyed by qualified name, whatever spelling the import used
(``import multiprocessing.pool as mpp; mpp.Pool`` is ``multiprocessing.pool.Pool``).
"""

from __future__ import annotations

from dataclasses import dataclass

# constructors -> kind of object made
POOL_CONSTRUCTORS = frozenset({"multiprocessing.Pool", "multiprocessing.pool.Pool", "multiprocessing.context.BaseContext.Pool"})
# Python 3.14's pool of worker interpreters in this process: no fork, no start method. Each worker
# has its own objects; a callable, its arguments, results and initargs are pickled, except a
# "stateless" function (no closure, no defaults, no globals), whose code is shared. A function
# pickled by name makes the worker import the main script anew (as "<fake __main__>"), so its
# import-time data is rebuilt in every worker, and numpy or torch imported there fail (ImportError:
# neither loads in a subinterpreter). Measured on 3.14.10 by tests/test_interpreter_pool.py.
INTERPRETER_EXECUTORS = frozenset({"concurrent.futures.InterpreterPoolExecutor", "concurrent.futures.interpreter.InterpreterPoolExecutor"})
# what the fork server imports before it forks; without "__main__" it does not preload the script
FORKSERVER_PRELOAD = frozenset({"multiprocessing.set_forkserver_preload", "multiprocessing.context.BaseContext.set_forkserver_preload", "multiprocessing.forkserver.set_forkserver_preload"})
INTERPRETER_NOTE = "InterpreterPoolExecutor, whose worker interpreters import the main module anew"
EXECUTOR_CONSTRUCTORS = frozenset({"concurrent.futures.ProcessPoolExecutor", "concurrent.futures.process.ProcessPoolExecutor"}) | INTERPRETER_EXECUTORS
PROCESS_CONSTRUCTORS = frozenset(
    {
        "multiprocessing.Process",
        "multiprocessing.process.BaseProcess",
        "multiprocessing.context.Process",
        "multiprocessing.context.ForkProcess",
        "multiprocessing.context.SpawnProcess",
        "multiprocessing.context.ForkServerProcess",
    }
)
# a manager runs a server process: started when made (SyncManager: on .start())
MANAGER_CONSTRUCTORS = frozenset({"multiprocessing.Manager", "multiprocessing.context.BaseContext.Manager", "multiprocessing.managers.SyncManager"})
# asyncio: loop.run_in_executor(executor, func, *args) dispatches through the executor.
RUN_IN_EXECUTOR = "run_in_executor"
# Threads share memory: never a process dispatch, whatever the receiver is called.
THREAD_CONSTRUCTORS = frozenset(
    {
        "concurrent.futures.ThreadPoolExecutor",
        "concurrent.futures.thread.ThreadPoolExecutor",
        "multiprocessing.pool.ThreadPool",
        "multiprocessing.dummy.Pool",
        "multiprocessing.dummy.Process",
        "multiprocessing.dummy.DummyProcess",
        "threading.Thread",
        "threading.Timer",
        "logging.handlers.QueueListener",
    }
)
# thread pools start their threads when made (ThreadPoolExecutor on the first submit)
THREAD_POOLS = frozenset(
    {
        "concurrent.futures.ThreadPoolExecutor",
        "concurrent.futures.thread.ThreadPoolExecutor",
        "multiprocessing.pool.ThreadPool",
        "multiprocessing.dummy.Pool",
    }
)
# executors whose threads start on the first submit, not when made
LAZY_THREAD_POOLS = frozenset({"concurrent.futures.ThreadPoolExecutor", "concurrent.futures.thread.ThreadPoolExecutor"})
# threads start on .start(); joined on .join() (a QueueListener on .stop()); pools end on these
THREAD_CLASSES = frozenset({"threading.Thread", "threading.Timer", "multiprocessing.dummy.Process", "multiprocessing.dummy.DummyProcess", "logging.handlers.QueueListener"})
THREAD_ENDS = frozenset({"join", "shutdown", "terminate", "cancel", "stop"})
# calls that fork the calling process directly
# gevent.fork() is os.fork() that also reinitialises gevent's hub in the child
OS_FORKS = frozenset({"os.fork", "os.forkpty", "pty.fork", "gevent.fork", "gevent.os.fork", "gevent.os.fork_and_watch"})
# start method pinned by the class itself
_PINNED_PROCESS = {
    "multiprocessing.context.ForkProcess": "fork",
    "multiprocessing.context.SpawnProcess": "spawn",
    "multiprocessing.context.ForkServerProcess": "forkserver",
}



@dataclass(frozen=True)
class LibraryPool:
    """A process pool of a library other than multiprocessing, as its documentation and source
    define it: how it pickles, which start method its workers get, and what its methods send.

    ``methods`` maps each dispatch method to its shape: ``map`` (a function and iterables whose
    items are the tasks), ``apply`` (a function with ``args``/``kwargs``), ``call`` (a function
    and its positional arguments, one task). ``callable_at_start``: the function travels to the
    workers when they start (inherited under fork, pickled once per worker otherwise), not with
    each task. ``start``: the workers' start method when the constructor names none, None for
    the platform's default; ``fork-if-available``: fork where the platform has it, else spawn."""

    label: str
    pickler: str  # "pickle", "dill" or "cloudpickle" (the last two send lambdas and closures by value)
    start: str | None
    start_note: str
    methods: tuple[tuple[str, str], ...]
    start_keyword: str | None = None  # the constructor's keyword that chooses the start method
    dill_keyword: str | None = None  # the constructor's keyword that turns dill on
    workers_keyword: str | None = None
    callable_at_start: bool = False
    shared_keyword: str | None = None  # objects handed to every worker at start (mpire's shared_objects)
    shared_position: int | None = None
    thread_starts: tuple[str, ...] = ()  # start methods that run the tasks in threads (mpire's "threading")
    # the workers start on the first dispatch, not when the pool is made (pathos, mpire)
    lazy: bool = True
    # a worker that is not forked imports the main module anew (not ppft's servers, which get the
    # function's source and nothing of the parent's modules)
    imports_main: bool = True


_PATHOS_METHODS = (("map", "map"), ("imap", "map"), ("uimap", "map"), ("amap", "map"), ("pipe", "call"), ("apipe", "call"))
_PATHOS = LibraryPool("pathos ProcessPool", "dill", None, "multiprocess's default start method", _PATHOS_METHODS, workers_keyword="nodes")
_PPFT = LibraryPool("pathos ParallelPool", "dill", "spawn", "ppft servers, fresh interpreters", _PATHOS_METHODS, workers_keyword="nodes", imports_main=False)
_MPIRE = LibraryPool(
    "mpire WorkerPool",
    "pickle",
    "fork-if-available",
    "mpire's default start method, fork where the platform has it",
    (("map", "map"), ("map_unordered", "map"), ("imap", "map"), ("imap_unordered", "map"), ("apply", "apply"), ("apply_async", "apply")),
    start_keyword="start_method",
    dill_keyword="use_dill",
    workers_keyword="n_jobs",
    callable_at_start=True,
    shared_keyword="shared_objects",
    shared_position=3,
    thread_starts=("threading",),
)
LIBRARY_POOLS: dict[str, LibraryPool] = {
    "pathos.multiprocessing.ProcessPool": _PATHOS,
    "pathos.multiprocessing.ProcessingPool": _PATHOS,
    "pathos.pools.ProcessPool": _PATHOS,
    "pathos.pools.ParallelPool": _PPFT,
    "pathos.parallel.ParallelPool": _PPFT,
    "pathos.parallel.ParallelPythonPool": _PPFT,
    "pathos.pp.ParallelPool": _PPFT,
    "mpire.WorkerPool": _MPIRE,
    "mpire.pool.WorkerPool": _MPIRE,
}
# pools of those libraries that run tasks in threads or in the calling process
LIBRARY_THREAD_POOLS = frozenset(
    {"pathos.pools.ThreadPool", "pathos.threading.ThreadPool", "pathos.pools.SerialPool", "pathos.serial.SerialPool", "pathos.multiprocessing.ThreadPool"}
)

# functions that map a function over iterables in a process pool they make and close:
# ``process_map(fn, *iterables, max_workers=...)`` -> (label, pickles with dill, its pool)
MAP_FUNCTIONS: dict[str, tuple[str, bool, str]] = {
    "tqdm.contrib.concurrent.process_map": ("process_map", False, "concurrent.futures.ProcessPoolExecutor"),
    "p_tqdm.p_map": ("p_map", True, "pathos.pools.ProcessPool"),
    "p_tqdm.p_umap": ("p_umap", True, "pathos.pools.ProcessPool"),
    "p_tqdm.p_imap": ("p_imap", True, "pathos.pools.ProcessPool"),
    "p_tqdm.p_uimap": ("p_uimap", True, "pathos.pools.ProcessPool"),
    "p_tqdm.p_tqdm.p_map": ("p_map", True, "pathos.pools.ProcessPool"),
    "p_tqdm.p_tqdm.p_umap": ("p_umap", True, "pathos.pools.ProcessPool"),
    "p_tqdm.p_tqdm.p_imap": ("p_imap", True, "pathos.pools.ProcessPool"),
    "p_tqdm.p_tqdm.p_uimap": ("p_uimap", True, "pathos.pools.ProcessPool"),
}
MAP_FUNCTION_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in MAP_FUNCTIONS)

# joblib: ``Parallel(n_jobs=4)(delayed(f)(x) for x in xs)``. Its default backend, loky, starts
# fresh interpreters (fork and exec on POSIX: nothing of the parent's run-time state is
# inherited), pickles with cloudpickle, and memory-maps numpy arrays over ``max_nbytes`` (1 MB
# by default) instead of pickling them with every batch of tasks. scikit-learn re-exports it.
JOBLIB_PARALLEL = frozenset(
    {"joblib.Parallel", "joblib.parallel.Parallel", "sklearn.utils.parallel.Parallel", "sklearn.utils.fixes.Parallel", "sklearn.externals.joblib.Parallel"}
)
JOBLIB_DELAYED = frozenset(
    {"joblib.delayed", "joblib.parallel.delayed", "sklearn.utils.parallel.delayed", "sklearn.utils.fixes.delayed", "sklearn.externals.joblib.delayed"}
)
# ``with parallel_config(backend="threading"):`` changes what every Parallel inside runs on
JOBLIB_BACKEND_CONTEXTS = frozenset(
    {"joblib.parallel_backend", "joblib.parallel_config", "joblib.parallel.parallel_backend", "joblib.parallel.parallel_config", "sklearn.utils.parallel_backend", "sklearn.utils.parallel_config"}
)
JOBLIB_THREAD_BACKENDS = frozenset({"threading", "sequential"})
JOBLIB_LOKY_NOTE = "joblib's loky backend, which starts fresh interpreters"

# the last name of every constructor: a cheap filter before resolving a call
CONSTRUCTOR_ATTRIBUTES = frozenset(
    name.rsplit(".", 1)[-1] for name in POOL_CONSTRUCTORS | EXECUTOR_CONSTRUCTORS | PROCESS_CONSTRUCTORS | MANAGER_CONSTRUCTORS | LIBRARY_POOLS.keys() | JOBLIB_PARALLEL
)

# calls that fork the calling process directly (by last name)
FORK_NAMES = frozenset({"fork", "forkpty"})

GET_CONTEXT = frozenset({"multiprocessing.get_context", "multiprocessing.context.get_context"})
SET_START_METHOD = frozenset({"multiprocessing.set_start_method", "multiprocessing.context.set_start_method"})
# ctx.<attr>(...) -> kind
CONTEXT_FACTORIES = {"Pool": "pool", "Process": "process", "Manager": "manager"}

POOL_METHODS = frozenset({"map", "map_async", "imap", "imap_unordered", "starmap", "starmap_async", "apply", "apply_async"})
EXECUTOR_METHODS = frozenset({"submit", "map"})
# the methods every finding on a pool of multiprocessing or concurrent.futures starts from (the
# prefilters' needles, the names the second tier looks for, the wrapper test's dispatch names)
DISPATCH_METHODS = POOL_METHODS | EXECUTOR_METHODS
# pathos's and mpire's own methods: read on a pool known to be theirs, never searched for (``.pipe``
# is os.pipe and pandas' pipe far more often; a module that makes such a pool names its class)
LIBRARY_METHODS = frozenset(method for pool in LIBRARY_POOLS.values() for method, _ in pool.methods) - DISPATCH_METHODS
# Every finding starts from a name among these (a constructor, a dispatch method, a fork)
# used in the code: a file whose syntax tree has none of them is not parsed by libcst.
# preload_app: a gunicorn configuration, whose master forks the workers (engine.servers)
# gunicorn settings: a configuration file that assigns them is a candidate (the others are candidates where they are read)
SERVER_SETTINGS = frozenset({"preload_app"})
CANDIDATE_NAMES = CONSTRUCTOR_ATTRIBUTES | DISPATCH_METHODS | FORK_NAMES | MAP_FUNCTION_NAMES | SERVER_SETTINGS | {RUN_IN_EXECUTOR, "DataLoader", "freeze", "delayed", "Celery"}

# Celery's worker (``celery -A proj worker``): the master imports the app and its task modules,
# then its prefork pool (billiard) forks ``worker_concurrency`` children from it (one per CPU by
# default; fork unless ``worker_pool_start_method = "spawn"``). The signals whose handlers run
# after the imports and before a child's first collection, in the order Celery sends them
# (celery/worker/worker.py, apps/worker.py, concurrency/asynpool.py, concurrency/prefork.py):
# ``celeryd_init`` and ``worker_init`` in the master once the task modules are imported;
# ``worker_before_create_process`` in the master before each fork (its asynchronous pool only, the
# one a worker runs with an AMQP or Redis broker); ``worker_process_init`` in each child first.
CELERY_APPS = frozenset({"celery.Celery", "celery.app.Celery", "celery.app.base.Celery"})
CELERY_FREEZING_SIGNALS = ("celeryd_init", "worker_init", "celeryd_after_setup", "worker_before_create_process", "worker_process_init")
# signals sent once the children run: a freeze in their handlers comes after the children's collections
CELERY_LATE_SIGNALS = frozenset({"worker_ready", "task_prerun", "task_postrun", "task_success", "task_failure", "worker_process_shutdown", "worker_shutting_down", "worker_shutdown", "heartbeat_sent"})
# ``worker_pool`` values whose tasks run in the master's own process (threads, green threads, itself)
CELERY_NON_FORKING_POOLS = frozenset({"solo", "threads", "gevent", "eventlet"})

PARTIAL = frozenset({"functools.partial"})
DATACLASS_FIELD = frozenset({"dataclasses.field", "attr.ib", "attr.field", "attrs.field"})
REPEAT = frozenset({"itertools.repeat"})
ZIP = frozenset({"builtins.zip"})
PASS_THROUGH_ITERABLES = frozenset({"builtins.list", "builtins.tuple", "builtins.iter", "builtins.enumerate", "builtins.reversed"})

# Annotations that mean bulk data of unknown size.
BULK_TYPES = frozenset(
    {
        "numpy.ndarray",
        "numpy.typing.NDArray",
        "pandas.DataFrame",
        "pandas.Series",
        "pandas.core.frame.DataFrame",
        "torch.Tensor",
        "pyarrow.Table",
        "polars.DataFrame",
    }
)
# parameter annotations of values that are small: numbers, flags, paths, dates (a ``str`` may be
# long, but a parameter annotated so is in practice a name, a label or a path)
SMALL_TYPES = frozenset(
    {
        "builtins.int",
        "builtins.float",
        "builtins.bool",
        "builtins.complex",
        "builtins.str",
        "pathlib.Path",
        "pathlib.PurePath",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "decimal.Decimal",
        "uuid.UUID",
    }
)
# what one of them is taken to take when pickled (a float is 9 bytes in a pickle, a short path ~60)
SMALL_VALUE_BYTES = 64
# calls whose result is bulk data of unknown size (arrays, frames, tensors, loaded objects)
BULK_CONSTRUCTORS = frozenset(
    {
        "numpy.load",
        "numpy.fromfile",
        "numpy.loadtxt",
        "numpy.genfromtxt",
        "numpy.frombuffer",
        "numpy.array",
        "numpy.asarray",
        "numpy.ascontiguousarray",
        "numpy.concatenate",
        "numpy.stack",
        "numpy.vstack",
        "numpy.hstack",
        "numpy.tile",
        "numpy.repeat",
        "pickle.load",
        "pickle.loads",
        "json.load",
        "torch.load",
        "torch.tensor",
        "torch.from_numpy",
        "torch.stack",
        "torch.cat",
        "joblib.load",
        "pandas.DataFrame",
        "pandas.Series",
        "pandas.concat",
        "pandas.merge",
        "pyarrow.parquet.read_table",
        "pyarrow.Table.from_pandas",
        "scipy.sparse.load_npz",
        "h5py.File",
    }
)
BULK_CONSTRUCTOR_PREFIXES = ("pandas.read_", "polars.read_", "pyarrow.csv.read_", "tensorflow.keras.models.load_model", "keras.models.load_model")
# calls whose result is as big as their first argument
LIKE_CONSTRUCTORS = frozenset({"numpy.zeros_like", "numpy.ones_like", "numpy.empty_like", "numpy.full_like", "numpy.copy", "torch.zeros_like", "torch.ones_like", "torch.clone"})
# iterating these yields the lines or rows of a file
FILE_READERS = frozenset({"builtins.open", "io.open", "gzip.open", "bz2.open", "lzma.open", "csv.reader", "csv.DictReader"})

# method calls whose result is bulk data of unknown size: readers when called
# without arguments (a whole file), loaders with any arguments
LOADER_METHODS = frozenset({"from_pretrained", "load_model"})
BULK_METHODS = frozenset({"read", "readlines", "read_bytes", "read_text"}) | LOADER_METHODS
# attributes and methods of arrays/frames that keep their bulk
ARRAY_VIEW_ATTRIBUTES = frozenset({"T", "values", "data", "array", "flat"})
ARRAY_COPY_METHODS = frozenset({"copy", "astype", "reshape", "to_numpy", "ravel", "flatten", "transpose", "numpy", "cpu", "clone", "contiguous", "squeeze", "to_list", "tolist"})


# Packages that re-export multiprocessing's API with the same pickling semantics
# for data: their names are read as multiprocessing's.
MULTIPROCESSING_ALIASES = ("torch.multiprocessing", "billiard", "multiprocess")


# Of those, the ones that pickle with dill: functions and lambdas travel by value.
DILL_ALIASES = ("multiprocess",)


# Unannotated parameters by these names take the multiprocessing context every caller in the module passes.
CONTEXT_PARAMETER_NAMES = frozenset({"ctx", "context", "mp_ctx", "mp_context", "mpctx", "multiprocessing_context"})


def pickles_with_dill(qualname: str) -> bool:
    """``multiprocess.Pool``: a pool whose messages dill pickles."""
    return any(qualname == alias or qualname.startswith(alias + ".") for alias in DILL_ALIASES)


def canonical(qualname: str) -> str:
    """``torch.multiprocessing.Pool`` -> ``multiprocessing.Pool``; other names unchanged."""
    for alias in MULTIPROCESSING_ALIASES:
        if qualname == alias or qualname.startswith(alias + "."):
            return "multiprocessing" + qualname[len(alias) :]
    return qualname


def constructor_kind(qualname: str) -> str | None:
    """``pool``, ``executor``, ``process``, ``manager`` or ``thread`` for a known constructor, else None."""
    if qualname in POOL_CONSTRUCTORS:
        return "pool"
    if qualname in EXECUTOR_CONSTRUCTORS:
        return "executor"
    if qualname in PROCESS_CONSTRUCTORS:
        return "process"
    if qualname in MANAGER_CONSTRUCTORS:
        return "manager"
    if qualname in THREAD_CONSTRUCTORS or qualname in LIBRARY_THREAD_POOLS:
        return "thread"
    if qualname in LIBRARY_POOLS or qualname in JOBLIB_PARALLEL:
        return "pool"
    return None


def pinned_by_class(qualname: str) -> str | None:
    """The start method a Process class pins by itself (``ForkProcess`` -> fork)."""
    return _PINNED_PROCESS.get(qualname)


def short(qualname: str) -> str:
    """A qualified name as users write it: ``numpy.zeros`` -> ``np.zeros``."""
    for long, alias in (("numpy.", "np."), ("pandas.", "pd."), ("builtins.", "")):
        if qualname.startswith(long):
            return alias + qualname[len(long) :]
    return qualname


# The spellings a receiver's name must contain to be taken for a process pool
# when its origin is unknown. The payload rules' prefilter looks for the same
# strings, so a file it skips cannot contain such a receiver.
POOL_NAME_PARTS = (b"pool", b"Pool", b"POOL", b"xecutor", b"EXECUTOR")

CONSTRUCTOR_NEEDLES = tuple(sorted(name.encode() for name in CONSTRUCTOR_ATTRIBUTES))
# The bytes a module that dispatches holds (groups: one of each): a multiprocessing/concurrent
# import or a receiver named like a pool or executor, and a dispatch method or a constructor.
DISPATCH_NEEDLES = (
    (b"multiprocess", b"concurrent", b"billiard", b"joblib", b"pathos", b"mpire", b"delayed(", b"p_tqdm", *POOL_NAME_PARTS),
    (*sorted(f".{method}".encode() for method in DISPATCH_METHODS | {RUN_IN_EXECUTOR}), *CONSTRUCTOR_NEEDLES, *sorted(name.encode() for name in MAP_FUNCTION_NAMES)),
)


def looks_like_pool_class(qualname: str) -> bool:
    """An imported class named like a pool or executor (``gevent.pool.Pool``, ``GreenPool``)."""
    last = qualname.rsplit(".", 1)[-1]
    return last[:1].isupper() and looks_like_pool_name(last)


def looks_like_thread_pool_class(qualname: str) -> bool:
    """A class of a library cowlint does not know, named like a thread pool (``pathos.pools.ThreadPool``,
    ``ThreadPoolExecutor`` re-exported elsewhere): its tasks are not pickled."""
    last = qualname.rsplit(".", 1)[-1]
    return last[:1].isupper() and "Thread" in last and ("Pool" in last or "Executor" in last)


def looks_like_pool_name(name: str) -> bool:
    """A receiver name that says process pool or executor (and not thread)."""
    encoded = name.encode("utf-8", "replace")
    return any(part in encoded for part in POOL_NAME_PARTS) and "thread" not in name.lower()


# calls whose result is a heap of Python containers (dicts, lists) of unknown size
HEAP_LOADERS = frozenset({"json.load", "json.loads", "pickle.load", "pickle.loads", "yaml.load", "yaml.safe_load", "yaml.full_load", "marshal.load", "joblib.load"})
# iterating these yields one container per row
ROW_READERS = frozenset({"csv.reader", "csv.DictReader"})
# gc module calls the COW3xx rules follow, by qualified name
GC_CALLS = {"gc.disable": "disable", "gc.enable": "enable", "gc.collect": "collect", "gc.freeze": "freeze", "gc.unfreeze": "unfreeze"}
# PyTorch's DataLoader: num_workers > 0 starts worker processes that read the dataset
DATA_LOADERS = frozenset({"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"})
# directory listings: one str per entry, of unknown count
LISTINGS = frozenset({"glob.glob", "glob.iglob", "os.listdir"})
