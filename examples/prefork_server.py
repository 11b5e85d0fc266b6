"""A prefork server: the parent loads the routing table, then forks workers that serve it.

The workers share the table's pages only until the garbage collector runs in
them: its first collection writes the header of every tracked object and copies
every page. `cowlint --fix` disables the collector before the load, and freezes and
enables it again before the loop of forks.
"""

import json
import os
import sys


def serve(routes, worker):
    # ... accept connections and look up routes ...
    return len(routes) + worker


def main(path, workers=4):
    with open(path) as handle:
        routes = json.load(handle)
    children = []
    for worker in range(workers):
        pid = os.fork()
        if pid == 0:
            serve(routes, worker)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main(sys.argv[1])
