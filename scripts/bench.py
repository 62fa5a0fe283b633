"""The workloads of scripts/bench.sh (which sets up the places): each workload runs on every
place before the next one starts, so a slow minute of this machine hits all columns alike.
Prints one table; each ratio is the place's speed over its anchor's (>1 is faster)."""

import argparse
import json
import os
import shutil
import subprocess
import time

ANCHORS = {"vram": "tmpfs", "vram wb": "tmpfs", "vram uring": "tmpfs", "vdisk": "host dir",
           "vdisk uring": "host dir", "vram redis": "JuiceFS"}


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3")


def fio(d, name, *args):
    """Runs one fio job in `d`: (MB/s, IOPS) summed over its jobs."""
    out = subprocess.run(
        ["fio", f"--name={name}", f"--directory={d}", "--ioengine=psync",
         "--output-format=json", "--group_reporting", *args],
        check=True, capture_output=True, text=True).stdout
    job = json.loads(out[out.index("{"):])["jobs"][0]
    side = job["write"] if job["write"]["io_bytes"] else job["read"]
    return side["bw_bytes"] / 1e6, side["iops"]


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def per_second(n, f):
    return n / timed(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, required=True)
    ap.add_argument("--files", type=int, required=True)
    ap.add_argument("--runtime", type=int, required=True)
    ap.add_argument("--tarball", required=True)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("places", nargs="+", help="NAME=DIR")
    a = ap.parse_args()
    places = [p.split("=", 1) for p in a.places]
    size = f"--size={a.size_mb}M"
    rows = {}

    def run(label, higher_is_better, f):
        runs((label,), higher_is_better, lambda d: (f(d),))

    def runs(labels, higher_is_better, f):
        """Passes over the places (workloads in `labels` follow each other closely); each
        place keeps its best pass."""
        best = max if higher_is_better else min
        for label in labels:
            rows.setdefault(label, (higher_is_better, {}))
        for name, d in places:
            for label, v in zip(labels, f(d)):
                old = rows[label][1].get(name)
                rows[label][1][name] = v if old is None else best(old, v)

    def seq_write(d):
        return fio(d, "blob", "--rw=write", "--bs=1M", size, "--end_fsync=1")[0]

    def seq_reads(d):
        # Cold, then warm at once: another place's drop_caches would make it cold again.
        # fio drops the file's cached pages first unless told not to. Warm reads go on for
        # the runtime: one pass over the file takes tmpfs only some 40 ms.
        drop_caches()
        cold = fio(d, "blob", "--rw=read", "--bs=1M", size)[0]
        warm = fio(d, "blob", "--rw=read", "--bs=1M", size, "--invalidate=0",
                   "--time_based", f"--runtime={a.runtime}")[0]
        return cold, warm

    def rand_write(d):
        return fio(d, "blob", "--rw=randwrite", "--bs=4k", size, "--time_based",
                   f"--runtime={a.runtime}")[1]

    def parallel_write(d):
        per_job = f"--size={max(a.size_mb // 4, 1)}M"
        mbs = fio(d, "par", "--rw=write", "--bs=1M", per_job, "--numjobs=4",
                  "--end_fsync=1")[0]
        for i in range(4):
            os.unlink(os.path.join(d, f"par.{i}.0"))
        return mbs

    names = {}

    def meta_dir(d):
        sub = os.path.join(d, "meta")
        names[d] = [os.path.join(sub, f"f{i}") for i in range(a.files)]
        return sub

    def create(d):
        os.mkdir(meta_dir(d))
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL

        def go():
            for n in names[d]:
                os.close(os.open(n, flags, 0o644))
        return per_second(a.files, go)

    def stat(d):
        return per_second(a.files, lambda: [os.stat(n) for n in names[d]])

    def rename(d):
        def go():
            for n in names[d]:
                os.rename(n, n + "r")
        return per_second(a.files, go)

    def unlink(d):
        r = per_second(a.files, lambda: [os.unlink(n + "r") for n in names[d]])
        os.rmdir(os.path.join(d, "meta"))
        return r

    def untar(d):
        os.mkdir(os.path.join(d, "t"))
        return timed(lambda: subprocess.run(
            ["tar", "-xf", a.tarball, "-C", os.path.join(d, "t")], check=True))

    def cp_r(d):
        return timed(lambda: subprocess.run(
            ["cp", "-r", os.path.join(d, "t"), os.path.join(d, "c")], check=True))

    def rm_r(d):
        t = timed(lambda: subprocess.run(["rm", "-r", os.path.join(d, "t")], check=True))
        shutil.rmtree(os.path.join(d, "c"))
        return t

    for _ in range(a.rounds):
        run("seq write 1M (MB/s)", True, seq_write)
        runs(("seq read cold (MB/s)", "seq read warm (MB/s)"), True, seq_reads)
        run("rand write 4k (IOPS)", True, rand_write)
        for _, d in places:
            os.unlink(os.path.join(d, "blob.0.0"))
        run("4 writers 1M (MB/s)", True, parallel_write)
        run("create (/s)", True, create)
        run("stat (/s)", True, stat)
        run("rename (/s)", True, rename)
        run("unlink (/s)", True, unlink)
        run("untar (s)", False, untar)
        run("cp -r (s)", False, cp_r)
        run("rm -r (s)", False, rm_r)
    print_table(rows, places)


def print_table(rows, places):
    cols = [n for n, _ in places]
    pairs = [(p, a) for p, a in ANCHORS.items() if p in cols and a in cols]
    print(f"{'workload':<22}" + "".join(f"{n:>12}" for n in cols)
          + "".join(f"{p + '/' + a:>20}" for p, a in pairs))
    for label, (higher, vals) in rows.items():
        line = f"{label:<22}" + "".join(f"{vals[n]:>12.{3 if not higher else 0}f}" for n in cols)
        for p, anchor in pairs:
            r = vals[p] / vals[anchor] if higher else vals[anchor] / vals[p]
            line += f"{r:>20.2f}"
        print(line)


if __name__ == "__main__":
    main()
