"""cbcount.py - reads the counts of tests/progs/libcbcount.c (the matrix tests' own
counting wrapper, listed after libaudioprof.so in LD_PRELOAD) for the real-program tests.

    from cbcount import Counts
    c = Counts(path)
    c.callbacks                  # JACK process callbacks the program's function ran
    c.calls("free", "libsord")   # free() calls inside them whose caller's file starts so
    c.own()                      # calls the profiler's own code made there (issue 12 item 3)

Where a call's caller lands: the profiler's wrappers of free and pthread_mutex_lock end in
a tail call, so those keep the program's caller (its library's file); its allocation
wrappers record and then call on, so the program's allocations come from "own" (the
profiler's file). The profiler's own work on the audio thread comes from libunwind,
libdw, libelf, and from libc for the libc functions it calls itself.
"""

PROFILER_FILES = ("libunwind", "libdw", "libelf", "libjansson")


class Counts:
    def __init__(self, path):
        self.callbacks = self.frames = 0
        self.pa_writes = self.pa_bytes = 0
        self.alsa_writes = self.alsa_frames = 0
        self.pw_process = 0
        self.by = {}
        self.first = {}       # ALSA: {(call, file): n} before the first write
        self.teardown = {}    # ALSA: after the last write
        with open(path) as f:
            for line in f:
                w = line.split()
                if not w:
                    continue
                if w[0] == "callbacks":
                    self.callbacks += int(w[1]); self.frames += int(w[3])
                elif w[0] == "pa_writes":
                    self.pa_writes += int(w[1]); self.pa_bytes += int(w[3])
                elif w[0] == "pw_process":
                    self.pw_process += int(w[1])
                elif w[0] == "alsa_writes":
                    self.alsa_writes += int(w[1]); self.alsa_frames += int(w[3])
                elif len(w) == 4 and w[0] in ("first", "teardown"):
                    d = self.first if w[0] == "first" else self.teardown
                    k = (w[1], w[2])
                    d[k] = d.get(k, 0) + int(w[3])
                elif len(w) == 3:
                    k = (w[0], w[1])
                    self.by[k] = self.by.get(k, 0) + int(w[2])

    def calls(self, call, *files, where=None):
        """Calls of `call` whose caller's file starts with one of `files` (all if none),
        in callbacks and ALSA cycles (where="first" or "teardown": in those parts)."""
        d = {"first": self.first, "teardown": self.teardown}.get(where, self.by)
        return sum(n for (c, f), n in d.items()
                   if c == call and (not files or any(f.startswith(x) for x in files)))

    def own(self):
        """{(call, file): n} of the calls made by the profiler's unwinder and symbolizer."""
        return {k: n for k, n in self.by.items() if k[1].startswith(PROFILER_FILES)}

    def describe(self, where=None):
        return "callbacks=%d; " % self.callbacks + ", ".join(
            "%s<-%s x%d" % (c, f, n) for (c, f), n in sorted(
                {"first": self.first, "teardown": self.teardown}.get(where, self.by).items()) if n)
