"""``cowlint server``: how fast diagnostics follow an edit, and whether its memory stays flat.

    python benchmarks/lsp_latency.py [--lines 2000] [--edits 20] [--files 50] [--minutes 10]

1. Latency: opens a generated module of ``--lines`` lines (classes, helpers and a pool dispatch
   every fourth block, as application code has them), then makes ``--edits`` edits, each in another
   function, and times each from the ``didChange`` sent to the ``publishDiagnostics`` of that
   version received (the server's debounce included). Prints the median and the worst, next to a
   whole check of the same text in this process (what each edit would cost without re-parsing only
   the statements that changed).
2. Memory: edits ``--files`` generated modules in turn for ``--minutes`` minutes and prints the
   server's resident memory (``/proc/PID/status``) each minute: it should stay flat.

The server is the installed ``cowlint server``, driven by pytest-lsp's client (the test extras).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pytest_lsp import ClientServerConfig

BLOCK = '''

class Catalog{i}:
    def __init__(self, path: str) -> None:
        self.rows = np.load(path)
        self.scale = 1.0

    def score(self, item: int) -> float:
        value = float(self.rows[item].sum()) * self.scale
        if value > {i}:
            value -= {i}
        return value

    def describe(self) -> str:
        parts = []
        for index in range(10):
            parts.append(f"{{index}}: {{self.scale * index}}")
        return ", ".join(parts)

    def run(self, items: list[int]) -> list[float]:
        {dispatch}


def normalise{i}(values: list[float]) -> list[float]:
    total = sum(values) or 1.0
    return [value / total for value in values]


def summary{i}(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return {{
        "min": ordered[0] if ordered else 0.0,
        "max": ordered[-1] if ordered else 0.0,
        "median": ordered[middle] if ordered else 0.0,
        "count": float(len(ordered)),
    }}
'''
POOL = "with Pool(4) as pool:\n            return pool.map(self.score, items)"
LOCAL = "return [self.score(item) for item in items]"
HEAD = '"""Generated for the latency benchmark."""\n\nfrom multiprocessing import Pool\n\nimport numpy as np\n'


def module(lines: int, seed: int = 0) -> str:
    blocks = []
    count = 0
    while HEAD.count("\n") + sum(block.count("\n") for block in blocks) < lines:
        blocks.append(BLOCK.format(i=count + seed * 1000, dispatch=POOL if count % 4 == 0 else LOCAL))
        count += 1
    return HEAD + "".join(blocks)


class Client:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.arrived: dict[tuple[str, int | None], float] = {}

    async def start(self) -> None:
        config = ClientServerConfig(server_command=[str(Path(sys.executable).parent / "cowlint"), "server"])
        self.client = await config.start()
        features = self.client.protocol.fm.features

        def record(params: types.PublishDiagnosticsParams) -> None:
            self.arrived[(params.uri, params.version)] = time.perf_counter()

        features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = record
        capabilities = types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True)))
        await self.client.initialize_session(types.InitializeParams(capabilities=capabilities, root_uri=self.root.as_uri()))

    async def until(self, uri: str, version: int, timeout: float = 60) -> float:
        deadline = time.perf_counter() + timeout
        while (uri, version) not in self.arrived:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no diagnostics for {uri} version {version}")
            await asyncio.sleep(0.002)
        return self.arrived[(uri, version)]

    def open(self, uri: str, text: str) -> None:
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))

    def change(self, uri: str, version: int, line: int, old: str, new: str) -> None:
        """Replace ``old`` (at the start of ``line``'s text) by ``new``, as an editor sends a keystroke."""
        change = types.TextDocumentContentChangePartial(range=types.Range(types.Position(line, 0), types.Position(line, len(old))), text=new)
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(uri=uri, version=version), [change]))

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))

    def rss_mib(self) -> float:
        pid = self.client._server.pid  # type: ignore[union-attr]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def edit_lines(text: str) -> list[int]:
    """The 0-based lines of ``value -= N`` in each block: one edit per function."""
    return [number for number, line in enumerate(text.splitlines()) if line.strip().startswith("value -= ")]


async def latency(client: Client, folder: Path, lines: int, edits: int) -> list[float]:
    text = module(lines)
    path = folder / "latency.py"
    path.write_text(text)
    uri = path.as_uri()
    client.open(uri, text)
    await client.until(uri, 1)
    times = []
    targets = edit_lines(text)
    source = text.splitlines()
    for number in range(edits):
        line = targets[(number * 7) % len(targets)]
        old = source[line]
        new = old.replace("value -= ", "value -= 1 + ")
        source[line] = new
        version = number + 2
        sent = time.perf_counter()
        client.change(uri, version, line, old, new)
        times.append(await client.until(uri, version) - sent)
    client.close(uri)
    return times


def whole_check_seconds(lines: int) -> float:
    from cowlint.config import Config
    from cowlint.engine.module.check import check_bytes

    data = module(lines).encode()
    check_bytes(data, "latency.py", Config())
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        check_bytes(data, "latency.py", Config())
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


async def memory(client: Client, folder: Path, files: int, minutes: float) -> list[tuple[float, float]]:
    texts = []
    for number in range(files):
        path = folder / f"module_{number}.py"
        text = module(400, seed=number + 1)
        path.write_text(text)
        texts.append((path.as_uri(), text.splitlines()))
    versions = dict.fromkeys((uri for uri, _ in texts), 1)
    for uri, source in texts:
        client.open(uri, "\n".join(source) + "\n")
    samples = [(0.0, client.rss_mib())]
    start = time.perf_counter()
    step = 0
    while time.perf_counter() - start < minutes * 60:
        uri, source = texts[step % files]
        targets = [number for number, line in enumerate(source) if line.strip().startswith("value -= ")]
        line = targets[step % len(targets)]
        old = source[line]
        source[line] = old.replace("value -= ", "value -= 1 + ") if "1 + " not in old else old.replace("1 + ", "")
        versions[uri] += 1
        client.change(uri, versions[uri], line, old, source[line])
        await client.until(uri, versions[uri])
        step += 1
        elapsed = time.perf_counter() - start
        if elapsed - samples[-1][0] >= 60 or elapsed >= minutes * 60:
            samples.append((elapsed, client.rss_mib()))
    print(f"memory: {step} edits over {files} files")
    return samples


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "pyproject.toml").write_text('[project]\nname = "bench"\nversion = "0"\n')
        client = Client(folder)
        await client.start()
        times = await latency(client, folder, args.lines, args.edits)
        whole = whole_check_seconds(args.lines)
        print(f"latency, {args.lines}-line module, {args.edits} edits: median {statistics.median(times) * 1000:.0f} ms, worst {max(times) * 1000:.0f} ms")
        print(f"  a whole check of the same module in this process: {whole * 1000:.0f} ms")
        if args.minutes > 0:
            samples = await memory(client, folder, args.files, args.minutes)
            print("memory (minutes: MiB): " + ", ".join(f"{at / 60:.1f}: {rss:.0f}" for at, rss in samples))
        await client.client.shutdown_session()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10)
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
